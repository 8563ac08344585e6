"""A visit made through the API step by step, as the bundle tests need it: what a test
leaves out or gets wrong shows in the bundle and its verdict."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from fieldvisit.models import Photo, Visit
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
    report_body,
    sha,
    stops_of,
    upload_segment,
)


class Visiting:
    """A visit made through the API step by step, with what a test leaves out or gets wrong."""

    def __init__(self, world: Any, clock: Any, stop_index: int = 0) -> None:
        self.world, self.clock = world, clock
        self.stop = stops_of(world.route)[stop_index]
        self.phone_a = world.client(world.agent_a, "phone-a")
        self.started = timezone.now() - dt.timedelta(seconds=5)
        self.visit: Visit | None = None

    def arrive(self, queued: dt.timedelta | None = None) -> Visiting:
        """Both agents arrive; ``queued``: sent that long after they did (offline)."""
        if queued is None:
            arrive_pair(self.world, self.stop)
        else:
            for user, device, dlat in (
                (self.world.agent_a, "phone-a", 0),
                (self.world.agent_b, "phone-b", 20),
            ):
                payload = body(self.world, "arrive", self.stop, ago=queued, dlat=dlat)
                answer = post(self.world.client(user, device), payload)
                assert answer.status_code == 201, answer.content
        self.visit = Visit.objects.select_related("stop__address").get(stop=self.stop)
        return self

    def photo(self, *, gps: bool = True, partner: bool = True) -> Photo:
        address = self.visit.stop.address
        taken = timezone.now().astimezone(ZONE)
        data = (
            images.jpeg(lat=address.lat, lon=address.lon, taken_at=taken)
            if gps
            else images.jpeg(taken_at=taken)
        )
        form = photo_form(data, partner_in_frame="true" if partner else "false")
        response = post_form(self.phone_a, photos_url(self.visit), form)
        assert response.status_code == 201, response.content
        return Photo.objects.get(pk=response.json()["id"])

    def receipt(self, queued: dt.timedelta | None = None, **fields: str) -> Visiting:
        """The debtor signs the notice (or whoever ``fields`` say); ``queued``: sent that
        long after it was signed (offline)."""
        signature = images.png()
        receipt = {
            "id": str(uuid.uuid4()),
            "notice_number": self.stop.notice_number,
            "outcome": "signed_by_debtor",
            "signer_name": "Zhang San",
            "signature": SimpleUploadedFile("sig.png", signature),
            "signature_sha256": sha(signature),
            "captured_at": iso(timezone.now() - (queued or dt.timedelta(0))),
            **fields,
        }
        response = post_form(self.phone_a, receipts_url(self.visit), receipt)
        assert response.status_code == 201, response.content
        return self

    def record(self, *, segments: int = 3, pause_s: float = 0.0) -> Visiting:
        recording, prev = str(uuid.uuid4()), ""
        for index in range(segments):
            data = (AUDIO / f"recording_seg{index}.m4a").read_bytes()
            _, done = upload_segment(
                self.phone_a,
                self.visit,
                data,
                recording=recording,
                segment=index,
                started_at=self.started + dt.timedelta(seconds=20 * index + pause_s * index),
                prev_sha256=prev,
            )
            assert done.status_code == 204, done.content
            prev = sha(data)
        return self

    def leave(self, after: dt.timedelta = dt.timedelta(seconds=30)) -> Visiting:
        self.clock.shift(after)
        for user, device in ((self.world.agent_a, "phone-a"), (self.world.agent_b, "phone-b")):
            left = post(self.world.client(user, device), body(self.world, "leave", self.stop))
            assert left.status_code == 201, left.content
        return self

    def report(
        self, *, cosigned: bool = True, payload: dict[str, Any] | None = None, **attestations: bool
    ) -> Visiting:
        if payload is None and attestations:
            payload = report_body(attestations=attestations)
        filed = file_report(self.phone_a, self.visit, payload)
        assert filed.status_code == 201, filed.content
        if cosigned:
            signed = cosign(self.world.client(self.world.agent_b, "phone-b"), self.visit)
            assert signed.status_code == 200, signed.content
        return self

    def correct(self) -> Visiting:
        current = self.visit.reports.order_by("-received_at").first()
        filed = file_report(self.phone_a, self.visit, report_body(corrects=str(current.pk)))
        assert filed.status_code == 201, filed.content
        signed = cosign(self.world.client(self.world.agent_b, "phone-b"), self.visit)
        assert signed.status_code == 200, signed.content
        return self
