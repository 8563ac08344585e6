"""What a crash leaves in the tus upload directory is removed by the evidence sweep: the
bytes and lock of uploads that ended, completion links nobody uses; never the bytes of an
upload still receiving, nor anything a live request holds."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from fieldvisit import jobs
from fieldvisit.choices import UploadStatus
from fieldvisit.models import Upload
from fieldvisit.tus import partials
from tests.helpers import audio, created, patch, segment_meta, upload_id

# On the pinned clock (the root conftest's ``clock``), set before ``world`` is built.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clock")]


def age(path: Path, by: dt.timedelta = dt.timedelta(hours=2)) -> None:
    then = (timezone.now() - by).timestamp()
    os.utime(path, (then, then))


def test_the_sweep_removes_what_ended_uploads_left_and_keeps_live_ones(
    agent: Any, visit: Any
) -> None:
    data = audio("recording_seg0.m4a")
    live = upload_id(created(agent, data, segment_meta(visit, data)))
    assert patch(agent, f"/api/v1/uploads/{live}/", data[:1000], 0).status_code == 204
    ended = upload_id(created(agent, data, segment_meta(visit, data)))
    Upload.objects.filter(pk=ended).update(status=UploadStatus.COMPLETED)
    directory = Path(settings.TUS_UPLOAD_DIR)
    # A server killed after a segment committed but before its bytes were removed, and one
    # killed while a completion link existed.
    partials.lock_path_for(ended).touch()
    dead_link = directory / f"{live}.part.{'a' * 32}.staging"
    os.link(partials.path_for(live), dead_link)
    fresh_link = directory / f"{ended}.part.{'b' * 32}.staging"
    fresh_link.touch()
    for path in directory.iterdir():
        age(path, dt.timedelta(minutes=1) if path == fresh_link else dt.timedelta(hours=2))

    held = partials.hold(live)  # a live request on the upload keeps its link
    assert held is not None
    try:
        assert jobs.sweep_evidence()["upload_leftovers"] == 2
    finally:
        held.release()
    assert sorted(p.name for p in directory.iterdir()) == sorted(
        [f"{live}.part", f"{live}.lock", dead_link.name, fresh_link.name]
    )

    printed = io.StringIO()
    call_command("sweep_evidence", "--older-than", "0", stdout=printed)
    assert json.loads(printed.getvalue())["upload_leftovers"] == 2  # both links now
    assert sorted(p.name for p in directory.iterdir()) == [f"{live}.lock", f"{live}.part"]
    assert partials.path_for(live).read_bytes() == data[:1000]
