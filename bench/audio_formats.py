"""How long the server takes to judge a 60 s browser segment, and how right it is.

    .venv/bin/python bench/audio_formats.py [--dir DIR] [--seconds 60]

Without ``--dir`` it first records one ``--seconds`` segment of WebM/Opus (finished, and
live: with a 1 s timeslice) and of MP4 with Chromium's MediaRecorder
(``tests/media/browser_audio/record.py --seconds-long``; this takes three times that long).
For each file: the median time of ``inspect_audio`` (the EBML block walk, the MP4 sample
tables) against a baseline measured in the same run, SHA-256 of the same bytes (which the
server computes for every upload anyway), and the duration it reads against the recorder's
own start-to-stop time. When PyAV is importable (it is not a dependency of the project), its
header duration, demuxed packet span and decoded sample count are printed beside, for
comparison.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fieldvisit.media.audio import inspect_audio  # noqa: E402 - after the path is set

RUNS = 20


def median_s(fn: Callable[[], Any], runs: int = RUNS) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1024 * 1024):
            h.update(block)
    return h.hexdigest()


def pyav(path: Path) -> dict[str, Any]:
    try:
        import av
    except ImportError:
        return {}

    def header() -> float | None:
        with av.open(str(path)) as c:
            return c.duration / 1e6 if c.duration else None

    def demux() -> float:
        with av.open(str(path)) as c:
            first, last = None, 0.0
            for packet in c.demux(audio=0):
                if packet.pts is None:
                    continue
                start = float(packet.pts * packet.time_base)
                first = start if first is None else min(first, start)
                last = max(last, float((packet.pts + packet.duration) * packet.time_base))
            return last - (first or 0.0)

    def decode() -> float:
        with av.open(str(path)) as c:
            return sum(frame.samples for frame in c.decode(audio=0)) / 48000

    header_s, header_d = median_s(header)
    demux_s, demux_d = median_s(demux)
    decode_s, decode_d = median_s(decode, 3)
    return {
        "pyav_header": (header_s, header_d),
        "pyav_demux": (demux_s, demux_d),
        "pyav_decode": (decode_s, decode_d),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", type=Path)
    parser.add_argument("--seconds", type=int, default=60)
    args = parser.parse_args()
    folder = args.dir
    if folder is None:
        folder = Path(tempfile.mkdtemp(prefix="bench-audio-"))
        record = ROOT / "tests" / "media" / "browser_audio" / "record.py"
        cmd = [sys.executable, str(record), "--seconds-long", str(args.seconds), "--out"]
        subprocess.run([*cmd, str(folder)], check=True)
    recorded = json.loads((folder / "recordings-long.json").read_text())
    for name, facts in sorted(recorded.items()):
        if name.startswith("_"):
            continue
        path = folder / name
        ours_s, info = median_s(lambda: inspect_audio(path))  # noqa: B023 - called at once
        base_s, _ = median_s(lambda: sha256_of(path))  # noqa: B023
        wall = facts["recorded_ms"] / 1000
        size = path.stat().st_size / 1e6
        print(f"{name}: {size:.2f} MB, {facts['mime']}, recorder ran {wall:.3f} s")
        print(
            f"  inspect_audio  {ours_s * 1000:7.2f} ms  {info.duration_s:.3f} s "
            f"(off by {info.duration_s - wall:+.3f} s)  {ours_s / base_s:.1f} x SHA-256 "
            f"({base_s * 1000:.2f} ms)"
        )
        for label, (spent, duration) in pyav(path).items():
            shown = "none" if duration is None else f"{duration:.3f} s"
            print(f"  {label:<14} {spent * 1000:7.2f} ms  {shown}")


if __name__ == "__main__":
    main()
