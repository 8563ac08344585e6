"""``bench/load.py``'s scenario, for one team for a few seconds against a live server, so the
load bench cannot rot: its seeding (routes approved through the actions), the walk (check-ins,
EXIF photos, tus segments, the recording's verdict), the database counts it checks afterwards,
and that an unexpected answer stops the team loudly instead of hanging its partner."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any
from urllib.parse import urlsplit

import pytest
import time_machine
from django.db import connection

from bench import load
from fieldvisit.actions.auth import revoke_token
from fieldvisit.models import AudioSegment, CheckIn, DeviceToken, Photo, Visit

pytestmark = pytest.mark.django_db(transaction=True)
# The in-memory SQLite test database, shared with the live server's threads, locks whole
# tables: the two phones then take turns. PostgreSQL takes them concurrently.
SQLITE = connection.vendor == "sqlite"

ZONE = zoneinfo.ZoneInfo("Asia/Shanghai")
START = dt.datetime(2026, 11, 24, 10, 0, tzinfo=ZONE)
# One stop in nine seconds: 1 s of travel, 1 s WAV segments, a report every 2 s per agent.
QUICK = load.Pace(duration_s=9, periodic_s=2, segment_s=1, photos=2, travel_s=1, stagger_s=0)


@pytest.fixture(autouse=True)
def clock() -> Any:
    """Inside the visit hours in Shanghai, ticking: the scenario schedules by the clock."""
    with time_machine.travel(START, tick=True) as traveller:
        yield traveller


def address(live_server: Any) -> tuple[str, int]:
    url = urlsplit(live_server.url)
    assert url.hostname and url.port
    return url.hostname, url.port


def test_one_team_walks_its_day_without_an_error(live_server: Any) -> None:
    (plan,) = load.seed(teams=1, stops=1)
    stats = load.Stats()

    elapsed = load.run_load([plan], *address(live_server), QUICK, stats, one_at_a_time=SQLITE)

    assert stats.error_count == 0, dict(stats.errors)
    assert elapsed < QUICK.duration_s + 5
    done = {op: len(times) for op, times in stats.times.items()}
    for kind in ("depart", "arrive", "leave", "return"):
        assert done[f"checkin {kind}"] == 2, done
    assert done["checkin periodic"] >= 2
    assert done["photo"] == QUICK.photos
    assert done["tus create"] == done["tus patch segment"] >= 3
    assert (done["recording"], done["visit"]) == (1, 1)
    assert load.database_counts(stats, [plan]) == []

    visit = Visit.objects.get(pk=plan.stops[0].visit_id)
    assert visit.status == "closed" and visit.opened_at is not None
    # The photos carry the stop's position in their EXIF: nothing to flag.
    assert [p.flags for p in Photo.objects.filter(visit=visit)] == [[], []]
    segments = AudioSegment.objects.filter(recording__visit=visit).order_by("index")
    assert [s.index for s in segments] == list(range(done["tus patch segment"]))
    assert all(s.format == "wav" and s.duration_s == 1.0 for s in segments)
    assert not CheckIn.objects.exclude(flags=[]).exists()


def test_an_unexpected_answer_stops_the_team_loudly(live_server: Any) -> None:
    (plan,) = load.seed(teams=1, stops=1)
    lost = DeviceToken.objects.get(device_id=plan.devices[1])
    revoke_token(lost.pk, lost.user, "lost phone")
    stats = load.Stats()

    elapsed = load.run_load([plan], *address(live_server), QUICK, stats, one_at_a_time=SQLITE)

    assert elapsed < 5  # the partner does not wait at the door for a phone that failed
    assert list(stats.errors) == ["checkin depart"]
    (error,) = stats.errors["checkin depart"]
    assert " 401 " in error and "token" in error


@pytest.mark.parametrize(
    ("local", "duration_s", "allowed"),
    [
        (dt.datetime(2026, 11, 24, 7, 59, tzinfo=ZONE), 60, False),
        (dt.datetime(2026, 11, 24, 8, 0, tzinfo=ZONE), 300, True),
        (dt.datetime(2026, 11, 24, 20, 50, tzinfo=ZONE), 300, True),
        (dt.datetime(2026, 11, 24, 20, 54, tzinfo=ZONE), 300, False),
        (dt.datetime(2026, 11, 24, 23, 59, tzinfo=ZONE), 30, False),
    ],
)
def test_the_run_must_fit_the_visit_hours(
    local: dt.datetime, duration_s: float, allowed: bool
) -> None:
    if allowed:
        load.check_visit_hours(local, duration_s)
    else:
        with pytest.raises(SystemExit, match="visits are allowed 08:00-21:00"):
            load.check_visit_hours(local, duration_s)


def test_a_pace_too_fast_for_its_stops_is_refused() -> None:
    with pytest.raises(SystemExit, match="stop"):
        load.Pace(duration_s=30, segment_s=5).check(stops=4)
    load.Pace(duration_s=300, segment_s=5).check(stops=4)
    load.Pace().check(stops=3)  # the bench's defaults
