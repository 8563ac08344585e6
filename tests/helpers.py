"""What tests of every domain build requests with and check answers by, in one place.

Fixtures (the named actors of ``world``, the pinned ``clock``, an opened ``visit``) live in
the root ``conftest.py``; this module holds plain functions and constants, imported by name.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import uuid
import zipfile
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import User
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from fieldvisit.actions import routes as route_actions
from fieldvisit.actions.auth import issue_token
from fieldvisit.choices import CheckInKind, RouteStatus
from fieldvisit.models import (
    Address,
    Alert,
    Case,
    CheckIn,
    Creditor,
    LedgerEntry,
    Route,
    Stop,
    Team,
    Visit,
)
from tests import factories, images

# --- Time and places -------------------------------------------------------------------------

# Tests of a visit run on a pinned clock (the root conftest's ``clock``): Tuesday 2026-11-24,
# 09:30 in Shanghai, inside the allowed visit hours (08:00-21:00 local).
ZONE = zoneinfo.ZoneInfo("Asia/Shanghai")
START = dt.datetime(2026, 11, 24, 9, 30, tzinfo=ZONE)
DAY = START.date()
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"

# Offsets in degrees of latitude near 31.23 N: one degree is about 111.2 km.
M_PER_DEG_LAT = 111_195.0


def north(metres: float) -> float:
    """Degrees of latitude for ``metres`` northwards."""
    return metres / M_PER_DEG_LAT


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(ZONE).isoformat()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- The named actors -----------------------------------------------------------------------


def today() -> dt.date:
    return dt.datetime.now(ZONE).date()


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=ZONE)


@dataclass
class World:
    agent_a: User
    agent_b: User
    outsider: User
    outsider_partner: User
    planner: User
    supervisor: User
    legal: User
    auditor: User
    team: Team
    other_team: Team
    creditor: Creditor
    cases: list[Case]
    addresses: list[Address]
    route: Route
    duty: User | None = None  # second on the team's on-call chain, after the supervisor
    lead: User | None = None  # the team lead (客户负责人) of the team
    risk: User | None = None  # a risk manager (of no team until a test names them)
    clients: dict[str, APIClient] = field(default_factory=dict)

    def client(self, user: User, device: str = "phone-1") -> APIClient:
        """An API client signed in as ``user`` on ``device`` (one token per device)."""
        key = f"{user.username}/{device}"
        if key not in self.clients:
            token, _ = issue_token(user, device, f"{user.username}'s {device}", "android")
            api = APIClient()
            api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
            api.token = token  # type: ignore[attr-defined]
            self.clients[key] = api
        return self.clients[key]


def approve(route: Route, planner: User, supervisor: User) -> Route:
    """Submit the evening before and approve, as the procedure requires."""
    evening = at(route.date - dt.timedelta(days=1), 18)
    route_actions.submit_route(route.pk, planner, now=evening)
    return route_actions.decide_route(
        route.pk, supervisor, True, "ok", now=evening + dt.timedelta(minutes=5)
    )


# --- Problems (RFC 9457) ---------------------------------------------------------------------

PROBLEM_JSON = "application/problem+json"
PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    """A problem answer of ``status`` and ``code``, with every member RFC 9457 asks for."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM_JSON
    data = response.json()
    assert data.keys() >= PROBLEM_KEYS
    assert (data["status"], data["code"]) == (status, code), data
    assert data["type"] == f"urn:problem:fieldvisit:{code}"
    assert data["title"]
    assert data["detail"]
    return data


# --- The ledger ------------------------------------------------------------------------------


def ledger_kinds() -> list[str]:
    return list(LedgerEntry.objects.order_by("index").values_list("kind", flat=True))


def ledger_entries(kind: str) -> list[dict[str, Any]]:
    return [
        json.loads(bytes(raw))
        for raw in LedgerEntry.objects.filter(kind=kind)
        .order_by("index")
        .values_list("entry_bytes", flat=True)
    ]


