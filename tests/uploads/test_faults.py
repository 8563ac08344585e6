"""Faults around completion: a HEAD while the segment is being stored, a storage outage on
the last PATCH, hostile metadata. Found by review; each test failed before its fix."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from fieldvisit.choices import UploadStatus
from fieldvisit.evidence import storage
from fieldvisit.models import AudioSegment, Upload
from tests.helpers import (
    assert_tus_problem,
    audio,
    create,
    created,
    head,
    metadata,
    partial_path,
    patch,
    segment_meta,
    upload_id,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_head_while_the_segment_is_stored_sees_the_bytes(
    visit: Any, agent: Any, monkeypatch: Any
) -> None:
    data = audio("recording_seg0.m4a")
    url = created(agent, data, segment_meta(visit, data))
    real_stage = storage.stage
    seen: dict[str, Any] = {}

    def stage_then_head(content: Any, sha256: str) -> str:
        name = real_stage(content, sha256)
        seen.setdefault("head", head(agent, url))  # a client retry, before the commit
        return name

    monkeypatch.setattr(storage, "stage", stage_then_head)
    assert patch(agent, url, data, 0).status_code == 204
    assert seen["head"]["Upload-Offset"] == str(len(data))
    upload = Upload.objects.get(pk=upload_id(url))
    assert (upload.status, upload.offset) == (UploadStatus.COMPLETED, len(data))
    assert AudioSegment.objects.count() == 1
    assert not partial_path(url).exists()


def test_a_storage_outage_on_the_last_patch_can_be_retried(
    visit: Any, agent: Any, monkeypatch: Any
) -> None:
    data = audio("recording_seg0.m4a")
    url = created(agent, data, segment_meta(visit, data))
    real_stage = storage.stage
    calls: list[int] = []

    def flaky(content: Any, sha256: str) -> str:
        calls.append(1)
        if len(calls) == 1:
            raise OSError("No space left on device")
        return real_stage(content, sha256)

    monkeypatch.setattr(storage, "stage", flaky)
    assert_tus_problem(patch(agent, url, data, 0), 503, "storage_unavailable")
    assert partial_path(url).exists()
    status = head(agent, url)
    assert status.status_code == 200
    assert status["Upload-Offset"] == str(len(data))
    # The client retries the last PATCH with no bytes left to send.
    assert patch(agent, url, b"", len(data)).status_code == 204
    assert AudioSegment.objects.count() == 1


def test_control_characters_in_metadata_are_refused(visit: Any, agent: Any) -> None:
    data = audio("recording_seg0.m4a")
    header = metadata(**segment_meta(visit, data)) + ",note " + base64.b64encode(b"a\x00b").decode()
    assert_tus_problem(create(agent, len(data), header), 400, "malformed_request")
    assert not Upload.objects.exists()


@pytest.mark.parametrize("started_at", ["9999-12-31T15:59:58+00:00", "2001-01-01T00:00:00+00:00"])
def test_a_segment_start_far_from_now_is_refused(visit: Any, agent: Any, started_at: str) -> None:
    data = audio("recording_seg0.m4a")
    meta = segment_meta(visit, data)
    meta["started_at"] = started_at
    problem = assert_tus_problem(create(agent, len(data), meta), 422, "validation_error")
    assert "started_at" in problem["errors"]
