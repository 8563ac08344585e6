"""The bytes of uploads in progress, and their running SHA-256.

Each upload is one file, ``TUS_UPLOAD_DIR/<id>.part``; its committed length is the upload's
offset in the database. A PATCH writes at that offset (first cutting off anything a crashed
writer left beyond it), so a resume after a dropped connection or a server restart continues
exactly where the database says.

One writer at a time: besides its lease in the database, a writer holds an OS lock on
``<id>.lock`` (``flock``), which the kernel drops when the process ends, however it ends. A
PATCH that can take the lock knows no live process writes the upload, so a lease left by a
server killed mid-PATCH does not hold the upload back until it runs out. The directory's file
system must give locks to every app server that shares it (a local disk, NFSv4). Even were a
live writer's lease taken over, the whole-file SHA-256 is checked before anything becomes
evidence: mixed bytes fail the upload, they never become evidence.

The whole-file SHA-256 is kept running in memory between PATCHes of the same process, so the
normal path never reads the bytes twice. After a restart (or when another process took the
previous PATCH) the hash is caught up by reading the file once up to the offset.

Durability: a PATCH's bytes are on disk (``fdatasync``: the data and the file's size) before
its offset is written to the database and acknowledged, so an acknowledged offset survives a
power cut and the client never has to send acknowledged bytes again. The sync of the chunk
runs on a helper thread while the request hashes its last block (both release the GIL).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from django.conf import settings
from isal import isal_zlib  # zlib's CRC-32, ten times as fast (ISA-L)

READ_SIZE = 1024 * 1024
KEEP_RUNNING = 512  # running hashes kept per process (least recently used dropped)

_lock = threading.Lock()
_running: OrderedDict[str, tuple[int, Any]] = OrderedDict()
# Uploads this process is writing: where locks are per process (NFS), a thread's own lock
# would not keep another thread of the same process out.
_writing: set[str] = set()
catch_up_reads = 0  # how often a hash had to be rebuilt from the file (tests and metrics)
syncs = 0  # chunks made durable (tests and metrics)
# Syncs run here while the request thread hashes; a few at once (one per PATCH in flight).
_SYNCS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="tus-sync")


def path_for(upload_id: object) -> Path:
    directory = Path(settings.TUS_UPLOAD_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    return directory / f"{upload_id}.part"


def lock_path_for(upload_id: object) -> Path:
    return path_for(upload_id).with_suffix(".lock")


def create(upload_id: object) -> None:
    with open(path_for(upload_id), "xb"):
        pass


def remove(upload_id: object) -> None:
    forget(upload_id)
    for path in (path_for(upload_id), lock_path_for(upload_id)):
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


class Held:
    """The writer lock of one upload, held until ``release`` (or the process's end)."""

    def __init__(self, key: str, fd: int) -> None:
        self.key = key
        self.fd: int | None = fd

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # drops the lock
            self.fd = None
            with _lock:
                _writing.discard(self.key)


def hold(upload_id: object) -> Held | None:
    """Take the upload's writer lock without waiting; None while a live writer has it."""
    key = str(upload_id)
    with _lock:
        if key in _writing:
            return None
        _writing.add(key)
    fd = -1
    try:
        fd = os.open(lock_path_for(upload_id), os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        with _lock:
            _writing.discard(key)
        return None
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with _lock:
            _writing.discard(key)
        raise
    return Held(key, fd)


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
        self.crc32 = isal_zlib.crc32(block, self.crc32)

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

    def commit(self, meanwhile: Callable[[], None] | None = None) -> int:
        """Make the chunk durable (``fdatasync``) and return the new offset, which the caller
        may then acknowledge. ``meanwhile`` (the hashing of the last block) runs while the
        sync is under way; the sync is awaited even if it fails."""
        global syncs
        self.file.flush()
        if not self.written:  # nothing new: the bytes before were synced by their PATCH
            if meanwhile is not None:
                meanwhile()
            return self.offset
        pending = _SYNCS.submit(os.fdatasync, self.file.fileno())
        try:
            if meanwhile is not None:
                meanwhile()
        finally:
            pending.result()
        syncs += 1
        return self.offset + self.written

    def rollback(self) -> None:
        self.file.seek(self.offset)
        self.file.truncate()
        self.written = 0

    def close(self) -> None:
        self.file.close()
