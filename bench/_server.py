"""A real HTTP server for upload benchmarks, whose memory is read from /proc while a client
streams to it over loopback.

Two servers: ``gunicorn`` as production runs it (``config/gunicorn.py``: gthread workers,
its access log), with one worker (the benches' client sends one request at a time, and the
worker's memory is the one read) and persistent database connections (``CONN_MAX_AGE``, 60 s
unless the environment says otherwise), as a gthread worker's pool of threads keeps them; or
``runserver`` (``tests.childserver``), Django's development server, which starts a thread per
connection and so opens and closes a database connection for every request (Django's
documentation: persistent connections are not for it). A bench measures the production
server by default and says which one it used.
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

from tests.childserver import ROOT, ChildServer

SERVERS = ("gunicorn", "runserver")


class Server(ChildServer):
    def __init__(self, kind: str = "gunicorn") -> None:
        env = {**os.environ, "DEBUG": "0", "ALLOWED_HOSTS": "127.0.0.1,localhost"}
        if kind == "gunicorn":
            env.setdefault("CONN_MAX_AGE", "60")
        super().__init__(env)
        self.kind = kind
        if kind == "gunicorn":
            self._start_gunicorn()
        else:
            self.start()

    def describe(self) -> str:
        if self.kind == "gunicorn":
            return (
                "gunicorn (config/gunicorn.py, 1 gthread worker, "
                f"CONN_MAX_AGE={self.env['CONN_MAX_AGE']})"
            )
        return "manage.py runserver (a database connection per request)"

    def _start_gunicorn(self) -> None:
        env = {**self.env, "WEB_CONCURRENCY": "1", "GUNICORN_BIND": f"127.0.0.1:{self.port}"}
        self.process = subprocess.Popen(
            [str(Path(sys.executable).with_name("gunicorn")), "-c", "config/gunicorn.py",
             "config.wsgi"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                if self._worker() is not None:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("gunicorn did not start")

    def _worker(self) -> int | None:
        """gunicorn's worker process (its master only watches it)."""
        assert self.process is not None
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        pids = children.read_text().split()
        return int(pids[0]) if pids else None

    def _serving_pid(self) -> int:
        assert self.process is not None
        if self.kind == "gunicorn":
            worker = self._worker()
            assert worker is not None
            return worker
        return self.process.pid

    def _status(self, field: str) -> int:
        for line in Path(f"/proc/{self._serving_pid()}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        raise KeyError(field)

    def peak_rss(self) -> int:
        return self._status("VmHWM")

    def rss(self) -> int:
        return self._status("VmRSS")

    def reset_peak(self) -> None:
        """Start a new peak measurement (Linux: write 5 to clear_refs)."""
        Path(f"/proc/{self._serving_pid()}/clear_refs").write_text("5")


def photo_multipart(digest: str, filename: str, content_type: str) -> tuple[str, bytes, bytes]:
    """A door photo's ``POST /visits/{id}/photos/`` body around its file: the boundary, the
    fields and the file part's head, and the closing tail (the file's bytes go between)."""
    boundary = uuid.uuid4().hex
    fields = {
        "id": str(uuid.uuid4()),
        "kind": "door",
        "captured_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
        "sha256": digest,
        "partner_in_frame": "true",
    }
    head = io.BytesIO()
    for name, value in fields.items():
        disposition = f'Content-Disposition: form-data; name="{name}"'
        head.write(f"--{boundary}\r\n{disposition}\r\n\r\n{value}\r\n".encode())
    head.write(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n".encode()
    )
    return boundary, head.getvalue(), f"\r\n--{boundary}--\r\n".encode()
