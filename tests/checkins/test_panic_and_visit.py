"""POST /api/v1/alerts/panic/, GET /api/v1/visits/{id}/, and people handling alerts.

Alerts are acknowledged and resolved by people with a note, never silently cleared, and
never deleted (DESIGN rule 5 and 11).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from django.core import mail
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from fieldvisit.actions import alerts as alert_actions
from fieldvisit.choices import (
    AlertKind,
    AlertSeverity,
    AlertStatus,
    CheckInKind,
    Role,
    RouteStatus,
)
from fieldvisit.db.append_only import AppendOnlyViolation
from fieldvisit.ledger import store as ledger
from fieldvisit.models import Alert, LedgerEntry
from fieldvisit.rules import RuleViolation
from tests import factories
from tests.helpers import (
    PANIC_URL,
    ZONE,
    arrive_pair,
    assert_problem,
    body,
    iso,
    ledger_entries,
    ledger_kinds,
    post,
    stops_of,
    visit_url,
)

ALERT_KEYS = {"id", "kind", "severity", "status", "raised_at", "discreet"}
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
CHECKS = {
    "route_approved",
    "two_agents_together",
    "within_hours",
    "geofence",
    "frequency_cap",
    "checkins_on_time",
    "door_photo",
    "recording",
    "notice_outcome",
    "report_cosigned",
}


def panic_body(**fields: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "lat": 31.2311,
        "lon": 121.4742,
        "captured_at": iso(timezone.now()),
        "note": "Threatened at the door",
        **fields,
    }


@pytest.fixture
def phone_a(world: Any) -> Any:
    return world.client(world.agent_a, "phone-a")


@pytest.fixture
def risk_manager(world: Any) -> Any:
    """A risk manager of their own, so that "both are told" is visible in the outbox."""
    manager = factories.user("risk_manager", Role.SUPERVISOR, email="risk@example.com")
    world.supervisor.email = "supervisor@example.com"
    world.supervisor.save(update_fields=["email"])
    world.team.risk_manager = manager
    world.team.save(update_fields=["risk_manager"])
    return manager


# --- panic -------------------------------------------------------------------------------


def test_panic_is_raised_at_once_to_supervisor_and_risk_manager(
    world, phone_a, risk_manager, django_capture_on_commit_callbacks
):
    assert post(phone_a, body(world, CheckInKind.DEPART)).status_code == 201
    payload = panic_body(discreet=True)

    with django_capture_on_commit_callbacks(execute=True):
        response = phone_a.post(PANIC_URL, payload, format="json")

    assert response.status_code == 201, response.content
    answer = response.json()
    assert set(answer) == ALERT_KEYS
    assert answer["id"] == payload["id"]
    assert (answer["kind"], answer["severity"], answer["status"]) == ("panic", 40, "open")
    assert answer["discreet"] is True

    alert = Alert.objects.get(pk=payload["id"])
    assert (alert.kind, alert.severity) == (AlertKind.PANIC, AlertSeverity.CRITICAL)
    assert (alert.team, alert.raised_by) == (world.team, world.agent_a)
    assert alert.route_id == world.route.pk  # the team's route under way
    assert alert.discreet is True
    assert (alert.lat, alert.lon) == (payload["lat"], payload["lon"])
    assert alert.captured_at == dt.datetime.fromisoformat(payload["captured_at"])
    assert alert.detail == "Threatened at the door"

    [message] = mail.outbox
    assert message.to == ["risk@example.com", "supervisor@example.com"]
    assert "Panic" in message.subject
    assert "Critical" in message.subject
    assert "31.23110,121.47420" in message.body

    assert ledger_kinds()[-1] == "alert.raised"
    [entry] = ledger_entries("alert.raised")
    assert entry["subject"] == f"alert:{alert.pk}"
    assert entry["actor"]["device"] == "phone-a"
    assert entry["data"]["alert_kind"] == "panic"
    assert entry["data"]["discreet"] is True
    assert entry["data"]["team"] == "Huangpu"


def test_panic_without_a_route_under_way_and_not_discreet(world, phone_a):
    response = phone_a.post(PANIC_URL, panic_body(note=""), format="json")

    assert response.status_code == 201, response.content
    assert response.json()["discreet"] is False
    alert = Alert.objects.get()
    assert alert.route is None
    assert alert.discreet is False
    assert alert.detail  # an empty note still says what happened


def test_panic_is_idempotent(world, phone_a):
    payload = panic_body()
    first = phone_a.post(PANIC_URL, payload, format="json")
    assert first.status_code == 201

    again = phone_a.post(PANIC_URL, payload, format="json")
    conflict = phone_a.post(PANIC_URL, {**payload, "note": "something else"}, format="json")

    assert again.status_code == 200, again.content
    assert again.json() == first.json()
    assert_problem(conflict, 409, "id_conflict")
    assert Alert.objects.count() == 1
    assert ledger_kinds().count("alert.raised") == 1


def test_the_outsiders_panic_belongs_to_their_own_team(world, django_capture_on_commit_callbacks):
    world.supervisor.email = "supervisor@example.com"
    world.supervisor.save(update_fields=["email"])
    client = world.client(world.outsider)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(PANIC_URL, panic_body(), format="json")

    assert response.status_code == 201, response.content
    alert = Alert.objects.get()
    assert alert.team == world.other_team
    assert alert.raised_by == world.outsider
    assert mail.outbox == []  # Huangpu's supervisor is not told; Pudong has nobody to tell


@pytest.mark.parametrize("who", ["legal", "supervisor", "planner"])
def test_people_without_a_team_cannot_raise_panic(world, who):
    client = world.client(getattr(world, who))
    before = LedgerEntry.objects.count()

    response = client.post(PANIC_URL, panic_body(), format="json")

    assert_problem(response, 403, "not_team_member")
    assert Alert.objects.count() == 0
    assert LedgerEntry.objects.count() == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"lat": 91}, "lat"),
        ({"lon": -181}, "lon"),
        ({"lat": "abc"}, "lat"),
        ({"lon": None}, "lon"),
        ({"captured_at": "2026-11-24T09:30:00"}, "captured_at"),
        ({"id": "panic"}, "id"),
        ({"discreet": "maybe"}, "discreet"),
    ],
)
def test_bad_panic_input_is_a_validation_error(world, phone_a, change, field):
    before = LedgerEntry.objects.count()

    response = phone_a.post(PANIC_URL, panic_body(**change), format="json")

    problem = assert_problem(response, 422, "validation_error")
    assert field in problem["errors"]
    assert Alert.objects.count() == 0
    assert LedgerEntry.objects.count() == before


# --- the visit ---------------------------------------------------------------------------


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
    assert set(compliance["checks"]) == CHECKS
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
        name: name not in evidence for name in CHECKS
    }
    assert checks["door_photo"]["detail"].startswith("No photo of the door")
    assert visit["compliance"]["ok"] is False


def test_a_missed_check_in_during_the_visit_fails_checkins_on_time(world, phone_a, clock):
    stop = stops_of(world.route)[0]
    arrived = timezone.now()
    arrive_pair(world, stop)

    def missed(due: dt.datetime) -> None:
        with transaction.atomic():
            alert_actions.raise_alert(
                kind=AlertKind.MISSED_CHECKIN,
                team=world.team,
                detail="No report for 40 minutes.",
                actor=ledger.actor_for(system="test"),
                route=world.route,
                due_at=due,
            )

    missed(arrived - dt.timedelta(minutes=15))  # before the visit: says nothing about it
    checks = phone_a.get(visit_url(stop.visit.pk)).json()["compliance"]["checks"]
    assert checks["checkins_on_time"] == {
        "ok": True,
        "detail": "No check-in missed during the visit.",
    }

    clock.move_to(arrived + dt.timedelta(minutes=45))
    missed(arrived + dt.timedelta(minutes=30))  # while the visit was under way
    checks = phone_a.get(visit_url(stop.visit.pk)).json()["compliance"]["checks"]
    assert checks["checkins_on_time"] == {
        "ok": False,
        "detail": "1 check-in(s) missed during the visit.",
    }


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


# --- acknowledging and resolving alerts -------------------------------------------------


@pytest.fixture
def alert(world: Any, phone_a: Any) -> Alert:
    response = phone_a.post(PANIC_URL, panic_body(), format="json")
    assert response.status_code == 201
    return Alert.objects.get(pk=response.json()["id"])


@pytest.mark.parametrize("note", ["", "   \n"])
def test_handling_an_alert_needs_a_note(world, alert, note):
    for handle in (alert_actions.acknowledge, alert_actions.resolve):
        with pytest.raises(RuleViolation) as raised:
            handle(alert.pk, world.supervisor, note)
        assert raised.value.code == "note_required"
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN


@pytest.mark.parametrize("who", ["agent_a", "legal", "planner", "auditor"])
def test_handling_an_alert_needs_the_permission(world, alert, who):
    before = LedgerEntry.objects.count()
    for handle in (alert_actions.acknowledge, alert_actions.resolve):
        with pytest.raises(RuleViolation) as raised:
            handle(alert.pk, getattr(world, who), "on it")
        assert (raised.value.code, raised.value.status) == ("permission_denied", 403)
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN
    assert LedgerEntry.objects.count() == before


def test_acknowledge_then_resolve(world, clock, alert):
    handled = alert_actions.acknowledge(alert.pk, world.supervisor, "  Called the agent  ")

    assert handled.status == AlertStatus.ACKNOWLEDGED
    alert.refresh_from_db()
    assert alert.status == AlertStatus.ACKNOWLEDGED
    assert alert.acknowledged_by == world.supervisor
    assert alert.acknowledged_at is not None
    assert alert.acknowledge_note == "Called the agent"
    [entry] = ledger_entries("alert.acknowledged")
    assert entry["subject"] == f"alert:{alert.pk}"
    assert entry["data"]["note"] == "Called the agent"
    assert entry["actor"]["username"] == "supervisor"

    with pytest.raises(RuleViolation) as raised:
        alert_actions.acknowledge(alert.pk, world.supervisor, "again")
    assert raised.value.code == "alert_acknowledged"

    clock.shift(dt.timedelta(minutes=20))
    alert_actions.resolve(alert.pk, world.supervisor, "Agent safe, back at the office")

    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED
    assert alert.resolved_by == world.supervisor
    assert alert.resolved_at > alert.acknowledged_at
    assert alert.resolution_note == "Agent safe, back at the office"
    assert alert.acknowledge_note == "Called the agent"  # the first note is kept
    [entry] = ledger_entries("alert.resolved")
    assert entry["data"]["note"] == "Agent safe, back at the office"
    assert ledger_kinds()[-2:] == ["alert.acknowledged", "alert.resolved"]

    before = LedgerEntry.objects.count()
    for handle in (alert_actions.resolve, alert_actions.acknowledge):
        with pytest.raises(RuleViolation) as raised:
            handle(alert.pk, world.supervisor, "once more")
        assert raised.value.code == "alert_resolved"
    assert LedgerEntry.objects.count() == before


def test_resolving_an_open_alert_acknowledges_it_too(world, alert):
    alert_actions.resolve(alert.pk, world.supervisor, "False alarm, confirmed by phone")

    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED
    assert alert.acknowledged_by == alert.resolved_by == world.supervisor
    assert alert.acknowledged_at == alert.resolved_at
    assert ledger_kinds()[-1] == "alert.resolved"
    assert "alert.acknowledged" not in ledger_kinds()


# --- alerts never disappear --------------------------------------------------------------


def test_the_orm_refuses_to_delete_an_alert(world, alert):
    with pytest.raises(AppendOnlyViolation):
        alert.delete()
    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.filter(pk=alert.pk).delete()
    assert Alert.objects.filter(pk=alert.pk).exists()


def test_the_database_refuses_to_delete_an_alert(world, alert):
    table = Alert._meta.db_table
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE id = %s", [alert.pk.hex])
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table}")
    assert Alert.objects.filter(pk=alert.pk).exists()


def test_an_alerts_status_may_change_in_place(world, alert):
    """Alerts are undeletable, not append-only: their status moves on in place (the
    database only insists that an acknowledgement says who and when)."""
    table = Alert._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s, acknowledged_by_id = %s, acknowledged_at = %s "
            "WHERE id = %s",
            [
                AlertStatus.ACKNOWLEDGED,
                world.supervisor.pk,
                connection.ops.adapt_datetimefield_value(timezone.now()),
                alert.pk.hex,
            ],
        )

    alert.refresh_from_db()
    assert alert.status == AlertStatus.ACKNOWLEDGED
    assert alert.acknowledged_by == world.supervisor


def test_a_panic_may_come_from_offline_too(world, phone_a):
    """A panic queued offline is still raised: danger is never refused."""
    captured = dt.datetime(2026, 11, 24, 9, 0, tzinfo=ZONE)

    response = phone_a.post(PANIC_URL, panic_body(captured_at=iso(captured)), format="json")

    assert response.status_code == 201
    assert Alert.objects.get().captured_at == captured


@pytest.mark.parametrize("ahead", [dt.timedelta(minutes=10), dt.timedelta(hours=3)])
def test_a_panic_from_a_phone_whose_clock_is_ahead_is_still_raised(world, phone_a, ahead):
    """Agents can raise a panic at any time (DESIGN rule 5): a wrong phone clock must not
    turn an agent in danger into a validation error. The device time is kept as sent."""
    captured = timezone.now() + ahead

    response = phone_a.post(PANIC_URL, panic_body(captured_at=iso(captured)), format="json")

    assert response.status_code == 201, response.content
    alert = Alert.objects.get()
    assert alert.kind == AlertKind.PANIC
    assert alert.captured_at == captured
