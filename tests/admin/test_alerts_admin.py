"""The supervisors' alerts page: ordered, scoped, live, handled with a note."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from fieldvisit.actions import alerts
from fieldvisit.choices import AlertKind, AlertSeverity, AlertStatus, Role
from fieldvisit.models import Alert, LedgerEntry, Team
from tests import factories
from tests.helpers import World

pytestmark = pytest.mark.django_db


def raise_(world: World, kind: str, team: Team | None = None, **fields: Any) -> Alert:
    with transaction.atomic():
        return alerts.raise_alert(
            kind=kind,
            team=team or world.team,
            detail=f"{kind} for the test",
            actor=alerts.SYSTEM,
            **fields,
        )


def test_open_and_most_severe_first(world: World, client: Any) -> None:
    split = raise_(world, AlertKind.TEAM_SPLIT)
    panic = raise_(world, AlertKind.PANIC, lat=31.2, lon=121.4)
    old_panic = raise_(world, AlertKind.PANIC)
    alerts.resolve(old_panic.id, world.supervisor, "False alarm, confirmed by phone.")
    rule = raise_(world, AlertKind.RULE_BREAK)
    client.force_login(world.supervisor)
    page = client.get("/admin/fieldvisit/alert/")
    assert page.status_code == 200
    shown = [a.id for a in page.context["cl"].result_list]
    assert shown == [panic.id, split.id, rule.id, old_panic.id]
    assert b"Critical" in page.content
    assert b"fieldvisit/alert/feed/" in page.content  # the page polls for changes


def test_supervisors_see_only_their_teams(world: World, client: Any) -> None:
    other_supervisor = factories.user("other_supervisor", Role.SUPERVISOR)
    world.other_team.supervisor = other_supervisor
    world.other_team.save()
    mine = raise_(world, AlertKind.PANIC)
    theirs = raise_(world, AlertKind.PANIC, team=world.other_team)
    client.force_login(world.supervisor)
    assert [a.id for a in client.get("/admin/fieldvisit/alert/").context["cl"].result_list] == [
        mine.id
    ]
    assert client.get(f"/admin/fieldvisit/alert/{theirs.id}/change/").status_code == 302
    client.force_login(world.auditor)
    seen = {a.id for a in client.get("/admin/fieldvisit/alert/").context["cl"].result_list}
    assert seen == {mine.id, theirs.id}


def test_acknowledge_then_resolve_with_a_note(world: World, client: Any) -> None:
    alert = raise_(world, AlertKind.PANIC)
    client.force_login(world.supervisor)
    change = client.get(f"/admin/fieldvisit/alert/{alert.id}/change/")
    assert b"Acknowledge or resolve" in change.content
    url = f"/admin/fieldvisit/alert/{alert.id}/handle/"
    empty = client.post(url, {"note": "  ", "_acknowledge": "1"})
    assert empty.status_code == 200  # the form asks for the note again
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN
    client.post(url, {"note": "Called agent A; they are safe.", "_acknowledge": "1"})
    alert.refresh_from_db()
    assert (alert.status, alert.acknowledged_by) == (AlertStatus.ACKNOWLEDGED, world.supervisor)
    client.post(url, {"note": "Team back at the office.", "_resolve": "1"})
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED
    assert alert.resolution_note == "Team back at the office."
    kinds = list(
        LedgerEntry.objects.filter(subject=f"alert:{alert.id}").values_list("kind", flat=True)
    )
    assert kinds == ["alert.raised", "alert.acknowledged", "alert.resolved"]
    again = client.get(f"/admin/fieldvisit/alert/{alert.id}/change/")
    assert b"Acknowledge or resolve" not in again.content


def test_auditors_read_but_do_not_handle(world: World, client: Any) -> None:
    alert = raise_(world, AlertKind.PANIC)
    client.force_login(world.auditor)
    assert (
        b"Acknowledge or resolve"
        not in client.get(f"/admin/fieldvisit/alert/{alert.id}/change/").content
    )
    client.post(f"/admin/fieldvisit/alert/{alert.id}/handle/", {"note": "x", "_resolve": "1"})
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN


def test_the_feed_changes_when_an_alert_is_raised_or_handled(world: World, client: Any) -> None:
    client.force_login(world.supervisor)
    first = client.get("/admin/fieldvisit/alert/feed/").json()
    assert first["open"] == 0
    alert = raise_(world, AlertKind.PANIC)
    second = client.get("/admin/fieldvisit/alert/feed/").json()
    assert second["open"] == 1 and second["signature"] != first["signature"]
    alerts.acknowledge(alert.id, world.supervisor, "On it.")
    third = client.get("/admin/fieldvisit/alert/feed/").json()
    assert third["open"] == 0 and third["signature"] != second["signature"]


def test_alerts_page_query_count_does_not_grow(
    world: World, client: Any, django_assert_max_num_queries: Any
) -> None:
    client.force_login(world.supervisor)
    for _ in range(3):
        raise_(world, AlertKind.PANIC, raised_by=world.agent_a)
    # session, user, roles (scoping), count, results with team and raiser, filter choices
    # (team list), and the admin's own bookkeeping: a fixed number whatever the row count.
    with django_assert_max_num_queries(12):
        assert client.get("/admin/fieldvisit/alert/").status_code == 200
    for _ in range(20):
        raise_(world, AlertKind.TEAM_SPLIT, severity=AlertSeverity.LOW, raised_by=world.agent_b)
    with django_assert_max_num_queries(12):
        assert client.get("/admin/fieldvisit/alert/").status_code == 200
