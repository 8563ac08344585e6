"""POST /api/v1/checkins/: the two-person visit, rule breaks online and offline, flags,
idempotency, bad input and the ledger (API.md "Check-ins"; DESIGN rules 1-5 and 10).

Agent A checks in from "phone-a" and agent B from "phone-b". The clock is pinned to
2026-11-24 09:30 in Shanghai (see conftest) and keeps ticking.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from fieldvisit.actions import checkins as actions
from fieldvisit.choices import AlertKind, CheckInKind, RouteStatus, StopStatus, VisitStatus
from fieldvisit.models import Alert, Case, CheckIn, DeviceToken, LedgerEntry, Route, Stop, Visit
from tests import factories
from tests.helpers import (
    CHECKINS_URL,
    DAY,
    ZONE,
    approve,
    arrive_pair,
    assert_problem,
    body,
    earlier_visit_same_case,
    ledger_entries,
    ledger_kinds,
    post,
    stops_of,
    visit_url,
)

RESULT_KEYS = {"id", "kind", "received_at", "clock_skew_s", "flags", "visit", "next_due_at"}
ARRIVE, LEAVE, DEPART, PERIODIC, RETURN = (
    CheckInKind.ARRIVE,
    CheckInKind.LEAVE,
    CheckInKind.DEPART,
    CheckInKind.PERIODIC,
    CheckInKind.RETURN,
)


def minutes(n: float) -> dt.timedelta:
    return dt.timedelta(minutes=n)


def parse(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


@pytest.fixture
def phone_a(world: Any) -> Any:
    return world.client(world.agent_a, "phone-a")


@pytest.fixture
def phone_b(world: Any) -> Any:
    return world.client(world.agent_b, "phone-b")


@pytest.fixture
def stops(world: Any) -> list[Stop]:
    return stops_of(world.route)


class Nothing:
    """Snapshot of what a refused check-in must not leave behind."""

    def __init__(self) -> None:
        self.ledger = LedgerEntry.objects.count()
        self.checkins = CheckIn.objects.count()
        self.alerts = Alert.objects.count()
        self.visits = dict(Visit.objects.values_list("pk", "status"))
        self.routes = dict(Route.objects.values_list("pk", "status"))

    def assert_unchanged(self) -> None:
        assert CheckIn.objects.count() == self.checkins
        assert LedgerEntry.objects.count() == self.ledger
        assert Alert.objects.count() == self.alerts
        assert dict(Visit.objects.values_list("pk", "status")) == self.visits
        assert dict(Route.objects.values_list("pk", "status")) == self.routes
        assert mail.outbox == []


# --- answer shape ----------------------------------------------------------------------


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
    world.route.refresh_from_db()
    assert world.route.status == RouteStatus.IN_PROGRESS

    second = body(world, DEPART)
    answer = post(phone_b, second).json()
    assert parse(answer["next_due_at"]) == parse(second["captured_at"]) + minutes(30)


# --- the two-person visit ----------------------------------------------------------------


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
    assert answer["next_due_at"] is not None  # B is still out
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


# --- rule breaks while online: refused, nothing stored --------------------------------------


def test_outside_visit_hours_online_is_refused(world, clock, phone_a, stops):
    clock.move_to(dt.datetime(2026, 11, 24, 21, 30, tzinfo=ZONE))
    nothing = Nothing()

    response = post(phone_a, body(world, ARRIVE, stops[0]))

    problem = assert_problem(response, 422, "outside_visit_hours")
    assert "21:30" in problem["detail"]
    assert problem["errors"]["rules"][0].startswith("outside_visit_hours:")
    nothing.assert_unchanged()


def test_early_morning_online_is_refused(world, clock, phone_a, stops):
    clock.move_to(dt.datetime(2026, 11, 24, 7, 59, tzinfo=ZONE))
    nothing = Nothing()

    assert_problem(post(phone_a, body(world, ARRIVE, stops[0])), 422, "outside_visit_hours")
    nothing.assert_unchanged()


def test_too_far_from_the_address_online_is_refused(world, phone_a, stops):
    nothing = Nothing()

    response = post(phone_a, body(world, ARRIVE, stops[0], dlat=500, accuracy_m=10))

    problem = assert_problem(response, 422, "too_far_from_address")
    assert "500 m" in problem["detail"]
    nothing.assert_unchanged()


def test_frequency_cap_online_is_refused(world, phone_a, stops):
    earlier_visit_same_case(world, 0, dt.datetime(2026, 11, 24, 8, 40, tzinfo=ZONE))
    nothing = Nothing()

    problem = assert_problem(post(phone_a, body(world, ARRIVE, stops[0])), 422, "frequency_cap")
    assert "already visited 1 time(s) that day" in problem["detail"]
    nothing.assert_unchanged()
    # Another debtor on the same route is not capped.
    assert post(phone_a, body(world, ARRIVE, stops[1])).status_code == 201


def test_frequency_cap_counts_seven_rolling_days(world, phone_a, stops):
    for days_ago in (1, 2, 6):
        earlier_visit_same_case(
            world, 0, dt.datetime(2026, 11, 24, 10, 0, tzinfo=ZONE) - dt.timedelta(days=days_ago)
        )
    nothing = Nothing()

    problem = assert_problem(post(phone_a, body(world, ARRIVE, stops[0])), 422, "frequency_cap")
    assert "3 time(s) in 7 days" in problem["detail"]
    nothing.assert_unchanged()


def test_frequency_cap_forgets_visits_older_than_seven_days(world, phone_a, stops):
    for days_ago in (1, 2, 8):
        earlier_visit_same_case(
            world, 0, dt.datetime(2026, 11, 24, 10, 0, tzinfo=ZONE) - dt.timedelta(days=days_ago)
        )

    assert post(phone_a, body(world, ARRIVE, stops[0])).status_code == 201


def test_several_breaks_are_all_named(world, clock, phone_a, stops):
    clock.move_to(dt.datetime(2026, 11, 24, 21, 30, tzinfo=ZONE))

    response = post(phone_a, body(world, ARRIVE, stops[0], dlat=500))

    problem = assert_problem(response, 422, "outside_visit_hours")
    codes = [line.split(":")[0] for line in problem["errors"]["rules"]]
    assert codes == ["outside_visit_hours", "too_far_from_address"]
    assert CheckIn.objects.count() == 0


def test_the_second_arrival_is_not_held_to_the_cap_the_first_one_passed(
    world, phone_a, phone_b, stops
):
    """The cap is judged when the visit begins; the partner joining does not re-count it."""
    arrive_pair(world, stops[0])
    assert CheckIn.objects.filter(kind=ARRIVE).count() == 2


# --- the same breaks queued offline: kept, flagged, alerted -------------------------------

OFFLINE = {
    "outside_visit_hours": "within_hours",
    "too_far_from_address": "geofence",
    "frequency_cap": "frequency_cap",
}


def _offline_break(world: Any, clock: Any, code: str, stop: Stop) -> dict[str, Any]:
    """Set the scene for ``code`` and return a body captured 20 minutes before now."""
    if code == "outside_visit_hours":
        clock.move_to(dt.datetime(2026, 11, 24, 21, 30, tzinfo=ZONE))  # captured at 21:10
        return body(world, ARRIVE, stop, ago=minutes(20))
    if code == "too_far_from_address":
        return body(world, ARRIVE, stop, ago=minutes(20), dlat=500, accuracy_m=10)
    earlier_visit_same_case(world, 0, dt.datetime(2026, 11, 24, 8, 40, tzinfo=ZONE))
    return body(world, ARRIVE, stop, ago=minutes(20))  # captured at 09:10


@pytest.mark.parametrize("code", sorted(OFFLINE))
def test_an_offline_rule_break_is_kept_flagged_and_alerted(
    world, clock, phone_a, stops, code, django_capture_on_commit_callbacks
):
    world.supervisor.email = "supervisor@example.com"
    world.supervisor.save(update_fields=["email"])
    payload = _offline_break(world, clock, code, stops[0])

    with django_capture_on_commit_callbacks(execute=True):
        response = post(phone_a, payload)

    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["flags"] == [code, "late_submission"]
    assert answer["clock_skew_s"] is None  # offline without sent_at: the clock is unknown
    assert answer["visit"]["status"] == "arriving"
    checkin = CheckIn.objects.get(pk=payload["id"])
    assert checkin.flags == [code, "late_submission"]

    [alert] = Alert.objects.all()
    assert (alert.kind, alert.team, alert.checkin) == (AlertKind.RULE_BREAK, world.team, checkin)
    assert (alert.route_id, alert.visit_id) == (world.route.pk, stops[0].visit.pk)
    assert code in alert.detail
    assert ledger_kinds()[-2:] == ["checkin.arrive", "alert.raised"]

    [message] = mail.outbox
    assert message.to == ["supervisor@example.com"]
    assert "Rule broken" in message.subject
    assert code in message.body

    detail = phone_a.get(visit_url(stops[0].visit.pk)).json()
    checks = detail["compliance"]["checks"]
    assert checks[OFFLINE[code]]["ok"] is False
    assert detail["compliance"]["ok"] is False
    for other in set(OFFLINE.values()) - {OFFLINE[code]}:
        assert checks[other]["ok"] is True, other


def test_an_offline_check_in_without_breaks_is_only_late(world, phone_a, stops):
    response = post(phone_a, body(world, ARRIVE, stops[0], ago=minutes(20)))

    assert response.status_code == 201, response.content
    assert response.json()["flags"] == ["late_submission"]
    assert Alert.objects.count() == 0


# --- always refused ----------------------------------------------------------------------


def test_a_draft_route_is_not_executable(world, phone_a):
    draft = factories.route(world.team, world.planner, DAY + dt.timedelta(days=1), [])
    nothing = Nothing()

    response = post(phone_a, body(world, DEPART, route=draft))

    assert_problem(response, 422, "route_not_approved")
    nothing.assert_unchanged()


def test_a_draft_route_refuses_even_offline(world, phone_a):
    draft = factories.route(
        world.team, world.planner, DAY + dt.timedelta(days=1), [world.addresses[3]]
    )
    [stop] = draft.stops.all()

    response = post(phone_a, body(world, ARRIVE, stop, route=draft, ago=minutes(30)))

    assert_problem(response, 422, "route_not_approved")
    assert CheckIn.objects.count() == 0


def test_a_route_approved_for_tomorrow_is_not_executable_today(world, phone_a):
    tomorrow = factories.route(
        world.team, world.planner, DAY + dt.timedelta(days=1), [world.addresses[3]]
    )
    approve(tomorrow, world.planner, world.supervisor)

    response = post(phone_a, body(world, DEPART, route=tomorrow))

    problem = assert_problem(response, 422, "route_not_approved")
    assert "2026-11-25" in problem["detail"]


def test_the_supervisor_is_not_a_field_agent(world):
    client = world.client(world.supervisor)  # sees the route as the team's supervisor
    nothing = Nothing()

    response = post(client, body(world, DEPART))

    assert_problem(response, 403, "not_team_member")
    nothing.assert_unchanged()


def test_an_agent_without_background_check_is_not_a_qualified_member(world):
    unchecked = factories.agent("agent_c", world.team, background_check_on=None)
    client = world.client(unchecked)
    nothing = Nothing()

    response = post(client, body(world, DEPART))

    assert_problem(response, 403, "not_team_member")
    nothing.assert_unchanged()


def test_an_agent_whose_profile_was_deactivated_no_longer_sees_the_route(world):
    """A deactivated agent is no longer on the team: the route is absent (404), as every
    record of a team one does not belong to (fieldvisit.access.team_of)."""
    former = factories.agent("agent_former", world.team)
    client = world.client(former)
    former.agent_profile.active = False
    former.agent_profile.save(update_fields=["active"])
    nothing = Nothing()

    response = post(client, body(world, DEPART))

    assert_problem(response, 404, "not_found")
    nothing.assert_unchanged()


def test_another_teams_route_is_not_found_for_the_outsider(world):
    client = world.client(world.outsider)
    nothing = Nothing()

    response = post(client, body(world, DEPART))

    assert_problem(response, 404, "not_found")
    nothing.assert_unchanged()


def test_a_stop_of_another_route_is_not_on_the_route(world, phone_a):
    draft = factories.route(
        world.team, world.planner, DAY + dt.timedelta(days=1), [world.addresses[3]]
    )
    [foreign_stop] = draft.stops.all()
    nothing = Nothing()

    payload = body(world, ARRIVE, foreign_stop)  # names world.route
    response = post(phone_a, payload)

    assert_problem(response, 422, "not_on_route")
    nothing.assert_unchanged()


def test_a_skipped_stop_is_not_on_the_route(world, phone_a, stops):
    Stop.objects.filter(pk=stops[2].pk).update(status=StopStatus.SKIPPED)
    nothing = Nothing()

    response = post(phone_a, body(world, ARRIVE, stops[2], ago=minutes(30)))

    problem = assert_problem(response, 422, "not_on_route")
    assert "skipped" in problem["detail"]
    nothing.assert_unchanged()


@pytest.mark.parametrize("kind", [ARRIVE, LEAVE, PERIODIC])
def test_an_unknown_stop_is_not_on_the_route(world, phone_a, kind):
    nothing = Nothing()
    payload = {**body(world, kind), "stop": str(uuid.uuid4())}

    assert_problem(post(phone_a, payload), 422, "not_on_route")
    nothing.assert_unchanged()


def test_a_revoked_token_is_refused(world, phone_a):
    DeviceToken.objects.filter(user=world.agent_a, device_id="phone-a").update(
        revoked_at=timezone.now()
    )

    assert_problem(post(phone_a, body(world, DEPART)), 401, "token_revoked")
    assert CheckIn.objects.count() == 0


# --- noted flags -------------------------------------------------------------------------


def test_team_split_is_flagged_and_alerted(world, phone_a, phone_b):
    first = post(phone_a, body(world, PERIODIC, ago=minutes(1)))
    assert first.json()["flags"] == []

    response = post(phone_b, body(world, PERIODIC, dlat=300))

    assert response.status_code == 201, response.content
    assert response.json()["flags"] == ["team_split"]
    [alert] = Alert.objects.all()
    assert (alert.kind, alert.team_id) == (AlertKind.TEAM_SPLIT, world.team.pk)
    assert alert.checkin_id == uuid.UUID(response.json()["id"])
    assert alert.raised_by == world.agent_b


def test_periodic_reports_close_together_are_not_split(world, phone_a, phone_b):
    post(phone_a, body(world, PERIODIC, ago=minutes(1)))

    response = post(phone_b, body(world, PERIODIC, dlat=190))

    assert response.json()["flags"] == []
    assert Alert.objects.count() == 0


def test_a_partner_position_older_than_15_minutes_says_nothing(world, clock, phone_a, phone_b):
    post(phone_a, body(world, PERIODIC))
    clock.shift(minutes(16))

    response = post(phone_b, body(world, PERIODIC, dlat=300))

    assert response.json()["flags"] == []


def test_low_accuracy_is_flagged(world, phone_a):
    response = post(phone_a, body(world, DEPART, accuracy_m=80))

    assert response.status_code == 201
    assert response.json()["flags"] == ["low_accuracy"]


def test_clock_skew_is_measured_from_sent_at_and_flagged(world, phone_a):
    ahead = timezone.now() + minutes(10)

    response = post(phone_a, body(world, DEPART, sent_at=ahead.isoformat()))

    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["flags"] == ["clock_skew"]
    assert answer["clock_skew_s"] == pytest.approx(600, abs=5)
    assert CheckIn.objects.get().clock_skew_s == answer["clock_skew_s"]


def test_a_small_clock_skew_is_not_flagged(world, phone_a):
    response = post(phone_a, body(world, DEPART, sent_at=timezone.now().isoformat()))

    assert response.json()["flags"] == []


# --- idempotency -------------------------------------------------------------------------


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


# --- bad input ---------------------------------------------------------------------------


def _in_an_hour() -> str:
    return (timezone.now() + dt.timedelta(hours=1)).isoformat()


BAD_FIELDS: list[tuple[str, dict[str, Any], str]] = [
    ("lat 91", {"lat": 91}, "lat"),
    ("lat -90.5", {"lat": -90.5}, "lat"),
    ("lon -181", {"lon": -181}, "lon"),
    ("lon 180.1", {"lon": 180.1}, "lon"),
    ("lat text", {"lat": "abc"}, "lat"),
    ("lat bool", {"lat": True}, "lat"),
    ("lat null", {"lat": None}, "lat"),
    ("lat NaN text", {"lat": "NaN"}, "lat"),
    ("lon inf text", {"lon": "Infinity"}, "lon"),
    ("accuracy 0", {"accuracy_m": 0}, "accuracy_m"),
    ("accuracy -1", {"accuracy_m": -1}, "accuracy_m"),
    ("accuracy huge", {"accuracy_m": 10**12}, "accuracy_m"),
    ("naive time", {"captured_at": "2026-11-24T09:30:00"}, "captured_at"),
    ("not a time", {"captured_at": "yesterday"}, "captured_at"),
    ("future", {"captured_at": _in_an_hour}, "captured_at"),
    ("far future", {"captured_at": "9999-12-31T23:59:59+00:00"}, "captured_at"),
    ("naive sent_at", {"sent_at": "2026-11-24T09:30:00"}, "sent_at"),
    ("unknown kind", {"kind": "teleport"}, "kind"),
    ("kind list", {"kind": ["depart"]}, "kind"),
    ("route not uuid", {"route": "route-1"}, "route"),
    ("id not uuid", {"id": "1"}, "id"),
    ("stop not uuid", {"stop": "stop-1"}, "stop"),
]


@pytest.mark.parametrize(
    ("change", "field"), [(c, f) for _, c, f in BAD_FIELDS], ids=[n for n, _, _ in BAD_FIELDS]
)
def test_invalid_fields_are_named(world, phone_a, change, field):
    payload = body(world, DEPART)
    payload.update({k: v() if callable(v) else v for k, v in change.items()})
    nothing = Nothing()

    response = post(phone_a, payload)

    problem = assert_problem(response, 422, "validation_error")
    assert field in problem["errors"], problem
    nothing.assert_unchanged()


@pytest.mark.parametrize(
    "missing", ["id", "route", "kind", "lat", "lon", "accuracy_m", "captured_at"]
)
def test_missing_fields_are_named(world, phone_a, missing):
    payload = body(world, DEPART)
    del payload[missing]

    problem = assert_problem(post(phone_a, payload), 422, "validation_error")

    assert missing in problem["errors"]
    assert CheckIn.objects.count() == 0


@pytest.mark.parametrize("kind", [ARRIVE, LEAVE])
def test_arrive_and_leave_need_a_stop(world, phone_a, kind):
    payload = body(world, kind)
    assert "stop" not in payload

    problem = assert_problem(post(phone_a, payload), 422, "validation_error")

    assert "stop" in problem["errors"]
    assert CheckIn.objects.count() == 0


@pytest.mark.parametrize(
    ("field", "literal"),
    [
        ("lat", "1e400"),
        ("lon", "-1e400"),
        ("accuracy_m", "1e400"),
        ("lat", "1" + "0" * 400),
        ("accuracy_m", "1" + "0" * 400),
        ("accuracy_m", "1e308"),
    ],
)
def test_huge_numbers_are_validation_errors_not_500(world, phone_a, field, literal):
    payload = body(world, DEPART)
    raw = json.dumps(payload).replace(json.dumps(payload[field]), literal, 1)
    assert literal in raw

    response = phone_a.post(CHECKINS_URL, raw, content_type="application/json")

    problem = assert_problem(response, 422, "validation_error")
    assert field in problem["errors"]
    assert CheckIn.objects.count() == 0


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b"[]",
        b'"checkin"',
        b"null",
        b'{"lat": NaN}',
        "\u00e9".encode("latin-1"),
        b'{"lon": -' + b"9" * 5000 + b"}",  # more digits than Python parses: malformed
    ],
)
def test_malformed_bodies_are_problems_not_500(world, phone_a, raw):
    response = phone_a.post(CHECKINS_URL, raw, content_type="application/json")

    assert response.status_code in (400, 422), response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] in ("malformed_request", "validation_error")
    assert CheckIn.objects.count() == 0


# --- ledger ------------------------------------------------------------------------------


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


# --- concurrency and late queues ---------------------------------------------------------


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


def test_a_queue_sent_after_the_route_completed_is_kept(world, clock, phone_a, phone_b, stops):
    """B's phone was offline all morning: A departed and returned online, which completed
    the route; B's queued check-ins record what happened while it was walked and are kept
    (API.md: evidence of what happened is never thrown away)."""
    b_depart = body(world, DEPART)
    assert post(phone_a, body(world, DEPART)).status_code == 201
    clock.shift(minutes(20))
    b_arrive = body(world, ARRIVE, stops[0], dlat=10)
    assert post(phone_a, body(world, ARRIVE, stops[0])).status_code == 201
    clock.shift(minutes(30))
    b_return = body(world, RETURN)
    assert post(phone_a, body(world, RETURN)).status_code == 201
    world.route.refresh_from_db()
    assert world.route.status == RouteStatus.COMPLETED
    clock.shift(minutes(10))

    answers = [post(phone_b, payload) for payload in (b_depart, b_arrive, b_return)]

    assert [a.status_code for a in answers] == [201, 201, 201], answers[0].content
    assert all("late_submission" in a.json()["flags"] for a in answers)
    assert answers[1].json()["visit"]["status"] == "open"  # B had arrived with A after all
    assert answers[2].json()["next_due_at"] is None
    world.route.refresh_from_db()
    assert world.route.status == RouteStatus.COMPLETED
    # Online, a completed route still takes nothing new.
    assert_problem(post(phone_b, body(world, PERIODIC)), 422, "route_not_approved")


# --- query budget ------------------------------------------------------------------------


def test_a_check_in_post_stays_within_its_query_budget(
    world, phone_a, phone_b, stops, django_assert_max_num_queries
):
    post(phone_a, body(world, DEPART))
    post(phone_a, body(world, ARRIVE, stops[0]))
    payload = body(world, ARRIVE, stops[0], dlat=20)

    # B's arrival opens the visit: 25 queries.
    #   authentication and access (8): token, token last_used_at, agent profile, roles, team,
    #     route visible to B, stop with case/creditor/address/visit, idempotency lookup by id;
    #   record_checkin (16): savepoint, route FOR UPDATE, stop status and visit read again
    #     under the lock (2), the creditors' thresholds, insert check-in, ledger append
    #     (head, entry, head update), the visit's check-ins for the pair, ledger append for
    #     visit.opened (head, entry, Merkle nodes, head update), visit update, release;
    #   the next due time (1): the route's last captured_at.
    with django_assert_max_num_queries(25):
        response = post(phone_b, payload)

    assert response.status_code == 201, response.content
    assert response.json()["visit"]["status"] == "open"


# --- behaviour settled after review --------------------------------------------------------


def test_the_cap_counts_every_case_of_the_same_debtor(world, phone_a, stops):
    """Rule 10 is per debtor: another account of the same person counts too."""
    other_case = factories.case(world.team, world.creditor)
    Case.objects.filter(pk=other_case.pk).update(debtor_id_number=stops[0].case.debtor_id_number)
    other_case.addresses.create(kind="work", text="Other account", lat=31.3, lon=121.5)
    earlier_visit_same_case(world, 0, dt.datetime(2026, 11, 24, 8, 40, tzinfo=ZONE))
    Stop.objects.filter(route__team=world.other_team).update(case=other_case)
    problem = assert_problem(post(phone_a, body(world, ARRIVE, stops[0])), 422, "frequency_cap")
    assert "that day" in problem["detail"]


def test_a_late_leave_is_kept_and_flagged_so_the_visit_can_close(
    world, phone_a, phone_b, stops, clock
):
    arrive_pair(world, stops[0])
    clock.move_to(dt.datetime(2026, 11, 24, 21, 5, tzinfo=ZONE))
    first = post(phone_a, body(world, LEAVE, stops[0]))
    second = post(phone_b, body(world, LEAVE, stops[0]))
    assert (first.status_code, second.status_code) == (201, 201), second.content
    assert "outside_visit_hours" in second.json()["flags"]
    assert second.json()["visit"]["status"] == "closed"
    assert Alert.objects.filter(kind="rule_break", checkin_id=second.json()["id"]).exists()


def test_a_slow_delivery_is_not_taken_for_clock_skew(world, phone_a):
    """Without sent_at, a report that took three minutes to arrive says nothing about the
    clock: it is measured, not flagged."""
    response = post(phone_a, body(world, DEPART, ago=minutes(3)))
    assert response.status_code == 201
    assert response.json()["clock_skew_s"] == pytest.approx(-180, abs=5)
    assert "clock_skew" not in response.json()["flags"]


def test_a_retry_with_a_new_sent_at_is_the_same_check_in(world, phone_a):
    """Phones retry freely: sent_at is the moment of sending, new on every retry."""
    payload = body(world, DEPART, sent_at=timezone.now().isoformat())
    first = post(phone_a, payload)
    retry = post(phone_a, {**payload, "sent_at": (timezone.now() + minutes(1)).isoformat()})
    without_stop_key = post(phone_a, {**payload, "stop": None})
    assert (first.status_code, retry.status_code, without_stop_key.status_code) == (201, 200, 200)
    assert CheckIn.objects.count() == 1


def test_an_address_without_coordinates_is_flagged_not_passed(world, phone_a, stops):
    from fieldvisit.models import Address

    Address.objects.filter(pk=stops[0].address_id).update(lat=None, lon=None)
    response = post(phone_a, body(world, ARRIVE, stops[0], lat=31.2, lon=121.4))
    assert response.status_code == 201, response.content
    assert "address_not_geocoded" in response.json()["flags"]
    checks = phone_a.get(visit_url(stops[0].visit.pk)).json()["compliance"]["checks"]
    assert checks["geofence"]["ok"] is False
