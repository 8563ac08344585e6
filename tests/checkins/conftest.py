"""Check-in tests run on a pinned clock: Tuesday 2026-11-24, 09:30 in Shanghai.

The fixture world's route is for ``today()`` and visits are allowed 08:00-21:00 local, so an
unpinned clock would make these tests depend on the hour they run at. The clock is set
before the world is built (the overriding ``world`` below asks for it first) and keeps
ticking, so every check-in's ``captured_at`` is taken relative to ``timezone.now()``.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
import zoneinfo
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from fieldvisit.choices import CheckInKind, RouteStatus
from fieldvisit.models import Address, CheckIn, LedgerEntry, Route, Stop, Visit
from tests import factories

ZONE = zoneinfo.ZoneInfo("Asia/Shanghai")
START = dt.datetime(2026, 11, 24, 9, 30, tzinfo=ZONE)
DAY = START.date()

CHECKINS_URL = "/api/v1/checkins/"
PANIC_URL = "/api/v1/alerts/panic/"
PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}

# Offsets in degrees of latitude near 31.23 N: one degree is about 111.2 km.
M_PER_DEG_LAT = 111_195.0


def north(metres: float) -> float:
    """Degrees of latitude for ``metres`` northwards."""
    return metres / M_PER_DEG_LAT


@pytest.fixture(autouse=True)
def clock() -> Any:
    with time_machine.travel(START, tick=True) as traveller:
        yield traveller


@pytest.fixture
def world(clock: Any, world: Any) -> Any:
    """The shared fixture world, built only once the clock is pinned."""
    assert world.route.date == DAY
    return world


def visit_url(visit_id: Any) -> str:
    return f"/api/v1/visits/{visit_id}/"


def stops_of(route: Route) -> list[Stop]:
    return list(route.stops.select_related("address", "visit").order_by("sequence"))


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(ZONE).isoformat()


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


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    data = response.json()
    assert data.keys() >= PROBLEM_KEYS
    assert (data["status"], data["code"]) == (status, code), data
    return data


def ledger_kinds() -> list[str]:
    return list(LedgerEntry.objects.order_by("index").values_list("kind", flat=True))


def ledger_entries(kind: str) -> list[dict[str, Any]]:
    return [
        json.loads(bytes(raw))
        for raw in LedgerEntry.objects.filter(kind=kind)
        .order_by("index")
        .values_list("entry_bytes", flat=True)
    ]


def arrive_pair(world: Any, stop: Stop) -> None:
    """Agents A and B arrive together at ``stop``, each on their own phone."""
    a = post(world.client(world.agent_a, "phone-a"), body(world, CheckInKind.ARRIVE, stop))
    b = post(world.client(world.agent_b, "phone-b"), body(world, CheckInKind.ARRIVE, stop, dlat=20))
    assert (a.status_code, b.status_code) == (201, 201), (a.content, b.content)
    assert b.json()["visit"]["status"] == "open"


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
