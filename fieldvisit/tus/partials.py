"""The bytes of uploads in progress, and their running SHA-256.

Each upload is one file, ``TUS_UPLOAD_DIR/<id>.part``; its committed length is the upload's
offset in the database. A PATCH writes at that offset (first cutting off anything a crashed
writer left beyond it), so a resume after a dropped connection or a server restart continues
exactly where the database says.

The whole-file SHA-256 is kept running in memory between PATCHes of the same process, so the
normal path never reads the bytes twice. After a restart (or when another process took the
previous PATCH) the hash is caught up by reading the file once up to the offset.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import zlib
from collections import OrderedDict
from pathlib import Path
from typing import Any

from django.conf import settings

READ_SIZE = 1024 * 1024
KEEP_RUNNING = 512  # running hashes kept per process (least recently used dropped)

_lock = threading.Lock()
_running: OrderedDict[str, tuple[int, Any]] = OrderedDict()
catch_up_reads = 0  # how often a hash had to be rebuilt from the file (tests and metrics)


def path_for(upload_id: object) -> Path:
    directory = Path(settings.TUS_UPLOAD_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    return directory / f"{upload_id}.part"


def create(upload_id: object) -> None:
    with open(path_for(upload_id), "xb"):
        pass


def remove(upload_id: object) -> None:
    forget(upload_id)
    with contextlib.suppress(FileNotFoundError):
        os.remove(path_for(upload_id))


def settle(upload_id: object, offset: int) -> int:
    """The offset a resume can trust: what the database says, unless a crash lost bytes
    the file never got to keep (then the file's length)."""
    try:
        size = os.path.getsize(path_for(upload_id))
    except FileNotFoundError:
        create(upload_id)
        size = 0
    if size < offset:
        forget(upload_id)
        return size
    return offset


def forget(upload_id: object) -> None:
    with _lock:
        _running.pop(str(upload_id), None)


class Digests:
    """The running SHA-256 (evidence identity) and CRC-32 (for ZIP bundles) of an upload."""

    def __init__(self, sha256: Any = None, crc32: int = 0) -> None:
        self.sha256 = sha256 or hashlib.sha256()
        self.crc32 = crc32

    def update(self, block: bytes) -> None:
        self.sha256.update(block)
        self.crc32 = zlib.crc32(block, self.crc32)

    def copy(self) -> Digests:
        return Digests(self.sha256.copy(), self.crc32)

    def hexdigest(self) -> str:
        return self.sha256.hexdigest()


def running_hash(upload_id: object, offset: int) -> Digests:
    """Digests of exactly the first ``offset`` bytes of the upload (a copy the caller may
    feed; ``keep`` stores it back)."""
    global catch_up_reads
    with _lock:
        found = _running.get(str(upload_id))
        if found is not None and found[0] == offset:
            _running.move_to_end(str(upload_id))
            return found[1].copy()
    hasher = Digests()
    if offset:
        catch_up_reads += 1
        remaining = offset
        with open(path_for(upload_id), "rb") as f:
            while remaining:
                block = f.read(min(READ_SIZE, remaining))
                if not block:
                    raise OSError(f"upload {upload_id} holds fewer bytes than its offset")
                hasher.update(block)
                remaining -= len(block)
    return hasher


def keep(upload_id: object, offset: int, hasher: Digests) -> None:
    with _lock:
        _running[str(upload_id)] = (offset, hasher.copy())
        _running.move_to_end(str(upload_id))
        while len(_running) > KEEP_RUNNING:
            _running.popitem(last=False)


class Writer:
    """Appends one PATCH body at the committed offset; ``rollback`` restores the offset."""

    def __init__(self, upload_id: object, offset: int) -> None:
        self.upload_id = upload_id
        self.offset = offset
        self.file = open(path_for(upload_id), "r+b")  # noqa: SIM115 - closed in close()
        self.file.seek(offset)
        self.file.truncate()
        self.written = 0

    def write(self, block: bytes) -> None:
        self.file.write(block)
        self.written += len(block)

    def commit(self) -> int:
        # No fsync per chunk: bytes lost in a crash only lower the offset a resume starts
        # from (``settle``), and the whole-file SHA-256 is checked before anything becomes
        # evidence, which is fsynced once when it is stored.
        self.file.flush()
        return self.offset + self.written

    def rollback(self) -> None:
        self.file.seek(self.offset)
        self.file.truncate()
        self.written = 0

    def close(self) -> None:
        self.file.close()
