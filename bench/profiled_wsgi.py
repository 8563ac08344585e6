"""The app under cProfile, for benches only: ``gunicorn --pythonpath bench profiled_wsgi``.

Each request (one in ``BENCH_PROFILE_EVERY``, default 1) is profiled on its own thread and
its statistics added to the worker's; every worker writes them to
``$BENCH_PROFILE_DIR/worker-<pid>.pstats`` every 200 profiled requests and when it exits.
Read them with ``python bench/profiled_wsgi.py DIR [sort] [pattern]``.
"""

from __future__ import annotations

import atexit
import cProfile
import itertools
import os
import pstats
import sys
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

_lock = threading.Lock()
_stats: pstats.Stats | None = None
_count = itertools.count(1)
_every = int(os.environ.get("BENCH_PROFILE_EVERY", "1"))
_out = Path(os.environ.get("BENCH_PROFILE_DIR", "var/bench-profile"))


def _dump() -> None:
    with _lock:
        if _stats is not None:
            _out.mkdir(parents=True, exist_ok=True)
            _stats.dump_stats(_out / f"worker-{os.getpid()}.pstats")


def _load_app() -> Any:
    from config.wsgi import application

    return application


_app = _load_app()
atexit.register(_dump)


def application(environ: dict[str, Any], start_response: Any) -> Any:
    global _stats
    n = next(_count)
    if n % _every:
        return _app(environ, start_response)
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        return _app(environ, start_response)
    finally:
        profiler.disable()
        with _lock:
            if _stats is None:
                _stats = pstats.Stats(profiler)
            else:
                _stats.add(profiler)
        if (n // _every) % 200 == 0:
            _dump()


if __name__ == "__main__":
    folder = Path(sys.argv[1])
    files = sorted(str(p) for p in folder.glob("worker-*.pstats"))
    stats = pstats.Stats(*files)
    stats.sort_stats(sys.argv[2] if len(sys.argv) > 2 else "cumulative")
    stats.print_stats(*(sys.argv[3:] or []), 45)
