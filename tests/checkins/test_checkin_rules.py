"""The check-in rules as plain functions (fieldvisit/rules/checkins.py): no database, no HTTP.

Each rule has its failing cases, with the exact code the API answers with, and a passing
case right at the boundary.
"""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo

import pytest

from fieldvisit.api.errors import status_for
from fieldvisit.choices import CheckInKind, RouteStatus, StopStatus
from fieldvisit.rules import RuleViolation, Verdict
from fieldvisit.rules import checkins as rules
from fieldvisit.rules.checkins import Arrival

ZONE = zoneinfo.ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 11, 24, 9, 30, tzinfo=ZONE)
LAT, LON = 31.2304, 121.4737
DAY = T0.date()


def minutes(n: float) -> dt.timedelta:
    return dt.timedelta(minutes=n)


def assert_failed(verdict: Verdict, code: str) -> None:
    assert verdict.ok is False, verdict
    assert verdict.code == code
    assert verdict.detail  # a human sentence for the problem's detail
    with pytest.raises(RuleViolation) as raised:
        verdict.raise_if_failed()
    assert (raised.value.code, raised.value.detail) == (code, verdict.detail)


def assert_passed(verdict: Verdict) -> None:
    assert verdict.ok is True, verdict
    assert verdict.code == ""
    verdict.raise_if_failed()  # does not raise


# --- distance_m -------------------------------------------------------------------------


def test_distance_of_a_point_to_itself_is_zero() -> None:
    assert rules.distance_m(LAT, LON, LAT, LON) == 0.0


@pytest.mark.parametrize(
    ("dlat", "dlon", "expected", "tolerance"),
    [
        (0.001, 0.0, 111.2, 0.1),  # a thousandth of a degree of latitude is about 111 m
        (0.0009, 0.0, 100.1, 0.1),
        (0.0, 0.001, 111.2 * math.cos(math.radians(LAT)), 0.1),  # meridians converge
        (1.0, 0.0, 111_195.0, 1.0),
    ],
)
def test_known_distances(dlat: float, dlon: float, expected: float, tolerance: float) -> None:
    measured = rules.distance_m(LAT, LON, LAT + dlat, LON + dlon)
    assert measured == pytest.approx(expected, abs=tolerance)
    assert rules.distance_m(LAT + dlat, LON + dlon, LAT, LON) == pytest.approx(measured)


def test_distance_on_the_equator_and_to_the_antipode() -> None:
    assert rules.distance_m(0, 0, 0, 1) == pytest.approx(111_195.0, abs=1.0)
    # Opposite sides of the Earth: half the circumference, without a math domain error.
    half = math.pi * rules.EARTH_RADIUS_M
    assert rules.distance_m(0, 0, 0, 180) == pytest.approx(half, rel=1e-9)
    assert rules.distance_m(90, 0, -90, 0) == pytest.approx(half, rel=1e-9)


# --- is_online ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "online"),
    [
        (dt.timedelta(0), True),
        (minutes(4) + dt.timedelta(seconds=59), True),
        (minutes(5), False),  # five minutes old: queued offline
        (minutes(20), False),
        (-minutes(1), True),  # the device clock is a little ahead
    ],
)
def test_is_online_boundary(age: dt.timedelta, online: bool) -> None:
    assert rules.is_online(T0 - age, T0) is online


# --- clock_skew_s ------------------------------------------------------------------------


def test_clock_skew_from_sent_at_even_when_offline() -> None:
    captured = T0 - minutes(40)  # queued offline
    assert rules.clock_skew_s(captured, T0, T0 + minutes(10)) == 600.0
    assert rules.clock_skew_s(captured, T0, T0 - dt.timedelta(seconds=2.5)) == -2.5


def test_clock_skew_from_captured_at_when_online_without_sent_at() -> None:
    assert rules.clock_skew_s(T0 - dt.timedelta(seconds=3), T0, None) == -3.0
    assert rules.clock_skew_s(T0 + dt.timedelta(seconds=90), T0, None) == 90.0


def test_clock_skew_unknown_when_offline_without_sent_at() -> None:
    assert rules.clock_skew_s(T0 - minutes(5), T0, None) is None
    assert rules.clock_skew_s(T0 - minutes(20), T0, None) is None