# --- Check-ins -------------------------------------------------------------------------------

CHECKINS_URL = "/api/v1/checkins/"
PANIC_URL = "/api/v1/alerts/panic/"
ARRIVE, LEAVE, DEPART, PERIODIC, RETURN = (
    CheckInKind.ARRIVE,
    CheckInKind.LEAVE,
    CheckInKind.DEPART,
    CheckInKind.PERIODIC,
    CheckInKind.RETURN,
)


def minutes(n: float) -> dt.timedelta:
    return dt.timedelta(minutes=n)


def parse(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def panic_body(**fields: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "lat": 31.2311,
        "lon": 121.4742,
        "captured_at": iso(timezone.now()),
        "note": "Threatened at the door",
        **fields,
    }


class Nothing:
    """Snapshot of what a refused check-in must not leave behind."""

    def __init__(self) -> None:
        self.ledger = LedgerEntry.objects.count()
        self.checkins = CheckIn.objects.count()
        self.alerts = Alert.objects.count()
        self.visits = dict(Visit.objects.values_list("pk", "status"))
        self.routes = dict(Route.objects.values_list("pk", "status"))

    def assert_unchanged(self) -> None:
        assert CheckIn.objects.count() == self.checkins
        assert LedgerEntry.objects.count() == self.ledger
        assert Alert.objects.count() == self.alerts
        assert dict(Visit.objects.values_list("pk", "status")) == self.visits
        assert dict(Route.objects.values_list("pk", "status")) == self.routes
        assert mail.outbox == []


def visit_url(visit_id: Any) -> str:
    return f"/api/v1/visits/{visit_id}/"


def stops_of(route: Route) -> list[Stop]:
    return list(route.stops.select_related("address", "visit").order_by("sequence"))


def body(
    world: Any,
    kind: str,
    stop: Stop | None = None,
    *,
    ago: dt.timedelta = dt.timedelta(0),
    captured_at: dt.datetime | None = None,
    dlat: float = 0.0,
    lat: float | None = None,
    lon: float | None = None,
    accuracy_m: float = 10.0,
    route: Any = None,
    **extra: Any,
) -> dict[str, Any]:
    """A check-in body: at the stop's address (``dlat`` metres north of it) by default."""
    if lat is None:
        base = stop.address if stop is not None else world.addresses[0]
        lat, lon = base.lat + north(dlat), base.lon
    payload: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "route": str((route or world.route).pk),
        "kind": kind,
        "lat": lat,
        "lon": lon,
        "accuracy_m": accuracy_m,
        "captured_at": iso(captured_at or (timezone.now() - ago)),
    }
    if stop is not None:
        payload["stop"] = str(stop.pk)
    payload.update(extra)
    return payload


def post(client: Any, payload: dict[str, Any]) -> Any:
    return client.post(CHECKINS_URL, payload, format="json")


def arrive_pair(world: Any, stop: Stop) -> None:
    """Agents A and B arrive together at ``stop``, each on their own phone."""
    a = post(world.client(world.agent_a, "phone-a"), body(world, CheckInKind.ARRIVE, stop))
    b = post(world.client(world.agent_b, "phone-b"), body(world, CheckInKind.ARRIVE, stop, dlat=20))
    assert (a.status_code, b.status_code) == (201, 201), (a.content, b.content)
    assert b.json()["visit"]["status"] == "open"


def leave_pair(world: Any, stop: Any) -> None:
    """Agents A and B leave ``stop``: the visit closes."""
    for user, device in ((world.agent_a, "phone-a"), (world.agent_b, "phone-b")):
        response = post(world.client(user, device), body(world, CheckInKind.LEAVE, stop))
        assert response.status_code == 201, response.content
    assert Visit.objects.get(stop=stop).status == "closed"


