"""The two-person visit (DESIGN rules 1 and 2): it opens when two agents of the team arrive
together, each on their own phone, and closes when both have left.
"""

from __future__ import annotations

import uuid

from django.utils import timezone

from fieldvisit.actions import checkins as actions
from fieldvisit.choices import RouteStatus, StopStatus, VisitStatus
from fieldvisit.models import AgentClock, Stop, Visit
from tests.helpers import (
    ARRIVE,
    DEPART,
    LEAVE,
    PERIODIC,
    RETURN,
    arrive_pair,
    assert_problem,
    body,
    ledger_entries,
    ledger_kinds,
    minutes,
    parse,
    post,
    visit_url,
)

# --- Opening and closing -----------------------------------------------------------------


def test_a_visit_closes_when_the_last_agent_left_whatever_order_the_leaves_arrive_in(
    world, phone_a, phone_b, stops
):
    """B left first, but B's leave was queued offline and reached us after A's: the visit
    closed when A, the last to go, left, not at the time of the check-in that came last."""
    stop = stops[0]
    assert post(phone_a, body(world, DEPART, ago=minutes(40))).status_code == 201
    assert post(phone_b, body(world, DEPART, ago=minutes(40))).status_code == 201
    assert post(phone_a, body(world, ARRIVE, stop, ago=minutes(30))).status_code == 201
    assert post(phone_b, body(world, ARRIVE, stop, ago=minutes(29))).status_code == 201
    b_leaves = body(world, LEAVE, stop, ago=minutes(12))  # queued on B's phone
    a_leaves = body(world, LEAVE, stop, ago=minutes(2))
    assert post(phone_a, a_leaves).json()["visit"]["status"] == "open"
    assert post(phone_b, b_leaves).json()["visit"]["status"] == "closed"
    visit = Visit.objects.get(pk=stop.visit.pk)
    assert visit.closed_at == parse(a_leaves["captured_at"])
    (closed,) = ledger_entries("visit.closed")
    assert parse(closed["data"]["closed_at"]) == parse(a_leaves["captured_at"])


def test_a_visit_opens_with_both_agents_and_closes_when_both_leave(world, phone_a, phone_b, stops):
    stop = stops[0]
    visit = stop.visit
    assert post(phone_a, body(world, DEPART)).status_code == 201
    assert post(phone_b, body(world, DEPART)).status_code == 201
    assert visit.status == VisitStatus.PLANNED

    a_arrives = body(world, ARRIVE, stop, ago=minutes(3))
    answer = post(phone_a, a_arrives).json()
    assert answer["visit"] == {"id": str(visit.pk), "status": "arriving"}
    visit.refresh_from_db()
    assert (visit.status, visit.opened_at) == (VisitStatus.ARRIVING, None)

    b_arrives = body(world, ARRIVE, stop, dlat=60)  # 60 m away, 3 minutes later
    answer = post(phone_b, b_arrives).json()
    assert answer["visit"] == {"id": str(visit.pk), "status": "open"}
    visit.refresh_from_db()
    assert visit.status == VisitStatus.OPEN
    assert visit.opened_at == parse(b_arrives["captured_at"])  # when the second one arrived

    answer = post(phone_a, body(world, LEAVE, stop)).json()
    assert answer["visit"]["status"] == "open"  # B is still there
    answer = post(phone_b, body(world, LEAVE, stop)).json()
    assert answer["visit"]["status"] == "closed"
    visit.refresh_from_db()
    assert visit.status == VisitStatus.CLOSED
    assert visit.closed_at is not None
    stop.refresh_from_db()
    assert stop.status == StopStatus.VISITED
    world.route.refresh_from_db()
    assert world.route.status == RouteStatus.IN_PROGRESS

    answer = post(phone_a, body(world, RETURN)).json()
    assert answer["next_due_at"] is None  # A is back: A's clock stops, while B is still out
    assert AgentClock.objects.get(route=world.route, agent=world.agent_b).next_due_at
    world.route.refresh_from_db()
    assert world.route.status == RouteStatus.IN_PROGRESS
    last = body(world, RETURN)
    answer = post(phone_b, last).json()
    assert answer["next_due_at"] is None
    world.route.refresh_from_db()
    assert world.route.status == RouteStatus.COMPLETED

    detail = phone_a.get(visit_url(visit.pk)).json()
    assert detail["status"] == "closed"
    assert [c["kind"] for c in detail["checkins"]] == ["arrive", "arrive", "leave", "leave"]
    assert [c["agent"] for c in detail["checkins"]] == ["agent_a", "agent_b"] * 2
    assert detail["compliance"]["checks"]["two_agents_together"]["ok"] is True

    # A completed route takes no more check-ins.
    late = post(phone_a, body(world, PERIODIC))
    assert_problem(late, 422, "route_not_approved")


