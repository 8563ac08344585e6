"""Thumbnails for people (admin, reports): derived from the original, never replacing it.

They live in the default (media) storage, not with the evidence, named by the original's
SHA-256, with the EXIF orientation applied. Where the check at ingest decodes the image (PNG,
HEIC, a progressive JPEG), the thumbnail comes from that decode (``keep``); a baseline JPEG is
proved whole by its structure without a decode, and gets its thumbnail on first use (admin,
bundles), from one decode then, as does evidence received before ingest made thumbnails. Either
way nothing decodes a photo twice for its thumbnail.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from fieldvisit.evidence.storage import evidence_storage, key_for, open_evidence
from fieldvisit.media.images import thumbnail_jpeg

log = logging.getLogger(__name__)


@contextmanager
def local_path(sha256: str) -> Iterator[str]:
    """A path to the evidence file on local disk (a temporary copy for object storage)."""
    storage = evidence_storage()
    try:
        yield storage.path(key_for(sha256))
        return
    except NotImplementedError:
        pass
    with tempfile.NamedTemporaryFile() as copy, open_evidence(sha256) as source:
        shutil.copyfileobj(source, copy, 1024 * 1024)
        copy.flush()
        yield copy.name


def _name(sha256: str) -> str:
    return f"thumbnails/{sha256}.jpg"


def keep(sha256: str, data: bytes | None) -> None:
    """Store the thumbnail made at ingest (``inspect_image(..., thumbnail_px=...)``).

    Derived data never holds up evidence: if the media storage fails, the thumbnail is made
    on first use instead.
    """
    if data is None:
        return
    try:
        if not default_storage.exists(_name(sha256)):
            default_storage.save(_name(sha256), ContentFile(data))
    except Exception:
        log.warning("keeping the thumbnail of %s failed", sha256, exc_info=True)


def thumbnail(sha256: str) -> bytes:
    name = _name(sha256)
    if default_storage.exists(name):
        with default_storage.open(name, "rb") as cached:
            return cached.read()
    with local_path(sha256) as path:
        data = thumbnail_jpeg(path)
    keep(sha256, data)
    return data
