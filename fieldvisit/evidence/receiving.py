"""Receiving evidence files: hashed while they stream in, limited in size, kept on disk.

``HashingUploadHandler`` replaces Django's upload handlers on the evidence endpoints. Each
file is written to a temporary file (in the evidence storage's staging directory when it is
on local disk, so storing it later is a rename) and fed to SHA-256 chunk by chunk, so the
hash is known when the request is parsed, without a second read. Past the size limit the
upload stops at once with ``413 file_too_large`` and nothing stays on disk.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import zlib
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile

from fieldvisit.evidence.storage import evidence_storage
from fieldvisit.rules import RuleViolation
from fieldvisit.texts import _, format_lazy

CHUNK_SIZE = 1024 * 1024


class HashedUploadedFile(TemporaryUploadedFile):
    """A received file with its SHA-256, computed as it arrived."""

    sha256: str = ""
    crc32: int = 0

    def __init__(self, name: str, content_type: str, charset: str | None, directory: str | None):
        file = tempfile.NamedTemporaryFile(suffix=".upload", dir=directory)  # noqa: SIM115
        # Skip TemporaryUploadedFile.__init__, which would pick its own directory.
        super(TemporaryUploadedFile, self).__init__(file, name, content_type, 0, charset)
        self.hasher = hashlib.sha256()

    def discard(self) -> None:
        path = self.temporary_file_path()
        self.close()
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


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
        # Not named ``file``: Django closes ``handler.file`` of skipped parts if it exists.
        self.current: HashedUploadedFile | None = None

    def new_file(self, field_name: str, *args: Any, **kwargs: Any) -> None:
        super().new_file(field_name, *args, **kwargs)
        if field_name not in self.fields:
            raise SkipFile()
        directory = getattr(evidence_storage(), "staging_dir", lambda: None)()
        self.current = HashedUploadedFile(
            self.file_name or field_name,
            self.content_type or "application/octet-stream",
            self.charset,
            directory or settings.FILE_UPLOAD_TEMP_DIR,
        )

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        assert self.current is not None
        self.received += len(raw_data)
        if self.received > self.limit:
            self.current.discard()
            raise file_too_large(self.limit)
        self.current.hasher.update(raw_data)
        self.current.crc32 = zlib.crc32(raw_data, self.current.crc32)
        self.current.write(raw_data)

    def file_complete(self, file_size: int) -> HashedUploadedFile | None:
        if self.current is None:
            return None
        done, self.current = self.current, None
        done.flush()
        done.seek(0)
        done.size = file_size
        done.sha256 = done.hasher.hexdigest()
        return done

    def upload_interrupted(self) -> None:
        if self.current is not None:
            self.current.discard()
