"""The witness's memory: per log origin, the latest checkpoint it cosigned.

One JSON file, replaced atomically (a temporary file in the same folder, fsync, rename, fsync
of the folder), so a crash leaves either the old state or the new one, never half of each,
and a cosignature is only returned once its checkpoint is on disk (tlog-witness: "The
witness MUST persist the new checkpoint before responding"). One process at a time owns the
file: an exclusive ``flock`` on ``<state>.lock`` is held from ``open`` to ``close``, because
the check of the old size and the update must be atomic and two processes cannot share a
lock in memory.

Checkpoints that the log signed but that the witness refused for being inconsistent (a fork
or a rollback) are appended to ``<state>.refused.jsonl``: they may prove the log misbehaved.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from pathlib import Path
from typing import Any

VERSION = 1


class StateError(Exception):
    """The state file cannot be read, written or locked."""


class StateFile:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.refused_path = self.path.with_name(self.path.name + ".refused.jsonl")
        self._lock_fd: int | None = None
        self.data: dict[str, Any] = {"version": VERSION, "name": None, "logs": {}}

    def open(self) -> StateFile:
        """Take the file's lock and read it (an absent file is an empty state)."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StateError(f"{self.path} is in use by another witness process") from None
        self._lock_fd = fd
        try:
            if self.path.exists():
                data = json.loads(self.path.read_text(encoding="utf-8"))
                if not isinstance(data, dict) or data.get("version") != VERSION:
                    raise StateError(f"{self.path} is not a witness state file (version 1)")
                if not isinstance(data.get("logs"), dict):
                    raise StateError(f"{self.path} has no logs")
                self.data = data
        except (OSError, ValueError) as exc:
            self.close()
            raise StateError(f"{self.path} cannot be read: {exc}") from None
        except StateError:
            self.close()
            raise
        return self

    def close(self) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> StateFile:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def name(self) -> str | None:
        return self.data.get("name")

    def log(self, origin: str) -> dict[str, Any] | None:
        """The latest cosigned checkpoint of a log: ``{size, root, note, cosigned_at}``."""
        return self.data["logs"].get(origin)

    def save(self, data: dict[str, Any]) -> None:
        """Replace the whole state on disk, durably, then in memory."""
        if self._lock_fd is None:
            raise StateError("the state file is not open")
        raw = json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False).encode()
        folder = self.path.parent
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=folder)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(raw)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _fsync_dir(folder)
        self.data = data

    def record_log(self, origin: str, record: dict[str, Any]) -> None:
        logs = dict(self.data["logs"])
        logs[origin] = record
        self.save({**self.data, "logs": logs})

    def set_name(self, name: str) -> None:
        self.save({**self.data, "name": name})

    def record_refusal(self, record: dict[str, Any]) -> None:
        """Append one refused, log-signed checkpoint (evidence of a fork) to the side file."""
        line = json.dumps(record, sort_keys=True, ensure_ascii=False).encode() + b"\n"
        fd = os.open(self.refused_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    def refusals(self) -> list[dict[str, Any]]:
        if not self.refused_path.exists():
            return []
        lines = self.refused_path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]


def peek_name(path: Path) -> str | None:
    """The witness name a state file keeps, read without its lock (``--print-key`` while
    the witness runs)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise StateError(f"{path} cannot be read: {exc}") from None
    name = data.get("name") if isinstance(data, dict) else None
    return name if isinstance(name, str) else None


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