# --- check_captured_at -------------------------------------------------------------------


def test_captured_at_in_the_past_or_slightly_ahead_passes() -> None:
    assert_passed(rules.check_captured_at(T0 - minutes(60), T0))
    assert_passed(rules.check_captured_at(T0 + minutes(5), T0))  # tolerance is inclusive


def test_captured_at_too_far_in_the_future_fails() -> None:
    assert_failed(
        rules.check_captured_at(T0 + minutes(5) + dt.timedelta(seconds=1), T0),
        "captured_in_future",
    )
    assert_failed(rules.check_captured_at(T0 + minutes(60), T0), "captured_in_future")


# --- check_route_executable --------------------------------------------------------------


@pytest.mark.parametrize("status", [RouteStatus.APPROVED, RouteStatus.IN_PROGRESS])
def test_an_approved_route_on_its_day_is_executable(status: str) -> None:
    assert_passed(rules.check_route_executable(status, DAY, DAY))


@pytest.mark.parametrize(
    "status",
    [RouteStatus.DRAFT, RouteStatus.SUBMITTED, RouteStatus.REJECTED, RouteStatus.COMPLETED],
)
def test_a_route_not_approved_is_not_executable(status: str) -> None:
    assert_failed(rules.check_route_executable(status, DAY, DAY), "route_not_approved")


@pytest.mark.parametrize(
    "status", [RouteStatus.APPROVED, RouteStatus.IN_PROGRESS, RouteStatus.COMPLETED]
)
def test_a_check_in_queued_offline_may_reach_a_completed_route(status: str) -> None:
    assert_passed(rules.check_route_executable(status, DAY, DAY, queued=True))


@pytest.mark.parametrize("status", [RouteStatus.DRAFT, RouteStatus.SUBMITTED, RouteStatus.REJECTED])
def test_a_queued_check_in_needs_an_approved_route_too(status: str) -> None:
    assert_failed(rules.check_route_executable(status, DAY, DAY, queued=True), "route_not_approved")
    other_day = DAY + dt.timedelta(days=1)
    assert_failed(
        rules.check_route_executable(RouteStatus.COMPLETED, DAY, other_day, queued=True),
        "route_not_approved",
    )


@pytest.mark.parametrize("offset", [-1, 1])
def test_an_approved_route_on_another_day_is_not_executable(offset: int) -> None:
    other_day = DAY + dt.timedelta(days=offset)
    assert_failed(
        rules.check_route_executable(RouteStatus.APPROVED, DAY, other_day), "route_not_approved"
    )


# --- check_team_member -------------------------------------------------------------------


def test_a_qualified_agent_of_the_team_passes() -> None:
    assert_passed(rules.check_team_member(7, 7, qualified=True))


@pytest.mark.parametrize(
    ("agent_team", "qualified"),
    [(8, True), (None, True), (7, False), (None, False)],
)
def test_others_and_unqualified_agents_fail(agent_team: int | None, qualified: bool) -> None:
    verdict = rules.check_team_member(agent_team, 7, qualified)
    assert_failed(verdict, "not_team_member")
    with pytest.raises(RuleViolation) as raised:
        verdict.raise_if_failed()
    assert status_for(raised.value.code) == 403  # the code owns its status


# --- check_stop_on_route -----------------------------------------------------------------


@pytest.mark.parametrize("kind", [CheckInKind.ARRIVE, CheckInKind.LEAVE])
@pytest.mark.parametrize("status", [StopStatus.PLANNED, StopStatus.VISITED])
def test_a_stop_of_the_route_passes(kind: str, status: str) -> None:
    assert_passed(rules.check_stop_on_route(kind, "route-1", "route-1", status))


@pytest.mark.parametrize("kind", [CheckInKind.ARRIVE, CheckInKind.LEAVE])
def test_a_missing_stop_fails(kind: str) -> None:
    assert_failed(rules.check_stop_on_route(kind, None, "route-1", None), "not_on_route")


@pytest.mark.parametrize("kind", [CheckInKind.ARRIVE, CheckInKind.LEAVE])
def test_a_stop_of_another_route_fails(kind: str) -> None:
    assert_failed(
        rules.check_stop_on_route(kind, "route-2", "route-1", StopStatus.PLANNED), "not_on_route"
    )


