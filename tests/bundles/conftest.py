"""Bundle tests: a visit with real evidence (photo, receipt, recording segments), downloaded
as a legal user would, then checked as an outsider would, with standard tools."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from fieldvisit.models import Visit
from tests import images
from tests.helpers import (
    AUDIO,
    ZONE,
    arrive_pair,
    body,
    cosign,
    file_report,
    iso,
    photo_form,
    photos_url,
    post,
    post_form,
    receipts_url,
    sha,
    stops_of,
    upload_segment,
)


@pytest.fixture(autouse=True)
def _pinned_clock(clock: Any) -> None:
    """Every test here runs on the pinned clock, set before ``world`` is built."""


@pytest.fixture
def evidenced_visit(world: Any, clock: Any) -> Visit:
    """A whole visit: recording from before the arrivals, photo, receipt, both agents leave."""
    stop = stops_of(world.route)[0]
    phone_a = world.client(world.agent_a, "phone-a")
    started = timezone.now() - dt.timedelta(seconds=5)
    arrive_pair(world, stop)
    visit = Visit.objects.select_related("stop__address").get(stop=stop)
    address = visit.stop.address
    photo = images.jpeg(lat=address.lat, lon=address.lon, taken_at=timezone.now().astimezone(ZONE))
    assert post_form(phone_a, photos_url(visit), photo_form(photo)).status_code == 201
    signature = images.png()
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
