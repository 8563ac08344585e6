"""POST /api/v1/alerts/panic/: a panic reaches the team's supervisor and risk manager at
once, from a phone online or offline, whatever its clock says (DESIGN rule 5).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from fieldvisit.choices import (
    AlertKind,
    AlertSeverity,
    CheckInKind,
)
from fieldvisit.models import Alert, LedgerEntry
from tests.helpers import (
    PANIC_URL,
    ZONE,
    assert_problem,
    body,
    iso,
    ledger_entries,
    ledger_kinds,
    panic_body,
    post,
)

# --- Raising a panic ---------------------------------------------------------------------


ALERT_KEYS = {"id", "kind", "severity", "severity_name", "status", "raised_at", "discreet"}


def test_panic_is_raised_at_once_to_the_first_person_on_call(
    world, phone_a, django_capture_on_commit_callbacks
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
    assert answer["severity_name"] == "critical"
    assert answer["discreet"] is True

    alert = Alert.objects.get(pk=payload["id"])
    assert (alert.kind, alert.severity) == (AlertKind.PANIC, AlertSeverity.CRITICAL)
    assert (alert.team, alert.raised_by) == (world.team, world.agent_a)
    assert alert.route_id == world.route.pk  # the team's route under way
    assert alert.discreet is True
    assert (alert.lat, alert.lon) == (payload["lat"], payload["lon"])
    assert alert.captured_at == dt.datetime.fromisoformat(payload["captured_at"])
    assert alert.detail == "Threatened at the door"

    [message] = mail.outbox  # the supervisor, first on the team's chain
    assert message.to == ["supervisor@example.com"]
    assert "Panic" in message.subject
    assert "Critical" in message.subject
    assert "31.23110, 121.47420" in message.body
    assert "/alerts/ack/" in message.body  # one tap to acknowledge
    assert (alert.step, alert.next_step_at) == (1, alert.raised_at + dt.timedelta(minutes=3))

    assert ledger_kinds()[-2:] == ["alert.raised", "alert.delivery"]
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


# --- Panics from phones offline or with a wrong clock ------------------------------------


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