@pytest.mark.parametrize("kind", [CheckInKind.ARRIVE, CheckInKind.LEAVE])
def test_a_skipped_stop_fails(kind: str) -> None:
    verdict = rules.check_stop_on_route(kind, "route-1", "route-1", StopStatus.SKIPPED)
    assert_failed(verdict, "not_on_route")
    assert "skipped" in verdict.detail


@pytest.mark.parametrize("kind", [CheckInKind.DEPART, CheckInKind.PERIODIC, CheckInKind.RETURN])
def test_route_level_kinds_need_no_stop(kind: str) -> None:
    assert_passed(rules.check_stop_on_route(kind, None, "route-1", None))


# --- check_visit_hours -------------------------------------------------------------------

EIGHT, NINE_PM = dt.time(8, 0), dt.time(21, 0)


@pytest.mark.parametrize(
    ("local", "ok"),
    [
        (dt.time(7, 59, 59), False),
        (dt.time(7, 59), False),
        (dt.time(8, 0), True),
        (dt.time(12, 0), True),
        (dt.time(20, 59), True),
        (dt.time(20, 59, 59), True),
        (dt.time(21, 0), False),  # the window ends at 21:00 sharp
        (dt.time(23, 30), False),
        (dt.time(0, 0), False),
    ],
)
def test_default_visit_hours(local: dt.time, ok: bool) -> None:
    verdict = rules.check_visit_hours(local, EIGHT, NINE_PM)
    if ok:
        assert_passed(verdict)
    else:
        assert_failed(verdict, "outside_visit_hours")
        assert "08:00" in verdict.detail
        assert "21:00" in verdict.detail


@pytest.mark.parametrize(
    ("local", "ok"),
    [
        (dt.time(8, 30), False),  # allowed by law, not by this creditor
        (dt.time(9, 0), True),
        (dt.time(17, 59), True),
        (dt.time(18, 0), False),
        (dt.time(20, 0), False),
    ],
)
def test_a_creditor_narrows_the_window(local: dt.time, ok: bool) -> None:
    verdict = rules.check_visit_hours(local, dt.time(9, 0), dt.time(18, 0))
    if ok:
        assert_passed(verdict)
    else:
        assert_failed(verdict, "outside_visit_hours")


# --- check_geofence ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("distance", "accuracy", "ok"),
    [
        (0.0, 5.0, True),
        (150.0, 1.0, True),
        (151.5, 1.0, False),
        (160.0, 10.0, True),  # accuracy helps: 160 m with a 10 m fix may be 150 m
        (160.5, 10.0, False),
        (300.0, 150.0, True),  # the allowance is at most the radius itself
        (300.5, 5000.0, False),  # a 5 km fix proves nothing: capped at 150
        (1000.0, 5000.0, False),
    ],
)
def test_geofence(distance: float, accuracy: float, ok: bool) -> None:
    verdict = rules.check_geofence(distance, accuracy, 150.0)
    if ok:
        assert_passed(verdict)
    else:
        assert_failed(verdict, "too_far_from_address")
        assert "150 m" in verdict.detail


# --- check_frequency_cap -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("that_day", "in_7_days", "ok"),
    [
        (0, 0, True),
        (0, 2, True),
        (1, 1, False),  # already visited today
        (0, 3, False),  # three visits this week
        (1, 3, False),
    ],
)
def test_frequency_cap_defaults(that_day: int, in_7_days: int, ok: bool) -> None:
    verdict = rules.check_frequency_cap(that_day, in_7_days, per_day=1, per_7_days=3)
    if ok:
        assert_passed(verdict)
    else:
        assert_failed(verdict, "frequency_cap")


def test_frequency_cap_follows_the_creditor() -> None:
    assert_passed(rules.check_frequency_cap(1, 4, per_day=2, per_7_days=5))
    assert_failed(rules.check_frequency_cap(2, 2, per_day=2, per_7_days=5), "frequency_cap")
    assert_failed(rules.check_frequency_cap(0, 5, per_day=2, per_7_days=5), "frequency_cap")


# --- pair_arrived_together ---------------------------------------------------------------

WINDOW, NEAR = minutes(10), 100.0
OFFSET_100M = 100 / 111_195.0


