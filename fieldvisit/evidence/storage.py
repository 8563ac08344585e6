"""Content-addressed evidence storage through Django's storage API.

A file's key is its SHA-256 (``sha256/ab/cd/abcd…``), so the same bytes are stored once and a
key never holds other bytes. New bytes go to a staging key first; ``promote`` moves them to
their final key only after the transaction recording them has committed, without ever
overwriting a final key. If the process dies in between, ``sweep_staging`` (a job) finishes
the move for bytes a committed row cites and removes staged bytes nobody cites.

Backends: the local file system by default (``EVIDENCE_ROOT``; promotion is a hard link, which
refuses to overwrite), or S3-compatible object storage (``EVIDENCE_S3_BUCKET``; promotion is a
server-side copy that sets Object Lock retention when ``EVIDENCE_OBJECT_LOCK_DAYS`` is set).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import re
import uuid
from collections.abc import Iterator
from typing import IO, Any

from botocore.config import Config
from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.utils import timezone
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

from fieldvisit.models import EvidenceFile

log = logging.getLogger(__name__)

STAGING = "staging"
STAGED_NAME = re.compile(r"^staging/(?P<sha256>[0-9a-f]{64})\.[0-9a-f]{32}$")


def key_for(sha256: str) -> str:
    return f"sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def evidence_storage() -> Storage:
    return storages["evidence"]


class EvidenceFileSystemStorage(FileSystemStorage):
    """Evidence on a local (or mounted) file system; files are made read-only."""

    def __init__(self, **settings: Any) -> None:
        # Read-only unless the settings say otherwise (not FILE_UPLOAD_PERMISSIONS, 0o644).
        settings.setdefault("file_permissions_mode", 0o440)
        super().__init__(**settings)

    def promote(self, staged: str, final: str, media_type: str) -> None:
        target = self.path(final)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with contextlib.suppress(FileExistsError):  # a link never overwrites
            os.link(self.path(staged), target)
        self.delete(staged)

    def sync(self, name: str) -> None:
        """Make a stored file durable before the row citing it commits."""
        with open(self.path(name), "rb") as f:
            os.fsync(f.fileno())

    def staging_dir(self) -> str:
        """Where the upload handler writes, so staging a file is a rename, not a copy."""
        path = self.path(STAGING)
        os.makedirs(path, exist_ok=True)
        return path


class EvidenceS3Storage(S3Storage):
    """Evidence in an S3-compatible bucket; final objects may carry Object Lock retention.

    A bucket that answers 5xx or does not answer at all must not hold a phone's upload for
    minutes (botocore's defaults: 60 s to connect, 60 s per read, up to 5 attempts): the
    client connects within ``connect_timeout_s``, waits ``read_timeout_s`` for each read and
    makes ``max_attempts`` attempts (standard retry mode: 5xx, throttling and connection
    errors, with a short jittered back-off); then the upload is ``503 storage_unavailable``
    with ``Retry-After``, nothing kept. A ``client_config`` in the settings wins over these.
    """

    def __init__(self, **settings: Any) -> None:
        self.object_lock_days = int(settings.pop("object_lock_days", 0) or 0)
        self.object_lock_mode = settings.pop("object_lock_mode", "COMPLIANCE")
        bounded = Config(
            connect_timeout=float(settings.pop("connect_timeout_s", 5)),
            read_timeout=float(settings.pop("read_timeout_s", 15)),
            retries={
                "total_max_attempts": int(settings.pop("max_attempts", 3)),
                "mode": "standard",
            },
        )
        settings.setdefault("file_overwrite", False)
        settings.setdefault("querystring_auth", True)
        super().__init__(**settings)
        # Under whatever client_config the settings (or django-storages' default) give.
        self.client_config = bounded.merge(self.client_config)

    def retention(self) -> dict[str, Any]:
        if not self.object_lock_days:
            return {}
        until = timezone.now() + dt.timedelta(days=self.object_lock_days)
        return {"ObjectLockMode": self.object_lock_mode, "ObjectLockRetainUntilDate": until}

    def promote(self, staged: str, final: str, media_type: str) -> None:
        if not self.exists(final):
            client = self.bucket.meta.client
            client.copy(
                {"Bucket": self.bucket_name, "Key": self._normalize_name(staged)},
                self.bucket_name,
                self._normalize_name(final),
                ExtraArgs={
                    "ContentType": media_type,
                    "MetadataDirective": "REPLACE",
                    **self.retention(),
                },
                Config=self.transfer_config,
            )
        self.delete(staged)

    def delete(self, name: str) -> None:
        """Staged bytes are removed for good. Object Lock needs a versioned bucket, where a
        plain delete only puts a delete marker in front of the bytes; so every version of a
        staging key is deleted, and only if one cannot be (a bucket default retention locks
        it) does a delete marker hide it."""
        if name.startswith(f"{STAGING}/"):
            key = self._normalize_name(clean_name(name))
            answers = self.bucket.object_versions.filter(Prefix=key).delete()
            if not any(answer.get("Errors") for answer in answers):
                return
        super().delete(name)

    def sync(self, name: str) -> None:
        """Object storage acknowledges a PUT only once the object is durable."""

    def staging_dir(self) -> None:
        return None


def stage(content: IO[bytes], sha256: str) -> str:
    """Put received bytes at a fresh staging key; return the key."""
    name = f"{STAGING}/{sha256}.{uuid.uuid4().hex}"
    # A received upload is passed as is: on local disk, saving it is then a rename.
    file = content if isinstance(content, File) else File(content, name=name)
    saved = evidence_storage().save(name, file)
    if saved != name:  # pragma: no cover - a fresh uuid never collides
        raise RuntimeError(f"staging key {name} was taken")
    evidence_storage().sync(name)  # type: ignore[attr-defined]
    return name


def promote(staged: str, sha256: str, media_type: str) -> None:
    evidence_storage().promote(staged, key_for(sha256), media_type)  # type: ignore[attr-defined]


def discard(staged: str) -> None:
    try:
        evidence_storage().delete(staged)
    except Exception:  # the sweeper removes it later
        log.exception("could not discard staged evidence %s", staged)


def open_evidence(sha256: str) -> File:
    return evidence_storage().open(key_for(sha256), "rb")


def stored(sha256: str) -> bool:
    return evidence_storage().exists(key_for(sha256))


def staged_names() -> Iterator[tuple[str, str]]:
    """``(staging key, sha256)`` of everything waiting in staging; the hash is empty for a
    request's temporary upload file (``*.upload``) that a crash left behind."""
    storage = evidence_storage()
    try:
        _dirs, files = storage.listdir(STAGING)
    except FileNotFoundError:
        return
    for filename in files:
        name = f"{STAGING}/{filename}"
        found = STAGED_NAME.match(name)
        if found:
            yield name, found["sha256"]
        elif filename.endswith(".upload"):
            yield name, ""


def sweep_staging(older_than: dt.timedelta = dt.timedelta(hours=1)) -> dict[str, int]:
    """Finish promotions a crash interrupted; remove staged bytes no committed row cites and
    temporary upload files of requests that died."""
    storage = evidence_storage()
    cutoff = timezone.now() - older_than
    done = {"promoted": 0, "removed": 0}
    for name, sha256 in staged_names():
        if storage.get_modified_time(name) > cutoff:
            continue  # a request may still be using it
        record = EvidenceFile.objects.filter(sha256=sha256).first() if sha256 else None
        if record is not None:
            promote(name, sha256, record.media_type)
            done["promoted"] += 1
        else:
            storage.delete(name)
            done["removed"] += 1
    return done