def earlier_visit_same_case(world: Any, case_index: int, began: dt.datetime) -> Visit:
    """Another team already began a visit to the same case's debtor at ``began``.

    The case was handled by the other team earlier (say, before a reassignment): an
    executed route of theirs for the same day, with one stop for the case and an arrival.
    """
    case = world.cases[case_index]
    address: Address = world.addresses[case_index]
    other = factories.route(world.other_team, world.planner, began.astimezone(ZONE).date(), [])
    Route.objects.filter(pk=other.pk).update(
        status=RouteStatus.COMPLETED,
        decided_by=world.supervisor,
        decided_at=began - dt.timedelta(hours=12),
    )
    stop = Stop.objects.create(route=other, sequence=1, case=case, address=address)
    visit = Visit.objects.create(stop=stop)
    CheckIn.objects.create(
        id=uuid.uuid4(),
        route=other,
        stop=stop,
        visit=visit,
        agent=world.outsider,
        device_id="outsider-phone",
        kind=CheckInKind.ARRIVE,
        lat=address.lat,
        lon=address.lon,
        accuracy_m=10,
        captured_at=began,
        received_at=began,
        request_sha256="0" * 64,
    )
    return visit


def first_arrival(visit: Visit) -> dt.datetime:
    return (
        CheckIn.objects.filter(visit=visit, kind=CheckInKind.ARRIVE)
        .order_by("captured_at")
        .first()
        .captured_at
    )


def both_leave(world: Any, visit: Visit, clock: Any, at: dt.datetime) -> None:
    """Agents A and B leave at ``at`` (the clock is moved past it first)."""
    clock.shift(at - timezone.now() + dt.timedelta(seconds=5))
    stop = visit.stop
    for user, phone in ((world.agent_a, "phone-a"), (world.agent_b, "phone-b")):
        response = post(world.client(user, phone), body(world, "leave", stop, captured_at=at))
        assert response.status_code == 201, response.content
    visit.refresh_from_db()
    assert visit.status == "closed"


# --- Photos and receipts ---------------------------------------------------------------------


def photos_url(visit: Visit | Any) -> str:
    return f"/api/v1/visits/{getattr(visit, 'pk', visit)}/photos/"


def receipts_url(visit: Visit | Any) -> str:
    return f"/api/v1/visits/{getattr(visit, 'pk', visit)}/receipts/"


def photo_form(data: bytes, *, name: str = "photo.jpg", **fields: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "kind": "door",
        "captured_at": iso(timezone.now()),
        "sha256": sha(data),
        "partner_in_frame": "true",
        "file": SimpleUploadedFile(name, data, content_type="application/octet-stream"),
    }
    form.update(fields)
    return form


def post_form(client: Any, url: str, form: dict[str, Any]) -> Any:
    return client.post(url, form, format="multipart")


SIGNATURE = images.png(colour="white")
SLIP = images.jpeg(colour="ivory")


