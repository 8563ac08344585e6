"""A real HTTP server for upload benchmarks (``tests.childserver``), whose memory is read
from /proc while a client streams to it over loopback."""

from __future__ import annotations

import os
from pathlib import Path

from tests.childserver import ChildServer


class Server(ChildServer):
    def __init__(self) -> None:
        super().__init__({**os.environ, "DEBUG": "0", "ALLOWED_HOSTS": "127.0.0.1,localhost"})
        self.start()

    def _status(self, field: str) -> int:
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        raise KeyError(field)

    def peak_rss(self) -> int:
        return self._status("VmHWM")

    def rss(self) -> int:
        return self._status("VmRSS")

    def reset_peak(self) -> None:
        """Start a new peak measurement (Linux: write 5 to clear_refs)."""
        assert self.process is not None
        Path(f"/proc/{self.process.pid}/clear_refs").write_text("5")