def arrival(agent: int, device: str, at: dt.datetime = T0, dlat: float = 0.0) -> Arrival:
    return Arrival(agent, device, at, LAT + dlat, LON)


def test_two_agents_on_two_devices_close_in_time_and_space_pair() -> None:
    a = arrival(1, "phone-a")
    b = arrival(2, "phone-b", T0 + minutes(10), 0.9 * OFFSET_100M)
    assert rules.pair_arrived_together([a, b], WINDOW, NEAR) == (a, b)


def test_the_same_agent_twice_does_not_pair() -> None:
    arrivals = [arrival(1, "phone-a"), arrival(1, "phone-b", T0 + minutes(1))]
    assert rules.pair_arrived_together(arrivals, WINDOW, NEAR) is None


def test_two_agents_on_the_same_device_do_not_pair() -> None:
    arrivals = [arrival(1, "phone-a"), arrival(2, "phone-a", T0 + minutes(1))]
    assert rules.pair_arrived_together(arrivals, WINDOW, NEAR) is None


@pytest.mark.parametrize("order", [1, -1])
def test_arrivals_eleven_minutes_apart_do_not_pair(order: int) -> None:
    arrivals = [arrival(1, "phone-a"), arrival(2, "phone-b", T0 + order * minutes(11))]
    assert rules.pair_arrived_together(arrivals, WINDOW, NEAR) is None


def test_arrivals_150_m_apart_do_not_pair() -> None:
    arrivals = [arrival(1, "phone-a"), arrival(2, "phone-b", dlat=1.5 * OFFSET_100M)]
    assert rules.distance_m(LAT, LON, arrivals[1].lat, LON) == pytest.approx(150.0, abs=0.1)
    assert rules.pair_arrived_together(arrivals, WINDOW, NEAR) is None


def test_a_pair_is_found_among_other_arrivals() -> None:
    lone = arrival(1, "phone-a", T0 - minutes(30))
    again = arrival(1, "phone-a", T0)
    partner = arrival(2, "phone-b", T0 + minutes(2))
    assert rules.pair_arrived_together([lone, again, partner], WINDOW, NEAR) == (again, partner)
    assert rules.pair_arrived_together([], WINDOW, NEAR) is None
    assert rules.pair_arrived_together([lone], WINDOW, NEAR) is None


# --- check_together ----------------------------------------------------------------------


def test_agents_within_the_split_distance_are_together() -> None:
    assert_passed(rules.check_together(0.0, 200.0))
    assert_passed(rules.check_together(200.0, 200.0))


def test_agents_further_apart_are_split() -> None:
    verdict = rules.check_together(200.5, 200.0)
    assert_failed(verdict, "team_split")
    assert_failed(rules.check_together(300.0, 200.0), "team_split")
    assert "300 m" in rules.check_together(300.0, 200.0).detail


# --- next_due_at -------------------------------------------------------------------------


def test_next_report_is_due_an_interval_after_the_last() -> None:
    assert rules.next_due_at(T0, minutes(30)) == T0 + minutes(30)
    assert rules.next_due_at(T0, minutes(15)) == T0 + minutes(15)


def test_nothing_is_due_before_the_first_report() -> None:
    assert rules.next_due_at(None, minutes(30)) is None


# --- silence_level ------------------------------------------------------------------------

GRACE, ESCALATION = minutes(10), minutes(15)


@pytest.mark.parametrize(
    ("late", "level"),
    [
        (-minutes(5), 0),
        (dt.timedelta(0), 0),
        (minutes(10), 0),  # due + grace exactly: still in time
        (minutes(10) + dt.timedelta(seconds=1), 1),  # the supervisor is told
        (minutes(25), 1),  # due + grace + escalation exactly
        (minutes(25) + dt.timedelta(seconds=1), 2),  # the risk manager too
        (minutes(120), 2),
    ],
)
def test_silence_level(late: dt.timedelta, level: int) -> None:
    times = rules.clock_times(
        T0 - minutes(30),
        returned=False,
        route_under_way=True,
        interval=minutes(30),
        grace=GRACE,
        escalation=ESCALATION,
    )
    assert times.next_due_at == T0
    assert rules.silence_level(T0 + late, times.alert_at, times.escalate_at) == level
    assert rules.silence_level(T0 + late, None, None) == 0  # nothing due