def receipt_form(
    visit: Visit,
    outcome: str,
    *,
    signature: bytes | None = None,
    photo: bytes | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A receipt for ``visit``'s own notice; files get their SHA-256 declared. A field given
    as ``None`` is left out of the form."""
    form: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "notice_number": visit.stop.notice_number,
        "outcome": outcome,
        "captured_at": iso(timezone.now()),
        "lat": visit.stop.address.lat,
        "lon": visit.stop.address.lon,
    }
    if signature is not None:
        form["signature"] = SimpleUploadedFile("signature.png", signature, "image/png")
        form["signature_sha256"] = sha(signature)
    if photo is not None:
        form["photo"] = SimpleUploadedFile("slip.jpg", photo, "image/jpeg")
        form["photo_sha256"] = sha(photo)
    form.update(fields)
    return {key: value for key, value in form.items() if value is not None}


def signed(visit: Visit, outcome: str = "signed_by_debtor", **fields: Any) -> dict[str, Any]:
    """A receipt signed by the debtor, unless told otherwise."""
    return receipt_form(
        visit,
        outcome,
        signature=fields.pop("signature", SIGNATURE),
        signer_name=fields.pop("signer_name", "Zhang San"),
        **fields,
    )


# --- Evidence storage ------------------------------------------------------------------------


def evidence_root() -> Path:
    return Path(settings.STORAGES["evidence"]["OPTIONS"]["location"])


def stored_files() -> dict[str, bytes]:
    """Every file in evidence storage, by its path relative to the root."""
    root = evidence_root()
    if not root.exists():
        return {}
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def final_path(sha256: str) -> str:
    return f"sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}"


# --- Recordings over tus ---------------------------------------------------------------------

UPLOADS_URL = "/api/v1/uploads/"
TUS = {"HTTP_TUS_RESUMABLE": "1.0.0"}
OFFSET_STREAM = "application/offset+octet-stream"
AUDIO = CORPUS / "audio"
_MANIFEST = json.loads((AUDIO / "manifest.json").read_text())
AUDIO_FILES: list[dict[str, Any]] = _MANIFEST["files"] if isinstance(_MANIFEST, dict) else _MANIFEST
BY_NAME: dict[str, dict[str, Any]] = {entry["file"]: entry for entry in AUDIO_FILES}


def audio(name: str) -> bytes:
    return (AUDIO / name).read_bytes()


def segments_of(recording_name: str) -> list[dict[str, Any]]:
    """The manifest's ``recording.segments`` for a generated recording (e.g. visit-1002)."""
    for entry in AUDIO_FILES:
        recording = entry.get("recording")
        if recording and recording["id"] == recording_name:
            return recording["segments"]
    raise LookupError(recording_name)


def recording_url(visit: Any) -> str:
    return f"/api/v1/visits/{getattr(visit, 'pk', visit)}/recording/"


def assert_tus_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    """A problem (RFC 9457) that still speaks tus: ``Tus-Resumable`` on every answer."""
    problem = assert_problem(response, status, code)
    assert response["Tus-Resumable"] == "1.0.0"
    return problem


def metadata(**values: Any) -> str:
    return ",".join(
        f"{k} {base64.b64encode(str(v).encode()).decode()}" if v != "" else k
        for k, v in values.items()
    )


def segment_meta(
    visit: Visit,
    data: bytes,
    *,
    recording: Any = None,
    segment: int = 0,
    started_at: dt.datetime | None = None,
    prev_sha256: str = "",
    filename: str = "segment.m4a",
    **extra: Any,
) -> dict[str, Any]:
    """The ``Upload-Metadata`` values of a segment (a dict, in the order clients send them)."""
    values: dict[str, Any] = {
        "visit": visit.pk,
        "recording": recording or uuid.uuid4(),
        "segment": segment,
        "started_at": iso(started_at or timezone.now()),
        "sha256": sha(data),
        "prev_sha256": prev_sha256,
        "filename": filename,
        "content_type": "audio/mp4",
    }
    values.update(extra)
    return values


def create(
    client: Any,
    length: int | str,
    meta: dict[str, Any] | str | None,
    body: bytes = b"",
    **headers: Any,
) -> Any:
    """tus creation (with ``body``: creation-with-upload)."""
    extra = dict(TUS)
    extra["HTTP_UPLOAD_LENGTH"] = str(length)
    if meta is not None:
        extra["HTTP_UPLOAD_METADATA"] = meta if isinstance(meta, str) else metadata(**meta)
    extra.update(headers)
    content_type = OFFSET_STREAM if body else "application/octet-stream"
    return client.generic("POST", UPLOADS_URL, body, content_type=content_type, **extra)


def path_of(location: str) -> str:
    """The path of an absolute ``Location`` (the test client is happy with either)."""
    return urlsplit(location).path


def created(client: Any, data: bytes, meta: dict[str, Any], body: bytes = b"") -> str:
    """Create an upload for ``data``; its URL path."""
    response = create(client, len(data), meta, body)
    assert response.status_code == 201, response.content
    return path_of(response["Location"])


def patch(
    client: Any,
    url: str,
    data: bytes,
    offset: int,
    *,
    content_type: str = OFFSET_STREAM,
    **headers: Any,
) -> Any:
    extra = {**TUS, "HTTP_UPLOAD_OFFSET": str(offset), **headers}
    return client.generic("PATCH", url, data, content_type=content_type, **extra)


def head(client: Any, url: str, **headers: Any) -> Any:
    return client.generic("HEAD", url, **{**TUS, **headers})


def send(client: Any, url: str, data: bytes, chunk: int | None = None, start: int = 0) -> Any:
    """PATCH ``data[start:]`` in chunks; the last answer (the earlier ones must be 204)."""
    chunk = chunk or len(data)
    offset = start
    while True:
        piece = data[offset : offset + chunk]
        response = patch(client, url, piece, offset)
        if offset + len(piece) >= len(data):
            return response
        assert response.status_code == 204, response.content
        assert int(response["Upload-Offset"]) == offset + len(piece)
        offset += len(piece)


def upload_segment(client: Any, visit: Visit, data: bytes, chunk: int | None = None, **meta: Any):
    """A whole segment through creation and PATCHes: (upload URL, final answer)."""
    url = created(client, data, segment_meta(visit, data, **meta))
    return url, send(client, url, data, chunk)


def upload_id(url: str) -> uuid.UUID:
    return uuid.UUID(url.rstrip("/").rsplit("/", 1)[-1])


def partial_path(url_or_id: Any) -> Path:
    upload = url_or_id if isinstance(url_or_id, uuid.UUID) else upload_id(str(url_or_id))
    return Path(settings.TUS_UPLOAD_DIR) / f"{upload}.part"


# --- Visit reports ---------------------------------------------------------------------------

ATTESTATIONS = {
    "did_not_enter_residence": True,
    "no_cash_accepted": True,
    "identity_shown": True,
    "no_third_party_disclosure": True,
    "opening_statement_recorded": True,
    "closing_statement_recorded": True,
    # The items added from the seeds (rules.conduct.ADDED): optional for older phones.
    "identity_verified_first": True,
    "no_disturbance": True,
    "no_physical_contact": True,
    "no_threats_or_insults": True,
    "no_impersonation": True,
    "no_unauthorised_reduction": True,
}


def report_url(visit: Visit | Any) -> str:
    return f"/api/v1/visits/{getattr(visit, 'pk', visit)}/report/"


def cosign_url(visit: Visit | Any) -> str:
    return f"/api/v1/visits/{getattr(visit, 'pk', visit)}/report/cosign/"


def report_body(**fields: Any) -> dict[str, Any]:
    """A report of a visit that met the debtor, every attestation given, no promise."""
    attestations = {**ATTESTATIONS, **fields.pop("attestations", {})}
    payload: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "outcome": "met_debtor",
        "promise_to_pay": None,
        "notes": "Met the debtor at the door; notice delivered.",
        "attestations": attestations,
    }
    payload.update(fields)
    return payload


def file_report(client: Any, visit: Any, payload: dict[str, Any] | None = None) -> Any:
    return client.post(report_url(visit), payload or report_body(), format="json")


def cosign(client: Any, visit: Any, payload: dict[str, Any] | None = None) -> Any:
    return client.post(cosign_url(visit), payload or {}, format="json")


# --- Compliance ------------------------------------------------------------------------------

# A visit's compliance checks, in the order every verdict lists them (API.md "Visits").
COMPLIANCE_CHECKS = [
    "route_approved",
    "two_agents_together",
    "within_hours",
    "geofence",
    "frequency_cap",
    "approved_order",
    "checkins_on_time",
    "door_photo",
    "recording",
    "notice_outcome",
    "report_cosigned",
]


# --- Bundles ---------------------------------------------------------------------------------


def download(client: Any, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, getattr(response, "content", b"")[:500]
    assert response["Content-Type"] == "application/zip"
    return b"".join(response.streaming_content)


def unzip(content: bytes, into: Path) -> Path:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert archive.testzip() is None
        archive.extractall(into)
        (top,) = {name.split("/")[0] for name in archive.namelist()}
    return into / top