def test_the_same_agent_on_a_second_device_does_not_open_the_visit(world, phone_a, stops):
    other_phone = world.client(world.agent_a, "phone-a2")

    assert post(phone_a, body(world, ARRIVE, stops[0])).status_code == 201
    response = post(other_phone, body(world, ARRIVE, stops[0], dlat=10))

    assert response.status_code == 201, response.content
    assert response.json()["visit"]["status"] == "arriving"
    stops[0].visit.refresh_from_db()
    assert stops[0].visit.opened_at is None
    assert "visit.opened" not in ledger_kinds()


def test_two_agents_on_one_device_do_not_open_the_visit(world, phone_a, stops):
    b_on_a_phone = world.client(world.agent_b, "phone-a")

    assert post(phone_a, body(world, ARRIVE, stops[0])).status_code == 201
    response = post(b_on_a_phone, body(world, ARRIVE, stops[0]))

    assert response.json()["visit"]["status"] == "arriving"


def test_the_partner_arriving_eleven_minutes_later_does_not_open_it(
    world, clock, phone_a, phone_b, stops
):
    assert post(phone_a, body(world, ARRIVE, stops[0])).status_code == 201
    clock.shift(minutes(11))

    response = post(phone_b, body(world, ARRIVE, stops[0]))

    assert response.status_code == 201, response.content
    assert response.json()["visit"]["status"] == "arriving"
    # A reports arriving again now, next to B: that pair opens the visit.
    again = post(phone_a, body(world, ARRIVE, stops[0], dlat=5))
    assert again.json()["visit"]["status"] == "open"


def test_the_partner_arriving_150_m_away_does_not_open_it(world, phone_a, phone_b, stops):
    assert post(phone_a, body(world, ARRIVE, stops[0])).status_code == 201

    # 150 m north of A: inside the 150 m geofence (GPS accuracy 10 m), outside the pair's 100 m.
    response = post(phone_b, body(world, ARRIVE, stops[0], dlat=150))

    assert response.status_code == 201, response.content
    assert response.json()["flags"] == []
    assert response.json()["visit"]["status"] == "arriving"


# --- Concurrent check-ins ----------------------------------------------------------------


def test_the_visit_is_read_again_under_the_route_lock(world, phone_a, stops):
    """The view reads the stop and its visit before record_checkin locks the route: a
    check-in that committed in between (here B's, opening the visit) must be seen, not
    repeated. A stale "planned" visit would be opened a second time."""
    stale = Stop.objects.select_related("case__creditor", "address", "visit").get(pk=stops[0].pk)
    arrive_pair(world, stops[0])
    assert stale.visit.status == VisitStatus.PLANNED
    visit = Visit.objects.get(pk=stale.visit.pk)
    captured = timezone.now()

    outcome = actions.record_checkin(
        actions.CheckInData(
            id=uuid.uuid4(),
            route=world.route,
            stop=stale,
            kind=ARRIVE,
            lat=stops[0].address.lat,
            lon=stops[0].address.lon,
            accuracy_m=10,
            captured_at=captured,
        ),
        world.agent_a,
        "phone-a",
        "0" * 64,
    )

    assert outcome.visit.status == VisitStatus.OPEN
    assert len(ledger_entries("visit.opened")) == 1
    assert Visit.objects.get(pk=visit.pk).opened_at == visit.opened_at
