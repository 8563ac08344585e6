"""The missed check-in watchdog under time travel: raised once, e-mailed to the first person
on call, escalated along the chain once per escalation delay."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.db import connection, connections

from fieldvisit import jobs, tasks
from fieldvisit.choices import AlertKind, RouteStatus
from fieldvisit.models import AgentClock, Alert, LedgerEntry
from tests.helpers import World

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2026, 11, 24)


def local(hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime.combine(DAY, dt.time(hour, minute, second), tzinfo=SHANGHAI)


@pytest.fixture
def clock() -> Any:
    with time_machine.travel(local(8, 55), tick=False) as traveller:
        yield traveller


@pytest.fixture
def world(clock: Any, world: World) -> World:  # the clock first, then the fixture world
    return world


def report(world: World, clock: Any, kind: str, when: dt.datetime, agent: str = "agent_a") -> None:
    """The phone reports online: sent at the moment it is captured."""
    clock.move_to(when)
    user = getattr(world, agent)
    api = world.client(user, device=f"{agent}-phone")
    stop = world.route.stops.order_by("sequence").first()
    body = {
        "id": str(uuid.uuid4()),
        "route": str(world.route.id),
        "kind": kind,
        "lat": stop.address.lat,
        "lon": stop.address.lon,
        "accuracy_m": 8,
        "captured_at": when.isoformat(),
    }
    response = api.post("/api/v1/checkins/", body, format="json")
    assert response.status_code == 201, response.json()


def missed() -> list[Alert]:
    return list(Alert.objects.filter(kind=AlertKind.AGENT_SILENT).order_by("due_at"))


def run_watchdog(capture: Any) -> int:
    """Run the job and its after-commit work (the e-mails) as production would."""
    with capture(execute=True):
        return jobs.watchdog()


def run_escalation(capture: Any) -> int:
    with capture(execute=True):
        return jobs.escalate_alerts()


@pytest.mark.django_db
def test_missed_checkin_is_raised_once_then_escalated_once(
    world: World, clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    watchdog = lambda: run_watchdog(django_capture_on_commit_callbacks)  # noqa: E731
    escalation = lambda: run_escalation(django_capture_on_commit_callbacks)  # noqa: E731
    report(world, clock, "depart", local(9, 0))
    world.route.refresh_from_db()
    assert world.route.status == RouteStatus.IN_PROGRESS

    clock.move_to(local(9, 39, 59))  # due 09:30, grace 10 minutes: still in time
    assert watchdog() == 0
    assert missed() == []

    clock.move_to(local(9, 41))
    assert watchdog() == 1
    assert watchdog() == 0  # idempotent
    [alert] = missed()
    assert alert.due_at == local(9, 30)
    assert "due at 09:30 CST" in alert.detail  # the team's own clock, zone named
    assert alert.step == 1  # the first person on the team's on-call chain
    assert [m.to for m in mail.outbox] == [["supervisor@example.com"]]

    clock.move_to(local(9, 55))  # escalation 15 minutes after due + grace: not yet
    assert watchdog() == 0
    assert escalation() == 0
    clock.move_to(local(9, 56, 1))
    assert watchdog() == 0
    assert escalation() == 1
    assert escalation() == 0
    alert.refresh_from_db()
    assert alert.step == 2
    assert alert.escalated_at == local(9, 56, 1)
    assert [m.to for m in mail.outbox] == [["supervisor@example.com"], ["duty_manager@example.com"]]
    assert "Escalated (step 2)" in mail.outbox[1].body
    # Each later step waits the route's escalation delay too (15 minutes), as the first did.
    assert alert.next_step_at == local(10, 11, 1)
    kinds = list(
        LedgerEntry.objects.filter(subject=f"alert:{alert.id}").values_list("kind", flat=True)
    )
    assert kinds == ["alert.raised", "alert.delivery", "alert.escalated", "alert.delivery"]


@pytest.mark.django_db
def test_a_report_moves_the_due_time_and_return_stops_the_clock(world: World, clock: Any) -> None:
    report(world, clock, "depart", local(9, 0))
    report(world, clock, "periodic", local(9, 25))
    clock.move_to(local(9, 50))
    assert jobs.watchdog() == 0  # due 09:55 now
    clock.move_to(local(10, 6))
    assert jobs.watchdog() == 1
    assert missed()[0].due_at == local(9, 55)
    report(world, clock, "return", local(10, 7))
    world.route.refresh_from_db()
    assert world.route.status == RouteStatus.COMPLETED
    clock.move_to(local(12, 0))
    assert jobs.watchdog() == 0


@pytest.mark.django_db
def test_a_resolved_alert_is_not_escalated(world: World, clock: Any) -> None:
    from fieldvisit.actions.alerts import resolve

    report(world, clock, "depart", local(9, 0))
    clock.move_to(local(9, 41))
    jobs.watchdog()
    resolve(missed()[0].id, world.supervisor, "Called the team: phone battery was flat.")
    clock.move_to(local(10, 0))
    assert jobs.watchdog() == 0
    assert jobs.escalate_alerts() == 0
    assert missed()[0].escalated_at is None


@pytest.mark.django_db
def test_the_celery_task_runs_the_same_job(world: World, clock: Any, settings: Any) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    report(world, clock, "depart", local(9, 0))
    clock.move_to(local(9, 45))
    assert tasks.watchdog.apply().get() == 1
    assert len(missed()) == 1
    assert tasks.checkpoint.apply().get() == LedgerEntry.objects.count()
    assert settings.CELERY_BEAT_SCHEDULE["watchdog"]["task"] == tasks.watchdog.name


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_raise_and_escalate_once(
    world: World, clock: Any, settings: Any
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks between connections are a PostgreSQL test (set DATABASE_URL)")
    settings.ALERT_DISPATCH = "job"  # notices leave only through the (concurrent) job
    report(world, clock, "depart", local(9, 0))
    clock.move_to(local(10, 0))  # past due and grace: raise

    def at_once(job: Any) -> list[int]:
        start = threading.Barrier(4)
        results: list[int] = []
        errors: list[BaseException] = []

        def worker() -> None:
            try:
                start.wait()
                results.append(job())
            except BaseException as exc:
                errors.append(exc)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors, errors
        return sorted(results)

    assert at_once(jobs.watchdog) == [0, 0, 0, 1]
    clock.move_to(local(10, 16))  # 15 minutes on: the next person on the chain, once
    assert at_once(jobs.escalate_alerts) == [0, 0, 0, 1]
    [alert] = missed()
    assert alert.step == 2
    assert LedgerEntry.objects.filter(kind="alert.escalated").count() == 1
    # Four senders at once deliver each notice once.
    assert sum(at_once(jobs.deliver_alerts)) == 2
    assert LedgerEntry.objects.filter(kind="alert.delivery").count() == 2


@pytest.mark.django_db
def test_each_agent_reports_on_their_own_clock(world: World, clock: Any) -> None:
    """A reports every 25 minutes; B departs and falls silent. A's reports do not cover B:
    B's silence is raised and escalated, naming B, while A is never alerted, and each phone
    is told its own due time."""
    report(world, clock, "depart", local(9, 0), agent="agent_a")
    report(world, clock, "depart", local(9, 0, 30), agent="agent_b")
    report(world, clock, "periodic", local(9, 25), agent="agent_a")
    a_due = AgentClock.objects.get(route=world.route, agent=world.agent_a).next_due_at
    b_due = AgentClock.objects.get(route=world.route, agent=world.agent_b).next_due_at
    assert (a_due, b_due) == (local(9, 55), local(9, 30, 30))

    clock.move_to(local(9, 41))  # B: due 09:30:30 + 10 minutes' grace is over
    assert jobs.watchdog() == 1
    [alert] = missed()
    assert (alert.agent, alert.due_at, alert.step) == (world.agent_b, local(9, 30, 30), 1)
    assert alert.detail.startswith("agent_b has not reported since 09:00 CST")

    report(world, clock, "periodic", local(9, 50), agent="agent_a")
    clock.move_to(local(9, 56))  # B still silent: escalated; A (due 10:20) in time
    assert jobs.watchdog() == 0
    assert jobs.escalate_alerts() == 1
    alert.refresh_from_db()
    assert alert.step == 2
    report(world, clock, "periodic", local(10, 15), agent="agent_a")
    clock.move_to(local(10, 30))
    assert jobs.watchdog() == 0
    assert [a.agent for a in missed()] == [world.agent_b]

    # B reports at last: B's clock moves on, and a new silence would be a new alert.
    report(world, clock, "periodic", local(10, 31), agent="agent_b")
    assert AgentClock.objects.get(agent=world.agent_b).next_due_at == local(11, 1)
    clock.move_to(local(11, 12))
    # Both silent now: A (since 10:15) and B (since 10:31) raised.
    assert jobs.watchdog() == 2
    assert [a.agent.username for a in missed()] == ["agent_b", "agent_a", "agent_b"]


@pytest.mark.django_db
def test_the_watchdog_reads_only_the_clocks_it_has_work_on(
    world: World, clock: Any, django_assert_max_num_queries: Any
) -> None:
    """Nothing overdue: two queries (silent agents, silent phones), however many routes are
    under way; the escalation and delivery jobs one each."""
    report(world, clock, "depart", local(9, 0))
    clock.move_to(local(9, 20))
    with django_assert_max_num_queries(2):
        assert jobs.watchdog() == 0
    with django_assert_max_num_queries(1):
        assert jobs.escalate_alerts() == 0
    with django_assert_max_num_queries(1):
        assert jobs.deliver_alerts() == 0
