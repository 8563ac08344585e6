"""Receiving a photo: its chunks are hashed and written on a helper thread while the next
ones arrive, in order; a failure keeps nothing; the complete file's sync starts at once and the
storage still syncs it before the row commits."""

from __future__ import annotations

import io
import os
import platform
import random
import zlib
from typing import Any

import pytest
from PIL import Image

from fieldvisit.evidence import receiving
from fieldvisit.models import EvidenceFile, Photo
from tests.helpers import final_path, photo_form, photos_url, post_form, sha, stored_files

pytestmark = pytest.mark.django_db(transaction=True)


def _big_photo() -> bytes:
    """A noise JPEG of a few MB: several of the handler's 1 MB chunks."""
    size = (2000, 1600)
    noise = random.Random(7).randbytes(size[0] * size[1] * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", size, noise).save(out, "JPEG", quality=95)
    data = out.getvalue()
    assert len(data) > 3 * receiving.CHUNK_SIZE
    return data


def test_a_photo_of_several_chunks_is_stored_byte_for_byte(agent: Any, visit: Any) -> None:
    data = _big_photo()

    response = post_form(agent, photos_url(visit), photo_form(data))

    assert response.status_code == 201, response.content
    record = EvidenceFile.objects.get()
    assert (record.sha256, record.size, record.crc32) == (sha(data), len(data), zlib.crc32(data))
    assert stored_files() == {final_path(sha(data)): data}


def test_a_chunk_that_cannot_be_written_keeps_nothing(
    agent: Any, visit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = receiving.HashedUploadedFile._take
    taken = []

    def disk_full(self: Any, data: bytes) -> None:
        taken.append(len(data))
        if len(taken) == 2:
            raise OSError(28, "No space left on device")
        real(self, data)

    monkeypatch.setattr(receiving.HashedUploadedFile, "_take", disk_full)
    agent.raise_request_exception = False
    response = post_form(agent, photos_url(visit), photo_form(_big_photo()))
    agent.raise_request_exception = True

    assert response.status_code == 500
    assert len(taken) == 2  # raised when the 3rd chunk was given, which was never taken
    assert Photo.objects.count() == 0
    assert EvidenceFile.objects.count() == 0
    assert stored_files() == {}  # no temporary upload file either


def test_the_sync_starts_when_the_file_is_complete_and_storage_still_syncs(
    agent: Any, visit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _big_photo()
    synced: list[tuple[str, int]] = []
    real_fdatasync, real_fsync = os.fdatasync, os.fsync

    def fdatasync(fd: int) -> None:
        synced.append(("early", os.fstat(fd).st_size))
        real_fdatasync(fd)

    def fsync(fd: int) -> None:
        synced.append(("storage", os.fstat(fd).st_size))
        real_fsync(fd)

    monkeypatch.setattr(os, "fdatasync", fdatasync)
    monkeypatch.setattr(os, "fsync", fsync)
    response = post_form(agent, photos_url(visit), photo_form(data))

    assert response.status_code == 201, response.content
    assert ("early", len(data)) in synced
    assert ("storage", len(data)) in synced


def test_a_file_being_received_starts_going_to_disk_every_few_megabytes(
    agent: Any, visit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Early syncs while the photo arrives (one at a time, never waited for), so that the
    storage's own sync before the row commits has little left; the row still commits only
    after the storage synced the whole staged file."""
    data = _big_photo()
    events: list[tuple[str, int]] = []
    real_start, real_fsync = receiving.HashedUploadedFile.start_sync, os.fsync
    real_commit = Photo.objects.create

    def early(self: Any) -> Any:
        started = real_start(self)  # flushed: the size is what the sync covers
        events.append(("early", os.fstat(self.file.fileno()).st_size))
        return started

    def fsync(fd: int) -> None:
        events.append(("storage", os.fstat(fd).st_size))
        real_fsync(fd)

    def create(**fields: Any) -> Any:
        events.append(("row", 0))
        return real_commit(**fields)

    monkeypatch.setattr(receiving, "SYNC_EVERY", receiving.CHUNK_SIZE)
    monkeypatch.setattr(receiving.HashedUploadedFile, "start_sync", early)
    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(Photo.objects, "create", create)
    response = post_form(agent, photos_url(visit), photo_form(data))

    assert response.status_code == 201, response.content
    early_sizes = [size for kind, size in events if kind == "early"]
    assert len(early_sizes) >= 2  # at least one while receiving, and the complete file's
    assert min(early_sizes) < len(data)
    assert events.index(("storage", len(data))) < events.index(("row", 0))
    assert stored_files() == {final_path(sha(data)): data}


def test_the_photo_is_proved_whole_by_markers_found_as_it_arrived(
    agent: Any, visit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The request's thread finds the JPEG's markers in each chunk while the helper thread
    hashes and writes it: the walk of the scan reads nothing again, and decodes nothing."""
    from fieldvisit.media import images

    def no_reading(*args: Any) -> Any:
        raise AssertionError("the scan was read from the file")

    def no_decode(*args: Any) -> Any:
        raise AssertionError("the photo was decoded")

    monkeypatch.setattr(images, "_jpeg_scan_markers", no_reading)
    monkeypatch.setattr(images, "_decode", no_decode)
    data = _big_photo()

    response = post_form(agent, photos_url(visit), photo_form(data))

    assert response.status_code == 201, response.content
    assert stored_files() == {final_path(sha(data)): data}


def test_a_photo_cut_short_is_refused_with_markers_found_as_it_arrived(
    agent: Any, visit: Any
) -> None:
    data = _big_photo()
    cut = data[: len(data) - receiving.CHUNK_SIZE // 2]

    response = post_form(agent, photos_url(visit), photo_form(cut))

    assert response.status_code == 422, response.content
    assert response.json()["code"] == "invalid_image"
    assert Photo.objects.count() == 0
    assert stored_files() == {}


def test_the_production_server_lets_the_allocator_keep_body_buffers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """config/gunicorn.py sets glibc's malloc thresholds in the master before it forks (a
    body's megabyte buffers then reuse heap pages instead of faulting in new ones); glibc's
    own environment variables, when set, win."""
    if platform.libc_ver()[0] != "glibc":
        pytest.skip("mallopt is glibc's")
    from config import gunicorn

    for name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"):
        monkeypatch.delenv(name, raising=False)
    assert gunicorn.keep_body_buffers()
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", str(gunicorn.TRIM_THRESHOLD))
    assert not gunicorn.keep_body_buffers()