# --- Each agent's clock and the reports they missed ----------------------------------------

START = dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC)


def minutes_after(n: float) -> dt.datetime:
    return START + dt.timedelta(minutes=n)


def test_an_agents_clock_runs_from_their_latest_report_until_they_return():
    times = rules.clock_times(
        minutes_after(0),
        returned=False,
        route_under_way=True,
        interval=dt.timedelta(minutes=30),
        grace=dt.timedelta(minutes=10),
        escalation=dt.timedelta(minutes=15),
    )
    assert times == rules.ClockTimes(minutes_after(30), minutes_after(40), minutes_after(55))
    for returned, under_way in ((True, True), (False, False)):
        assert (
            rules.clock_times(
                minutes_after(0),
                returned=returned,
                route_under_way=under_way,
                interval=dt.timedelta(minutes=30),
                grace=dt.timedelta(minutes=10),
                escalation=dt.timedelta(minutes=15),
            )
            == rules.STOPPED
        )


def missed(reports, start=0, end=120):
    return rules.missed_reports(
        {
            agent: [(minutes_after(m), kind) for m, kind in given]
            for agent, given in reports.items()
        },
        minutes_after(start),
        minutes_after(end),
        dt.timedelta(minutes=30),
        dt.timedelta(minutes=10),
    )


def test_reports_in_time_miss_nothing():
    on_time = [(0, "arrive"), (29, "periodic"), (68, "periodic"), (97, "leave")]
    assert missed({"a": on_time}, end=110) == []


def test_a_report_later_than_the_grace_is_missed_once_and_names_its_late_report():
    assert missed({"a": [(0, "arrive"), (41, "periodic")]}, end=60) == [
        rules.MissedReport("a", minutes_after(30), minutes_after(41))
    ]
    # Within the grace: not missed.
    assert missed({"a": [(0, "arrive"), (40, "periodic")]}, end=60) == []


def test_silence_until_the_end_is_missed_only_once_the_grace_has_passed():
    assert missed({"b": [(0, "arrive")]}, end=40) == []
    assert missed({"b": [(0, "arrive")]}, end=41) == [
        rules.MissedReport("b", minutes_after(30), None)
    ]


def test_one_agents_reports_do_not_cover_the_other():
    reports = {"a": [(0, "arrive"), (25, "periodic"), (50, "periodic")], "b": [(0, "arrive")]}
    assert [m.agent for m in missed(reports, end=60)] == ["b"]


def test_only_reports_due_within_the_window_count_and_none_after_a_return():
    before = {"a": [(-60, "depart"), (-20, "periodic")]}  # due at +10, missed: inside
    assert [m.due_at for m in missed(before, start=0, end=30)] == [minutes_after(10)]
    assert missed({"a": [(-60, "depart")]}, start=0, end=30) == []  # due at -30: outside
    assert missed({"a": [(0, "arrive"), (5, "return")]}, end=120) == []


def test_the_approved_order() -> None:
    assert rules.check_sequence(1, ()).ok
    assert rules.check_sequence(3, ()).ok  # the stops before it are visited or skipped
    verdict = rules.check_sequence(3, (2, 1))
    assert verdict.code == "out_of_sequence" and "stop(s) 1, 2" in verdict.detail
    assert "out_of_sequence" in rules.DEFERRABLE  # refused online, flagged offline


def test_in_sequence_is_every_earlier_stop_of_the_approved_order_visited_or_skipped() -> None:
    """行为指引 3: the approved order is the stops by sequence as the approved plan and its
    approved changes left them (a reorder rewrites the sequences, a skip takes a stop out, a
    bank counter an escort goes to takes its place in it)."""
    placed = rules.PlacedStop
    route = (placed(1, False, True), placed(2, True, False), placed(3, False, False))
    assert rules.earlier_unvisited(route, 3) == ()  # 1 visited, 2 skipped by a change
    assert rules.earlier_unvisited(route, 1) == ()  # the first stop, or a revisit of it
    four = (*route, placed(4, False, False))
    assert rules.earlier_unvisited(four, 4) == (3,)
    assert rules.earlier_unvisited((placed(2, False, False), placed(1, False, False)), 2) == (1,)
    assert not rules.check_sequence(4, rules.earlier_unvisited(four, 4)).ok
