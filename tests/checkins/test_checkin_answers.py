"""POST /api/v1/checkins/: what an accepted check-in answers and records (API.md "Check-ins").

The answer's shape, the route put in progress, idempotent retries, the ledger entries, and
the query budget. Agent A checks in from "phone-a" and agent B from "phone-b"; the clock is
pinned to 2026-11-24 09:30 in Shanghai and keeps ticking.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fieldvisit.choices import RouteStatus
from fieldvisit.models import CheckIn, LedgerEntry
from tests.helpers import (
    ARRIVE,
    DEPART,
    LEAVE,
    PERIODIC,
    Nothing,
    arrive_pair,
    assert_problem,
    body,
    ledger_entries,
    ledger_kinds,
    minutes,
    parse,
    post,
)

RESULT_KEYS = {
    "id",
    "kind",
    "received_at",
    "clock_skew_s",
    "flags",
    "visit",
    "next_due_at",
    "remind_at",
}


# --- The answer --------------------------------------------------------------------------


def test_the_answer_has_the_contract_shape(world, phone_a, stops):
    payload = body(world, ARRIVE, stops[0])
    before = timezone.now()

    response = post(phone_a, payload)

    assert response.status_code == 201, response.content
    answer = response.json()
    assert set(answer) == RESULT_KEYS
    assert answer["id"] == payload["id"]
    assert answer["kind"] == "arrive"
    received = parse(answer["received_at"])
    assert received.tzinfo is not None
    assert before <= received <= timezone.now()
    # Online and without sent_at: skew is captured_at minus received_at, a few ms here.
    assert answer["clock_skew_s"] == pytest.approx(0.0, abs=2.0)
    assert answer["flags"] == []
    assert answer["visit"] == {"id": str(stops[0].visit.pk), "status": "arriving"}
    assert answer["next_due_at"] is None  # nobody departed: the route is not under way

    checkin = CheckIn.objects.get(pk=payload["id"])
    assert (checkin.agent, checkin.device_id, checkin.kind) == (world.agent_a, "phone-a", ARRIVE)
    assert checkin.route_id == world.route.pk
    assert (checkin.stop_id, checkin.visit_id) == (stops[0].pk, stops[0].visit.pk)
    assert checkin.captured_at == parse(payload["captured_at"])
    assert checkin.received_at == received
    assert checkin.distance_m == pytest.approx(0.0, abs=0.5)


def test_depart_puts_the_route_in_progress_and_sets_the_next_due_time(world, phone_a, phone_b):
    first = body(world, DEPART, ago=minutes(2))

    response = post(phone_a, first)

    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["visit"] is None
    assert parse(answer["next_due_at"]) == parse(first["captured_at"]) + minutes(30)
    # The phone is told when to remind its agent: two minutes before.
    assert parse(answer["remind_at"]) == parse(answer["next_due_at"]) - minutes(2)
    world.route.refresh_from_db()
    assert world.route.status == RouteStatus.IN_PROGRESS

    second = body(world, DEPART)
    answer = post(phone_b, second).json()
    assert parse(answer["next_due_at"]) == parse(second["captured_at"]) + minutes(30)


# --- The same check-in sent again --------------------------------------------------------


def test_the_same_id_and_body_returns_the_same_answer(world, phone_a, stops):
    payload = body(world, ARRIVE, stops[0])
    first = post(phone_a, payload)
    assert first.status_code == 201

    again = post(phone_a, payload)

    assert again.status_code == 200, again.content
    assert again.json() == first.json()
    assert CheckIn.objects.count() == 1
    assert ledger_kinds().count("checkin.arrive") == 1


def test_the_same_id_with_another_body_is_a_conflict(world, phone_a, phone_b, stops):
    payload = body(world, ARRIVE, stops[0])
    assert post(phone_a, payload).status_code == 201
    nothing = Nothing()

    changed = post(phone_a, {**payload, "lat": payload["lat"] + 0.0001})
    other_agent = post(phone_b, payload)

    assert_problem(changed, 409, "id_conflict")
    assert_problem(other_agent, 409, "id_conflict")
    nothing.assert_unchanged()
    assert CheckIn.objects.get().lat == payload["lat"]


def test_a_retry_with_a_new_sent_at_is_the_same_check_in(world, phone_a):
    """Phones retry freely: sent_at is the moment of sending, new on every retry."""
    payload = body(world, DEPART, sent_at=timezone.now().isoformat())
    first = post(phone_a, payload)
    retry = post(phone_a, {**payload, "sent_at": (timezone.now() + minutes(1)).isoformat()})
    without_stop_key = post(phone_a, {**payload, "stop": None})
    assert (first.status_code, retry.status_code, without_stop_key.status_code) == (201, 200, 200)
    assert CheckIn.objects.count() == 1


# --- The ledger --------------------------------------------------------------------------


def test_every_accepted_check_in_and_the_opening_are_in_the_ledger(world, phone_a, phone_b, stops):
    visit = stops[0].visit
    start = LedgerEntry.objects.count()
    depart = body(world, DEPART)
    a_arrives = body(world, ARRIVE, stops[0])
    b_arrives = body(world, ARRIVE, stops[0], dlat=30, accuracy_m=60)

    for phone, payload in [(phone_a, depart), (phone_a, a_arrives), (phone_b, b_arrives)]:
        assert post(phone, payload).status_code == 201

    assert ledger_kinds()[start:] == [
        "checkin.depart",
        "checkin.arrive",
        "checkin.arrive",
        "visit.opened",
    ]
    [departed] = ledger_entries("checkin.depart")
    assert departed["subject"] == f"route:{world.route.pk}"
    assert departed["actor"] == {
        "type": "user",
        "id": world.agent_a.pk,
        "username": "agent_a",
        "device": "phone-a",
    }
    assert departed["data"]["checkin"] == depart["id"]
    assert departed["data"]["stop"] is None

    first, second = ledger_entries("checkin.arrive")
    assert first["subject"] == second["subject"] == f"visit:{visit.pk}"
    assert second["data"]["checkin"] == b_arrives["id"]
    assert second["data"]["stop"] == str(stops[0].pk)
    assert second["data"]["lat"] == b_arrives["lat"]
    assert second["data"]["accuracy_m"] == 60
    assert second["data"]["flags"] == ["low_accuracy"]
    assert second["actor"]["device"] == "phone-b"

    [opened] = ledger_entries("visit.opened")
    assert opened["subject"] == f"visit:{visit.pk}"
    assert opened["data"]["agents"] == sorted([world.agent_a.pk, world.agent_b.pk])
    assert opened["data"]["devices"] == ["phone-a", "phone-b"]


# --- Query budget ------------------------------------------------------------------------


def test_a_check_in_post_stays_within_its_query_budget(
    world, phone_a, phone_b, stops, django_assert_max_num_queries
):
    post(phone_a, body(world, DEPART))
    post(phone_a, body(world, ARRIVE, stops[0]))
    payload = body(world, ARRIVE, stops[0], dlat=20)

    # B's arrival opens the visit: 22 queries.
    #   authentication and access (4): token (with the profile, team and roles), token
    #     last_used_at, route visible to B, stop with case/creditor/address/visit;
    #   record_checkin (18): savepoint, the route locked and read with its timing, the
    #     agent's clock and any check-in with this id (1), stop status and visit read again
    #     under the lock (2), the visit's check-ins for the pair, visit update, then insert
    #     check-in, the agent's clock, two ledger appends (the check-in's, then visit.opened:
    #     head, the visit chain's head, entry, head update; Merkle nodes once, when an index
    #     completes a subtree), release.
    with django_assert_max_num_queries(22):
        response = post(phone_b, payload)

    assert response.status_code == 201, response.content
    assert response.json()["visit"]["status"] == "open"


# A periodic check-in is the request field teams send most (every agent, every few minutes):
# its statements are pinned one by one. Transaction control (BEGIN/COMMIT, or the test's
# SAVEPOINT/RELEASE) aside:
#   the token, with the user's roles (1); the route locked with its team, read with its
#   timing, the agent's clock, an earlier check-in with this id, the visit under way and
#   the partner's latest position (1); the check-in and the agent's clock, written with the
#   ledger head's lock: one statement on PostgreSQL, three on SQLite; then the entry, the
#   Merkle nodes it completes and the new head, one statement on PostgreSQL, up to three on
#   SQLite; with a visit under way, the visit chain's head (1).
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE", "ROLLBACK")


def periodic_statements(client: Any, world: Any) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = post(client, body(world, PERIODIC))
    assert response.status_code == 201, response.content
    return [
        query["sql"]
        for query in captured.captured_queries
        if not query["sql"].upper().startswith(TRANSACTION_CONTROL)
    ]


def ledger_writes() -> int:
    """The check-in, the clock and the head locked, then the entry, its nodes and the head:
    two statements on PostgreSQL, on SQLite up to 6."""
    return 2 if connection.vendor == "postgresql" else 6


def test_a_periodic_check_in_reads_what_it_needs_in_one_query(world, phone_a, phone_b):
    post(phone_a, body(world, DEPART))
    post(phone_b, body(world, DEPART))
    post(phone_b, body(world, PERIODIC))  # the partner's position, for the split check

    statements = periodic_statements(phone_a, world)

    # token, route state, then the writes: 4 on PostgreSQL.
    assert len(statements) <= 2 + ledger_writes(), "\n".join(statements)


def test_a_periodic_check_in_during_a_visit_adds_only_the_visit_chain_head(
    world, phone_a, phone_b, stops
):
    post(phone_a, body(world, DEPART))
    post(phone_b, body(world, DEPART))
    arrive_pair(world, stops[0])

    statements = periodic_statements(phone_a, world)

    assert len(statements) <= 2 + ledger_writes() + 1, "\n".join(statements)
    [entry] = ledger_entries("checkin.periodic")[-1:]
    assert entry["subject"] == f"visit:{stops[0].visit.pk}"


# --- What runs while the ledger's lock is held ------------------------------------------------

# Every writer of the system waits for the ledger head's lock, from a transaction's first
# append to its COMMIT. An arrival that opens the visit and a leave that closes it read and
# write the visit first; holding the lock they only append: the head, the visit chain's head,
# the entries, nodes and head, and the seal's reading of the visit's segment entries.
LEDGER_TABLES = ("fieldvisit_ledgerhead", "fieldvisit_ledgerentry", "fieldvisit_ledgernode")


def statements_after_the_ledger_lock(client: Any, payload: dict[str, Any]) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = post(client, payload)
    assert response.status_code == 201, response.content
    sql = [q["sql"] for q in captured.captured_queries]
    first = next(n for n, s in enumerate(sql) if "SELECT size, peaks FROM" in s)
    return [s for s in sql[first:] if not s.upper().startswith(TRANSACTION_CONTROL)]


def only_ledger(statements: list[str]) -> list[str]:
    """The statements that touch a table other than the ledger's. The first one may write the
    check-in and the agent's clock: on PostgreSQL they go with the head's lock, in its statement
    (on SQLite they run before it)."""
    written_with_the_lock = ("fieldvisit_checkin", "fieldvisit_agentclock")
    others = []
    for n, statement in enumerate(statements):
        tables = set(re.findall(r'(?:FROM|INTO|UPDATE|JOIN)\s+"?(fieldvisit_\w+)', statement))
        if n == 0:
            tables -= set(written_with_the_lock)
        if tables - set(LEDGER_TABLES):
            others.append(statement)
    return others


def test_opening_and_closing_a_visit_only_append_while_holding_the_ledger_lock(
    world, phone_a, phone_b, stops
):
    post(phone_a, body(world, DEPART))
    post(phone_b, body(world, DEPART))
    assert post(phone_a, body(world, ARRIVE, stops[0])).status_code == 201

    opening = statements_after_the_ledger_lock(phone_b, body(world, ARRIVE, stops[0], dlat=20))
    assert only_ledger(opening) == [], "\n".join(opening)
    assert post(phone_a, body(world, LEAVE, stops[0])).status_code == 201
    closing = statements_after_the_ledger_lock(phone_b, body(world, LEAVE, stops[0]))
    assert only_ledger(closing) == [], "\n".join(closing)

    # The visit's entries still follow the check-in that moved it.
    kinds = ledger_kinds()
    assert kinds[kinds.index("visit.opened") - 1] == "checkin.arrive"
    assert kinds[-3:] == ["checkin.leave", "visit.closed", "visit.sealed"]
