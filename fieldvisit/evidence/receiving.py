"""Receiving evidence files: hashed while they stream in, limited in size, kept on disk.

``HashingUploadHandler`` replaces Django's upload handlers on the evidence endpoints. Each
file is written to a temporary file (in the evidence storage's staging directory when it is
on local disk, so storing it later is a rename) and fed to SHA-256 chunk by chunk, so the
hash is known when the request is parsed, without a second read. Past the size limit the
upload stops at once with ``413 file_too_large`` and nothing stays on disk.

Each chunk is hashed (SHA-256, CRC-32) and written on a helper thread while the request's
thread reads and parses the next one from the network: hashlib, zlib and file writes release
the GIL, so on two cores receiving costs about the larger of the two, not their sum. The
chunks are taken in order, one at a time. Meanwhile the request's thread also searches each
chunk for a JPEG's markers (``JpegMarkers``), so that proving a photo whole walks its
scan without reading the file again. Where the received file is the one storage keeps
(local disk), its bytes start going to disk while it arrives: every ``SYNC_EVERY`` bytes
written, an ``fdatasync`` starts on another helper thread (one at a time, never waited for),
and another when the file is complete, while the request checks it; the storage still syncs
the staged file before its row commits, which then has little left to do.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from isal.isal_zlib import crc32

from fieldvisit.evidence.storage import evidence_storage
from fieldvisit.media.images import JpegMarkers
from fieldvisit.rules import RuleViolation
from fieldvisit.texts import _, format_lazy

CHUNK_SIZE = 1024 * 1024
SYNC_EVERY = 4 * 1024 * 1024  # bytes written between early syncs of a file being received
# The helper threads: one chunk of each upload in flight at a time; the early syncs apart, so
# a slow disk never holds up the hashing of other uploads.
_TAKERS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="evidence-receive")
_SYNCS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="evidence-sync")


class HashedUploadedFile(TemporaryUploadedFile):
    """A received file with its SHA-256, computed as it arrived, and its JPEG markers."""

    sha256: str = ""
    crc32: int = 0

    def __init__(self, name: str, content_type: str, charset: str | None, directory: str | None):
        file = tempfile.NamedTemporaryFile(suffix=".upload", dir=directory)  # noqa: SIM115
        # Skip TemporaryUploadedFile.__init__, which would pick its own directory.
        super(TemporaryUploadedFile, self).__init__(file, name, content_type, 0, charset)
        self.hasher = hashlib.sha256()
        self._taking: Future[None] | None = None
        self.markers = JpegMarkers()
        self.sync_early = False  # set where this file is the one storage keeps
        self._unsynced = 0
        self._syncing: Future[None] | None = None

    def take(self, data: bytes) -> None:
        """Hash and write ``data`` on a helper thread, once the chunk before it is taken (its
        failure, such as a full disk, is raised here); meanwhile search it for markers."""
        self.settle()
        self._taking = _TAKERS.submit(self._take, data)
        self.markers.feed(data)

    def _take(self, data: bytes) -> None:
        self.hasher.update(data)
        self.crc32 = crc32(data, self.crc32)
        self.file.write(data)
        if self.sync_early:
            self._unsynced += len(data)
            if self._unsynced >= SYNC_EVERY and (self._syncing is None or self._syncing.done()):
                self._unsynced = 0
                self._syncing = self.start_sync()

    def settle(self) -> None:
        """Wait until every chunk given to ``take`` is hashed and written."""
        taking, self._taking = self._taking, None
        if taking is not None:
            taking.result()

    def start_sync(self) -> Future[None]:
        """Start the bytes written so far on their way to disk without waiting for them (a
        head start for the storage's own sync, which remains the one that counts)."""
        self.file.flush()
        return _SYNCS.submit(_sync_and_close, os.dup(self.file.fileno()))

    def discard(self) -> None:
        with contextlib.suppress(Exception):
            self.settle()
        path = self.temporary_file_path()
        self.close()
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


def _sync_and_close(fd: int) -> None:
    try:
        os.fdatasync(fd)
    except OSError:
        pass  # the storage's own sync will say so
    finally:
        os.close(fd)


def file_too_large(limit: int) -> RuleViolation:
    return RuleViolation(
        "file_too_large",
        format_lazy(
            _("The file is larger than the {value} MiB this endpoint accepts."),
            value=limit // (1024 * 1024),
        ),
    )


class HashingUploadHandler(FileUploadHandler):
    """Stream the named file fields to disk while hashing them; refuse other file fields."""

    chunk_size = CHUNK_SIZE

    def __init__(self, request: Any, fields: set[str], limit: int | None = None) -> None:
        super().__init__(request)
        self.fields = fields
        self.limit = limit or settings.EVIDENCE_MAX_FILE_BYTES
        self.received = 0
        self.early_sync = False
        # Not named ``file``: Django closes ``handler.file`` of skipped parts if it exists.
        self.current: HashedUploadedFile | None = None

    def new_file(self, field_name: str, *args: Any, **kwargs: Any) -> None:
        super().new_file(field_name, *args, **kwargs)
        if field_name not in self.fields:
            raise SkipFile()
        directory = getattr(evidence_storage(), "staging_dir", lambda: None)()
        # Where the file is the one storing keeps (local disk), its sync can start early.
        self.early_sync = directory is not None
        self.current = HashedUploadedFile(
            self.file_name or field_name,
            self.content_type or "application/octet-stream",
            self.charset,
            directory or settings.FILE_UPLOAD_TEMP_DIR,
        )
        self.current.sync_early = self.early_sync

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        assert self.current is not None
        self.received += len(raw_data)
        if self.received > self.limit:
            self.current.discard()
            raise file_too_large(self.limit)
        try:
            self.current.take(raw_data)
        except BaseException:  # the chunk before could not be written (a full disk)
            self.current.discard()
            self.current = None
            raise

    def file_complete(self, file_size: int) -> HashedUploadedFile | None:
        if self.current is None:
            return None
        done, self.current = self.current, None
        try:
            done.settle()
        except BaseException:
            done.discard()
            raise
        if self.early_sync:
            done.start_sync()
        else:
            done.flush()
        done.seek(0)
        done.size = file_size
        done.sha256 = done.hasher.hexdigest()
        return done

    def upload_interrupted(self) -> None:
        if self.current is not None:
            self.current.discard()
