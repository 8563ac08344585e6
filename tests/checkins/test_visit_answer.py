"""GET /api/v1/visits/{id}/: the visit as the agents and their supervisor see it, with its
check-ins, evidence and compliance verdict (API.md "Visits").
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import transaction
from django.utils import timezone

from fieldvisit.actions import alerts as alert_actions
from fieldvisit.choices import AlertKind, CheckInKind, RouteStatus
from fieldvisit.geo import local_text
from fieldvisit.ledger import store as ledger
from tests.helpers import (
    COMPLIANCE_CHECKS,
    arrive_pair,
    assert_problem,
    body,
    post,
    stops_of,
    visit_url,
)

VISIT_KEYS = {
    "id",
    "stop",
    "status",
    "opened_at",
    "closed_at",
    "checkins",
    "photos",
    "recording",
    "receipts",
    "report",
    "compliance",
    "review",  # the latest review, with the verdict it was made on (not in API.md)
}


def test_a_planned_visit_as_the_agent_sees_it(world, phone_a):
    stop = stops_of(world.route)[0]

    response = phone_a.get(visit_url(stop.visit.pk))

    assert response.status_code == 200, response.content
    visit = response.json()
    assert set(visit) == VISIT_KEYS
    assert visit["id"] == str(stop.visit.pk)
    assert visit["stop"] == str(stop.pk)
    assert (visit["status"], visit["opened_at"], visit["closed_at"]) == ("planned", None, None)
    assert visit["checkins"] == []
    assert visit["review"] is None
    compliance = visit["compliance"]
    assert set(compliance) == {"ok", "checks"}
    assert list(compliance["checks"]) == COMPLIANCE_CHECKS
    for check in compliance["checks"].values():
        assert set(check) == {"ok", "detail"}
        assert isinstance(check["detail"], str)
        assert check["detail"]
    checks = compliance["checks"]
    assert checks["route_approved"]["ok"] is True
    assert checks["two_agents_together"]["ok"] is False
    assert checks["within_hours"] == {"ok": False, "detail": "No arrival recorded yet."}
    assert checks["checkins_on_time"] == {"ok": False, "detail": "Not visited yet."}
    assert compliance["ok"] is False


def test_an_open_visit_passes_every_check_on_its_check_ins(world, phone_a):
    stop = stops_of(world.route)[0]
    arrive_pair(world, stop)

    visit = phone_a.get(visit_url(stop.visit.pk)).json()

    assert visit["status"] == "open"
    assert visit["opened_at"] is not None
    assert [c["agent"] for c in visit["checkins"]] == ["agent_a", "agent_b"]
    assert [c["device_id"] for c in visit["checkins"]] == ["phone-a", "phone-b"]
    first = visit["checkins"][0]
    assert {"id", "kind", "lat", "lon", "captured_at", "received_at", "flags"} <= set(first)
    checks = visit["compliance"]["checks"]
    evidence = {"door_photo", "recording", "notice_outcome", "report_cosigned"}  # none yet
    assert {name: check["ok"] for name, check in checks.items()} == {
        name: name not in evidence for name in COMPLIANCE_CHECKS
    }
    assert checks["door_photo"]["detail"].startswith("No photo of the door")
    assert visit["compliance"]["ok"] is False


def test_a_missed_check_in_during_the_visit_fails_checkins_on_time(world, phone_a, clock):
    """Judged from each agent's check-ins, not from the watchdog's alerts (none is run
    here): B's report due 30 minutes after the arrival never comes, A's comes in time."""
    stop = stops_of(world.route)[0]
    arrived = timezone.now()
    arrive_pair(world, stop)
    zone = stop.address.zone_name

    def on_time() -> dict[str, object]:
        return phone_a.get(visit_url(stop.visit.pk)).json()["compliance"]["checks"][
            "checkins_on_time"
        ]

    clock.move_to(arrived + dt.timedelta(minutes=35))  # due at +30, within the 10 min grace
    assert post(phone_a, body(world, CheckInKind.PERIODIC)).status_code == 201
    assert on_time() == {"ok": True, "detail": "No check-in missed during the visit."}

    clock.move_to(arrived + dt.timedelta(minutes=45))  # B's grace is over; A's next is at +65
    due = local_text(arrived + dt.timedelta(minutes=30), zone)
    assert on_time() == {
        "ok": False,
        "detail": f"1 check-in(s) missed during the visit: agent_b missed the check-in due at "
        f"{due}.",
    }
    # An old-style team alert, or none at all, changes nothing: the check-ins decide.
    with transaction.atomic():
        alert_actions.raise_alert(
            kind=AlertKind.MISSED_CHECKIN,
            team=world.team,
            detail="No report for 40 minutes.",
            actor=ledger.actor_for(system="test"),
            route=world.route,
            due_at=arrived + dt.timedelta(minutes=50),
        )
    assert on_time()["detail"].startswith("1 check-in(s) missed")

    clock.move_to(arrived + dt.timedelta(minutes=46))  # B reports, late: still a miss
    phone_b = world.client(world.agent_b, "phone-b")
    assert post(phone_b, body(world, CheckInKind.PERIODIC)).status_code == 201
    late = local_text(arrived + dt.timedelta(minutes=46), zone)
    assert on_time()["detail"].endswith(f"due at {due} (reported {late}).")


def test_a_route_not_approved_fails_route_approved(world, phone_a):
    stop = stops_of(world.route)[0]
    type(world.route).objects.filter(pk=world.route.pk).update(status=RouteStatus.REJECTED)

    checks = phone_a.get(visit_url(stop.visit.pk)).json()["compliance"]["checks"]

    assert checks["route_approved"] == {"ok": False, "detail": "The route is rejected."}


def test_the_teams_supervisor_sees_the_visit(world):
    stop = stops_of(world.route)[0]

    response = world.client(world.supervisor).get(visit_url(stop.visit.pk))

    assert response.status_code == 200
    assert response.json()["id"] == str(stop.visit.pk)


@pytest.mark.parametrize("who", ["outsider", "outsider_partner"])
def test_another_teams_visit_is_not_found(world, who):
    stop = stops_of(world.route)[0]

    response = world.client(getattr(world, who)).get(visit_url(stop.visit.pk))

    assert_problem(response, 404, "not_found")


def test_an_unknown_visit_is_not_found(world, phone_a):
    assert_problem(phone_a.get(visit_url(uuid.uuid4())), 404, "not_found")
    assert_problem(phone_a.get("/api/v1/visits/not-a-uuid/"), 404, "not_found")
