"""A world in which every kind of record exists, and the ten principals of the
authorization matrix.

Agent A and agent B have walked stop 1 (arrived, reported by B, left: the visit is closed
and awaits A's co-signature, with a photo, a receipt and a recorded audio segment) and
are at stop 2 (both arrived: the visit is open). The outsider agent is of another team;
the supervisor oversees the fixture team; a device of agent A was revoked. The outsider
raised a panic of their own (the other team's). The team lead leads the fixture team and the
risk manager manages its risk (the supervisor supervises it).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from fieldvisit.actions.auth import issue_token, revoke_token
from fieldvisit.choices import CheckInKind
from fieldvisit.ledger import checkpoints
from fieldvisit.models import (
    Alert,
    DeviceToken,
    Photo,
    Receipt,
    RouteChangeRequest,
    Stop,
    Visit,
    VisitReport,
)
from tests.helpers import (
    ATTESTATIONS,
    AUDIO,
    body,
    create,
    iso,
    photo_form,
    post,
    segment_meta,
    send,
    sha,
    stops_of,
)
from tests.images import jpeg

PRINCIPALS = (
    "anonymous",
    "revoked",
    "agent",
    "outsider",
    "planner",
    "supervisor",
    "legal",
    "auditor",
    "team_lead",
    "risk_manager",
)


def report_body() -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "outcome": "no_answer",
        "notes": "Nobody opened.",
        "attestations": dict(ATTESTATIONS),
    }


class Scene:
    def __init__(self, world: Any) -> None:
        self.world = world
        world.team.risk_manager = world.risk
        world.team.save(update_fields=["risk_manager"])
        self.stops: list[Stop] = stops_of(world.route)
        a = world.client(world.agent_a, "phone-a")
        b = world.client(world.agent_b, "phone-b")
        self.agent_api, self.partner_api = a, b

        # Stop 1: arrive together, evidence, B reports, both leave.
        first = self.stops[0]
        self._checkin(a, CheckInKind.ARRIVE, first)
        self._checkin(b, CheckInKind.ARRIVE, first)
        self.closed = Visit.objects.get(stop=first)
        photo = a.post(
            f"/api/v1/visits/{self.closed.pk}/photos/", photo_form(jpeg()), format="multipart"
        )
        assert photo.status_code == 201, photo.content
        receipt = a.post(
            f"/api/v1/visits/{self.closed.pk}/receipts/",
            self.receipt_form(self.closed),
            format="multipart",
        )
        assert receipt.status_code == 201, receipt.content
        audio = (AUDIO / "m4a_aac_lc.m4a").read_bytes()
        url = self._created(a, audio, segment_meta(self.closed, audio))
        assert send(a, url, audio).status_code == 204
        report = b.post(f"/api/v1/visits/{self.closed.pk}/report/", report_body(), format="json")
        assert report.status_code == 201, report.content
        self._checkin(a, CheckInKind.LEAVE, first)
        self._checkin(b, CheckInKind.LEAVE, first)

        # Stop 2: both arrived, the visit is open.
        second = self.stops[1]
        self._checkin(a, CheckInKind.ARRIVE, second)
        self._checkin(b, CheckInKind.ARRIVE, second)
        self.open = Visit.objects.get(stop=second)

        change = a.post(
            f"/api/v1/routes/{world.route.pk}/change-requests/",
            {"id": str(uuid.uuid4()), "reason": "gate", "skip_stops": [str(self.stops[2].pk)]},
            format="json",
        )
        assert change.status_code == 201, change.content
        panic = a.post(
            "/api/v1/alerts/panic/",
            {"id": str(uuid.uuid4()), "lat": 31.23, "lon": 121.47, "captured_at": iso(now())},
            format="json",
        )
        assert panic.status_code == 201, panic.content
        # The outsider's panic: a record (and ledger entries) of a team the supervisor does
        # not oversee.
        foreign = world.client(world.outsider, "device").post(
            "/api/v1/alerts/panic/",
            {"id": str(uuid.uuid4()), "lat": 31.1, "lon": 121.3, "captured_at": iso(now())},
            format="json",
        )
        assert foreign.status_code == 201, foreign.content
        checkpoints.latest_checkpoint()

        self.report = VisitReport.objects.get(visit=self.closed)
        self.change = RouteChangeRequest.objects.get()
        self.alert = Alert.objects.get(team=world.team)
        self.foreign_alert = Alert.objects.get(team=world.other_team)
        self.photo = Photo.objects.get()
        self.receipt = Receipt.objects.get()

        # A device of agent A, signed out: its token is revoked.
        key, token = issue_token(world.agent_a, "lost-phone", "lost phone", "android")
        revoke_token(token.pk, world.agent_a, "lost")
        self.revoked_key = key
        self.revoked_token = DeviceToken.objects.get(pk=token.pk)

    # --- helpers -----------------------------------------------------------------------

    @staticmethod
    def _checkin(client: Any, kind: str, stop: Stop) -> None:
        response = post(client, body(None, kind, stop, route=stop.route))
        assert response.status_code == 201, response.content

    @staticmethod
    def _created(client: Any, data: bytes, meta: dict[str, Any]) -> str:
        response = create(client, len(data), meta)
        assert response.status_code == 201, response.content
        return "/" + response["Location"].split("/", 3)[3]

    def receipt_form(self, visit: Visit) -> dict[str, Any]:
        return {
            "id": str(uuid.uuid4()),
            "notice_number": visit.stop.notice_number,
            "outcome": "refused",
            "captured_at": iso(now()),
        }

    def incident(self) -> Any:
        """A conduct incident about the closed visit naming agent A (a supervisor's
        finding), made the first time it is asked for."""
        if getattr(self, "_incident", None) is None:
            from fieldvisit.actions import incidents

            w = self.world
            self._incident = incidents.open_finding(
                visit_id=self.closed.pk,
                rules=["no_disturbance"],
                summary="Rang the bell repeatedly.",
                agents=[w.agent_a],
                by=w.supervisor,
            )
        return self._incident

    def new_upload(self) -> str:
        """A fresh unfinished upload of agent A's for the open visit; its path."""
        data = b"\0" * 1000
        meta = segment_meta(self.open, data, sha256=sha(b"other"))
        return self._created(self.agent_api, data, meta)

    # --- principals --------------------------------------------------------------------

    def user(self, principal: str) -> Any:
        w = self.world
        return {
            "agent": w.agent_a,
            "outsider": w.outsider,
            "planner": w.planner,
            "supervisor": w.supervisor,
            "legal": w.legal,
            "auditor": w.auditor,
            "team_lead": w.lead,
            "risk_manager": w.risk,
        }.get(principal)

    def api(self, principal: str, fresh: bool = False) -> APIClient:
        """An API client for the principal; ``fresh``: on a new device (a new token)."""
        if principal == "anonymous":
            return APIClient()
        if principal == "revoked":
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Token {self.revoked_key}")
            return client
        user = self.user(principal)
        if principal == "agent" and not fresh:
            return self.agent_api
        if fresh:
            key, _ = issue_token(user, uuid.uuid4().hex, "fresh", "android")
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
            return client
        return self.world.client(user, "device")

    def browser(self, principal: str) -> Client:
        """A browser for admin: signed in with a session, or not at all."""
        client = Client()
        if principal == "revoked":
            # A revoked API token means nothing to admin: still nobody.
            client.defaults["HTTP_AUTHORIZATION"] = f"Token {self.revoked_key}"
        elif principal != "anonymous":
            client.force_login(self.user(principal))
        return client


def now() -> Any:
    return timezone.now()
