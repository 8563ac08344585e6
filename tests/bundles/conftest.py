# ruff: noqa: F811 - fixtures named ``world`` take the imported fixture of that name
"""Bundle tests: a visit with real evidence (photo, receipt, recording segments), downloaded
as a legal user would, then checked as an outsider would, with standard tools."""

from __future__ import annotations

import io
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from fieldvisit.models import Visit
from tests.checkins.conftest import (  # noqa: F401 - fixtures and helpers shared on purpose
    ZONE,
    arrive_pair,
    assert_problem,
    body,
    clock,
    iso,
    post,
    stops_of,
    world,
)
from tests.evidence import images
from tests.evidence.conftest import photo_form, photos_url, post_form, receipts_url, sha
from tests.reports.conftest import cosign, file_report
from tests.uploads.conftest import AUDIO, upload_segment


@pytest.fixture
def evidenced_visit(world: Any, clock: Any) -> Visit:
    """A whole visit: recording from before the arrivals, photo, receipt, both agents leave."""
    import datetime as dt

    stop = stops_of(world.route)[0]
    phone_a = world.client(world.agent_a, "phone-a")
    started = timezone.now() - dt.timedelta(seconds=5)
    arrive_pair(world, stop)
    visit = Visit.objects.select_related("stop__address").get(stop=stop)
    address = visit.stop.address
    photo = images.jpeg(lat=address.lat, lon=address.lon, taken_at=timezone.now().astimezone(ZONE))
    assert post_form(phone_a, photos_url(visit), photo_form(photo)).status_code == 201
    signature = images.png()
    from django.core.files.uploadedfile import SimpleUploadedFile

    receipt = {
        "id": str(uuid.uuid4()),
        "notice_number": stop.notice_number,
        "outcome": "signed_by_debtor",
        "signer_name": "Zhang San",
        "signature": SimpleUploadedFile("sig.png", signature),
        "signature_sha256": sha(signature),
        "captured_at": iso(timezone.now()),
    }
    assert post_form(phone_a, receipts_url(visit), receipt).status_code == 201
    recording, prev = str(uuid.uuid4()), ""
    for index in range(3):
        data = (AUDIO / f"recording_seg{index}.m4a").read_bytes()
        _, done = upload_segment(
            phone_a,
            visit,
            data,
            recording=recording,
            segment=index,
            started_at=started + dt.timedelta(seconds=20 * index),
            prev_sha256=prev,
        )
        assert done.status_code == 204, done.content
        prev = sha(data)
    clock.shift(dt.timedelta(seconds=30))
    for user, device in ((world.agent_a, "phone-a"), (world.agent_b, "phone-b")):
        left = post(world.client(user, device), body(world, "leave", stop))
        assert left.status_code == 201, left.content
    filed = file_report(phone_a, visit)
    assert filed.status_code == 201, filed.content
    signed = cosign(world.client(world.agent_b, "phone-b"), visit)
    assert signed.status_code == 200, signed.content
    visit.refresh_from_db()
    return visit


def unzip(content: bytes, into: Path) -> Path:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert archive.testzip() is None
        archive.extractall(into)
        (top,) = {name.split("/")[0] for name in archive.namelist()}
    return into / top


def download(client: Any, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, getattr(response, "content", b"")[:500]
    assert response["Content-Type"] == "application/zip"
    return b"".join(response.streaming_content)
