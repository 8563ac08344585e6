"""Thumbnails for people (admin, reports): derived from the original, never replacing it.

They live in the default (media) storage, not with the evidence, and are made on first use
with the EXIF orientation applied.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from fieldvisit.evidence.storage import evidence_storage, key_for, open_evidence
from fieldvisit.media.images import thumbnail_jpeg


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


def thumbnail(sha256: str) -> bytes:
    name = f"thumbnails/{sha256}.jpg"
    if default_storage.exists(name):
        with default_storage.open(name, "rb") as cached:
            return cached.read()
    with local_path(sha256) as path:
        data = thumbnail_jpeg(path)
    default_storage.save(name, ContentFile(data))
    return data
