"""A real HTTP server for upload benchmarks (``tests.childserver``), whose memory is read
from /proc while a client streams to it over loopback."""

from __future__ import annotations

import io
import os
import time
import uuid
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
