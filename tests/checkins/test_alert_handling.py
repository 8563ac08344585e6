"""People handling alerts: acknowledged and resolved with a note by those allowed to, never
silently cleared, never deleted (DESIGN rules 5 and 11).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from fieldvisit.actions import alerts as alert_actions
from fieldvisit.api.errors import status_for
from fieldvisit.choices import (
    AlertStatus,
)
from fieldvisit.db.append_only import AppendOnlyViolation
from fieldvisit.models import Alert, LedgerEntry
from fieldvisit.rules import RuleViolation
from tests.helpers import (
    PANIC_URL,
    ledger_entries,
    ledger_kinds,
    panic_body,
)

# --- Acknowledging and resolving ---------------------------------------------------------


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
        assert (raised.value.code, status_for(raised.value.code)) == ("permission_denied", 403)
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


# --- Alerts never disappear --------------------------------------------------------------


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
