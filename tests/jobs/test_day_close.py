"""The day closes (issue 20, item 8; seeds 外访流程 (6)-(7)): by the strictest creditor's
deadline after the day's last leave (two hours by default, never after 23:00 at the team's
place), every visit that began has its report filed and co-signed and its recording uploaded,
and the team has returned; otherwise the supervisor is alerted, once per route."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import pytest

from fieldvisit import jobs
from fieldvisit.choices import AlertKind, CheckInKind
from fieldvisit.models import Alert, CheckIn, Route
from fieldvisit.rules.day_close import VisitClose, close_deadline, day_close_problems
from tests.bundles.conftest import evidenced_visit  # noqa: F401 - a fixture
from tests.helpers import World, arrive_pair, body, leave_pair, post, stops_of

pytestmark = pytest.mark.django_db

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
HOURS = dt.timedelta(hours=2)


def test_the_deadline_is_two_hours_after_the_last_leave_but_never_after_23_00() -> None:
    day = dt.date(2026, 11, 24)
    afternoon = dt.datetime(2026, 11, 24, 15, 0, tzinfo=SHANGHAI)
    assert close_deadline(afternoon, HOURS, "Asia/Shanghai", day) == afternoon + HOURS
    evening = dt.datetime(2026, 11, 24, 22, 0, tzinfo=SHANGHAI)
    assert close_deadline(evening, HOURS, "Asia/Shanghai", day) == dt.datetime(
        2026, 11, 24, 23, 0, tzinfo=SHANGHAI
    )
    # A leave after 23:00 (a visit run late): the day should already be closed.
    late = dt.datetime(2026, 11, 24, 23, 20, tzinfo=SHANGHAI)
    assert close_deadline(late, HOURS, "Asia/Shanghai", day) == late


def test_what_is_missing_is_named() -> None:
    assert day_close_problems([VisitClose(1, True, True)], []) == []
    missing = [str(p) for p in day_close_problems([VisitClose(2, False, False)], ["B", "A"])]
    assert missing == [
        "stop 2: report not filed and co-signed",
        "stop 2: recording not uploaded",
        "not returned: A, B",
    ]


@pytest.fixture
def world(clock: Any, world: World) -> World:  # the clock first, then the fixture world
    return world


def day_alerts() -> list[Alert]:
    return list(Alert.objects.filter(kind=AlertKind.DAY_NOT_CLOSED))


def test_a_day_left_open_raises_one_alert_after_the_deadline(world: World, clock: Any) -> None:
    phone_a = world.client(world.agent_a, "phone-a")
    assert post(phone_a, body(world, CheckInKind.DEPART)).status_code == 201
    stop = stops_of(world.route)[0]
    arrive_pair(world, stop)
    leave_pair(world, stop)
    last_leave = CheckIn.objects.filter(kind=CheckInKind.LEAVE).latest("captured_at").captured_at
    deadline = min(
        last_leave + HOURS,
        dt.datetime.combine(world.route.date, dt.time(23), tzinfo=SHANGHAI),
    )
    assert jobs.day_close(deadline - dt.timedelta(minutes=1)) == 0
    assert day_alerts() == []
    # Agent A departed and has not returned: the team is still out, more stops may come; the
    # day is judged once it returns, or at 23:00.
    assert jobs.day_close(deadline + dt.timedelta(minutes=1)) == 0
    eleven = dt.datetime.combine(world.route.date, dt.time(23), tzinfo=SHANGHAI)
    assert jobs.day_close(eleven + dt.timedelta(minutes=1)) == 1
    (alert,) = day_alerts()
    assert "stop 1: report not filed and co-signed" in alert.detail
    assert "stop 1: recording not uploaded" in alert.detail
    assert "not returned:" in alert.detail
    assert alert.route_id == world.route.pk
    # Judged once.
    assert jobs.day_close(eleven + dt.timedelta(minutes=10)) == 0
    assert Route.objects.get(pk=world.route.pk).day_close_checked_at is not None


def test_a_creditor_may_ask_for_a_shorter_deadline(world: World) -> None:
    stop = stops_of(world.route)[0]
    arrive_pair(world, stop)
    leave_pair(world, stop)
    world.creditor.day_close_after_min = 30
    world.creditor.save()
    last_leave = CheckIn.objects.filter(kind=CheckInKind.LEAVE).latest("captured_at").captured_at
    assert jobs.day_close(last_leave + dt.timedelta(minutes=31)) == 1


def test_a_day_closed_in_time_raises_nothing(world: World, evidenced_visit: Any) -> None:  # noqa: F811
    last_leave = CheckIn.objects.filter(kind=CheckInKind.LEAVE).latest("captured_at").captured_at
    assert jobs.day_close(last_leave + HOURS + dt.timedelta(minutes=1)) == 0
    assert day_alerts() == []
    assert Route.objects.get(pk=world.route.pk).day_close_checked_at is not None
