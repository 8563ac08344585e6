"""A check-in and a recording segment for one visit at the same moment, on PostgreSQL.

Both writers lock the visit before the ledger, and neither takes a lock that a foreign-key
check of the other's rows would wait for (FOR NO KEY UPDATE), so neither ever waits for the
other while holding the ledger's lock. The load bench (``bench/load.py``) found both orders
deadlocking under load: a check-in that appended to the ledger and then opened the visit,
and a check-in whose commit checked its foreign key to a visit locked FOR UPDATE by a segment
waiting for the ledger.

The segment's completion is held just after it has locked the visit, until the check-in is
either done or waiting for a lock; then it goes on to the ledger.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import connection, connections

from fieldvisit.actions import recordings
from fieldvisit.choices import CheckInKind
from fieldvisit.models import AudioSegment, CheckIn, Visit
from tests.helpers import audio, body, created, post, segment_meta, send, stops_of

pytestmark = pytest.mark.django_db(transaction=True)


def someone_waits_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        # Inside a transaction the activity view is a snapshot taken at its first read.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0] > 0


def race(monkeypatch: pytest.MonkeyPatch, agent: Any, visit: Visit, checkin: Any) -> dict[str, Any]:
    """Complete a segment and run ``checkin`` while the segment holds the visit's lock."""
    data = audio("recording_seg0.m4a")
    url = created(agent, data, segment_meta(visit, data))
    holding, checked_in = threading.Event(), threading.Event()
    answers: dict[str, Any] = {}
    join = recordings.check_can_join

    def held(visit_: Visit, meta: Any) -> None:
        holding.set()
        deadline = time.monotonic() + 10
        while not (checked_in.is_set() or someone_waits_for_a_lock()):
            assert time.monotonic() < deadline, "the check-in neither finished nor waited"
            time.sleep(0.02)
        join(visit_, meta)

    monkeypatch.setattr(recordings, "check_can_join", held)

    def segment() -> None:
        try:
            answers["segment"] = send(agent, url, data)
        finally:
            connections.close_all()

    def check_in() -> None:
        try:
            assert holding.wait(10)
            answers["checkin"] = checkin()
        finally:
            checked_in.set()
            connections.close_all()

    threads = [threading.Thread(target=segment), threading.Thread(target=check_in)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return answers


@pytest.fixture(autouse=True)
def _postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks between connections are a PostgreSQL test (set DATABASE_URL)")


def test_the_arrival_that_opens_the_visit_during_a_segment(world, agent, monkeypatch):
    stop = stops_of(world.route)[0]
    first = post(agent, body(world, CheckInKind.ARRIVE, stop))
    assert first.status_code == 201, first.content
    partner = world.client(world.agent_b, "phone-b")

    answers = race(
        monkeypatch,
        agent,
        stop.visit,
        lambda: post(partner, body(world, CheckInKind.ARRIVE, stop, dlat=20)),
    )

    assert answers["segment"].status_code == 204, answers["segment"].content
    assert answers["checkin"].status_code == 201, answers["checkin"].content
    assert Visit.objects.get(pk=stop.visit.pk).status == "open"
    assert AudioSegment.objects.filter(recording__visit=stop.visit).count() == 1


def test_a_periodic_report_during_a_segment(world, agent, visit, monkeypatch):
    partner = world.client(world.agent_b, "phone-b")

    answers = race(
        monkeypatch, agent, visit, lambda: post(partner, body(world, CheckInKind.PERIODIC))
    )

    assert answers["segment"].status_code == 204, answers["segment"].content
    assert answers["checkin"].status_code == 201, answers["checkin"].content
    assert CheckIn.objects.filter(visit=visit, kind=CheckInKind.PERIODIC).count() == 1
    assert AudioSegment.objects.filter(recording__visit=visit).count() == 1
