"""Rules for check-ins and visits (DESIGN rules 1-5 and 10; seeds: 外访流程 (1)(2), 行为指引 2, 3).

Plain functions over plain values: the action gathers the facts, these decide.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from fieldvisit.choices import CheckInKind, RouteStatus, StopStatus
from fieldvisit.rules import Verdict
from fieldvisit.rules.routes import route_status_word
from fieldvisit.texts import _, format_lazy

EARTH_RADIUS_M = 6_371_008.8
# A check-in captured longer ago than this was queued offline: it records what already
# happened, so a rule break is kept as a flag instead of being refused (API.md).
ONLINE_WINDOW = dt.timedelta(minutes=5)
# Device time ahead of server time by more than this cannot be a capture time.
FUTURE_TOLERANCE = dt.timedelta(minutes=5)
# Skew beyond this is worth showing to a reviewer.
CLOCK_SKEW_FLAG_S = 120.0
# A fix less precise than this is noted (accepted, flagged low_accuracy).
LOW_ACCURACY_M = 50.0
# A partner's position older than this says nothing about being together now.
PARTNER_FRESHNESS = dt.timedelta(minutes=15)

STOP_KINDS = {CheckInKind.ARRIVE, CheckInKind.LEAVE}
# The rule breaks that an offline check-in keeps as flags (API.md "Check-ins").
DEFERRABLE = {
    "outside_visit_hours",
    "too_far_from_address",
    "frequency_cap",
    "out_of_sequence",
    "case_not_open",
    "do_not_contact",
}


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine on the mean Earth radius)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def is_online(captured_at: dt.datetime, received_at: dt.datetime) -> bool:
    """Captured less than five minutes before it reached us: the phone is online now."""
    return received_at - captured_at < ONLINE_WINDOW


def clock_skew_s(
    captured_at: dt.datetime, received_at: dt.datetime, sent_at: dt.datetime | None
) -> float | None:
    """Device clock minus server clock, in seconds.

    Measured from ``sent_at`` (device time at sending) when the phone gives it; otherwise
    from ``captured_at`` when the check-in is online, where capture and sending are close.
    An offline check-in without ``sent_at`` says nothing about the clock.
    """
    if sent_at is not None:
        return round((sent_at - received_at).total_seconds(), 3)
    if is_online(captured_at, received_at):
        return round((captured_at - received_at).total_seconds(), 3)
    return None


def skew_is_evident(skew_s: float | None, from_sent_at: bool) -> bool:
    """Is the measured skew the phone's clock, not the network's delay?

    Measured from ``sent_at``, any large difference is the clock. Measured from
    ``captured_at``, a phone may simply have taken a few minutes to deliver, so only a
    device clock *ahead* of ours (which no delay explains) counts.
    """
    if skew_s is None:
        return False
    if from_sent_at:
        return abs(skew_s) > CLOCK_SKEW_FLAG_S
    return skew_s > CLOCK_SKEW_FLAG_S


def check_captured_at(captured_at: dt.datetime, received_at: dt.datetime) -> Verdict:
    if captured_at - received_at > FUTURE_TOLERANCE:
        return Verdict.failed(
            "captured_in_future", _("captured_at lies in the future; check the phone's clock.")
        )
    return Verdict.passed()


def check_route_executable(
    status: str, route_date: dt.date, captured_local_date: dt.date, queued: bool = False
) -> Verdict:
    """Agents may only check in on an approved route, on the route's own day.

    A check-in ``queued`` offline may reach us after the team has returned and the route
    completed: it records what happened while the route was walked, and is kept.
    """
    executable = [RouteStatus.APPROVED, RouteStatus.IN_PROGRESS]
    if queued:
        executable.append(RouteStatus.COMPLETED)
    if status not in executable:
        return Verdict.failed(
            "route_not_approved",
            format_lazy(
                _("The route is {status}, not approved."), status=route_status_word(status)
            ),
        )
    if route_date != captured_local_date:
        return Verdict.failed(
            "route_not_approved",
            format_lazy(
                _("The route is approved for {route_date}, not for {captured_local_date}."),
                route_date=route_date,
                captured_local_date=captured_local_date,
            ),
        )
    return Verdict.passed()


def check_team_member(agent_team_id: int | None, route_team_id: int, qualified: bool) -> Verdict:
    if agent_team_id != route_team_id or not qualified:
        return Verdict.failed(
            "not_team_member", _("Only qualified agents of the route's team check in on it.")
        )
    return Verdict.passed()


def check_stop_on_route(
    kind: str, stop_route_id: object | None, route_id: object, stop_status: str | None
) -> Verdict:
    """Arrive and leave name a stop of this route that is still to be visited."""
    if kind not in STOP_KINDS:
        return Verdict.passed()
    if stop_route_id is None or stop_route_id != route_id:
        return Verdict.failed("not_on_route", _("The stop is not on this route."))
    if stop_status == StopStatus.SKIPPED:
        return Verdict.failed("not_on_route", _("The stop was skipped by an approved change."))
    return Verdict.passed()


def check_visit_hours(local_time: dt.time, start: dt.time, end: dt.time) -> Verdict:
    """Only between the creditor's hours (default 08:00-21:00), in the address's own zone."""
    if not start <= local_time < end:
        return Verdict.failed(
            "outside_visit_hours",
            format_lazy(
                _(
                    "Visits are allowed between {start:%H:%M} and {end:%H:%M} local "
                    "time (it is {local_time:%H:%M} there)."
                ),
                start=start,
                end=end,
                local_time=local_time,
            ),
        )
    return Verdict.passed()


def check_geofence(distance: float, accuracy_m: float, radius_m: float) -> Verdict:
    """Within the radius of the address, giving the fix the benefit of its accuracy, but
    never more than the radius itself (a 5 km fix proves nothing)."""
    allowance = min(accuracy_m, radius_m)
    if distance - allowance > radius_m:
        return Verdict.failed(
            "too_far_from_address",
            format_lazy(
                _(
                    "{distance:.0f} m from the address (allowed {radius_m:.0f} m, GPS"
                    " accuracy {accuracy_m:.0f} m)."
                ),
                distance=distance,
                radius_m=radius_m,
                accuracy_m=accuracy_m,
            ),
        )
    return Verdict.passed(format_lazy(_("{distance:.0f} m from the address"), distance=distance))


@dataclass(frozen=True)
class PlacedStop:
    """A stop of the route as the approved order stands now: its place (``sequence``, which
    an approved reorder rewrites), whether an approved change skipped it, and whether its
    visit has begun (an agent arrived there)."""

    sequence: int
    skipped: bool
    begun: bool


def earlier_unvisited(stops: Sequence[PlacedStop], sequence: int) -> tuple[int, ...]:
    """What "in sequence" means (行为指引 3). The approved order is the route's stops by
    ``sequence`` as the approved plan and its approved change requests left it: a reorder
    rewrites the sequences, a skip takes a stop out of the order, an added stop (an extra
    address, or a bank counter the debtor is escorted to) takes its place in it. A first
    arrival at a stop is in sequence when every stop before it in that order has been
    visited (its visit begun) or skipped: it returns those that have not (empty: in
    sequence). Returning to a stop whose visit has begun is no new place in the order: the
    caller judges first arrivals only. A pending or rejected change request changes
    nothing."""
    return tuple(
        sorted(s.sequence for s in stops if s.sequence < sequence and not s.skipped and not s.begun)
    )


def check_sequence(sequence: int, earlier_unvisited: Sequence[int]) -> Verdict:
    """Stops are visited in the approved order (行为指引 3: no change of plan without the
    lead's consent). ``earlier_unvisited``: the stops before this one still to be visited
    (planned, not skipped by an approved change, their visit not begun). An approved change
    request that reorders or skips stops changes these, so it is what allows another order."""
    if not earlier_unvisited:
        return Verdict.passed()
    before = ", ".join(str(n) for n in sorted(earlier_unvisited))
    return Verdict.failed(
        "out_of_sequence",
        format_lazy(
            _(
                "Stop {sequence} comes after stop(s) {before}, not visited yet; visit"
                " them first or ask for an approved change of order."
            ),
            sequence=sequence,
            before=before,
        ),
    )


def check_frequency_cap(
    visits_that_day: int, visits_in_7_days: int, per_day: int, per_7_days: int
) -> Verdict:
    """Anti-harassment cap on visits per debtor (counts exclude the visit being opened)."""
    if visits_that_day >= per_day:
        return Verdict.failed(
            "frequency_cap",
            format_lazy(
                _("The debtor was already visited {visits_that_day} time(s) that day."),
                visits_that_day=visits_that_day,
            ),
        )
    if visits_in_7_days >= per_7_days:
        return Verdict.failed(
            "frequency_cap",
            format_lazy(
                _("The debtor was already visited {visits_in_7_days} time(s) in 7 days."),
                visits_in_7_days=visits_in_7_days,
            ),
        )
    return Verdict.passed()


@dataclass(frozen=True)
class Arrival:
    agent_id: int
    device_id: str
    captured_at: dt.datetime
    lat: float
    lon: float


def pair_arrived_together(
    arrivals: Sequence[Arrival], window: dt.timedelta, max_distance_m: float
) -> tuple[Arrival, Arrival] | None:
    """Two different agents on two different devices, within the window and distance."""
    for i, first in enumerate(arrivals):
        for second in arrivals[i + 1 :]:
            if (
                first.agent_id != second.agent_id
                and first.device_id != second.device_id
                and abs(first.captured_at - second.captured_at) <= window
                and distance_m(first.lat, first.lon, second.lat, second.lon) <= max_distance_m
            ):
                return first, second
    return None


def check_together(distance: float, max_distance_m: float) -> Verdict:
    """The two agents stay together: periodic positions within the split distance."""
    if distance > max_distance_m:
        return Verdict.failed(
            "team_split",
            format_lazy(
                _("The agents are {distance:.0f} m apart (at most {max_distance_m:.0f})."),
                distance=distance,
                max_distance_m=max_distance_m,
            ),
        )
    return Verdict.passed()


def next_due_at(last_report: dt.datetime | None, interval: dt.timedelta) -> dt.datetime | None:
    return last_report + interval if last_report else None


# The phone reminds its agent this long before their report falls due (the check-in answer's
# ``remind_at``): time to step aside and take a fix.
REMIND_BEFORE = dt.timedelta(minutes=2)


def remind_at(next_due_at: dt.datetime | None) -> dt.datetime | None:
    return next_due_at - REMIND_BEFORE if next_due_at else None


@dataclass(frozen=True)
class ClockTimes:
    """An agent's clock after a report: due, then alerted (due + grace), then escalated."""

    next_due_at: dt.datetime | None
    alert_at: dt.datetime | None
    escalate_at: dt.datetime | None


STOPPED = ClockTimes(None, None, None)


@dataclass(frozen=True)
class MissedReport:
    """An agent's periodic report that fell due and did not come within the grace."""

    agent: str
    due_at: dt.datetime
    late_report_at: dt.datetime | None  # the report that finally came, if any


def missed_reports(
    reports: Mapping[str, Sequence[tuple[dt.datetime, str]]],
    start: dt.datetime,
    end: dt.datetime,
    interval: dt.timedelta,
    grace: dt.timedelta,
) -> list[MissedReport]:
    """The reports each agent owed and missed with their due time between ``start`` and
    ``end`` (a visit from its first arrival to its close, or now), judged from the check-ins
    themselves: ``reports`` maps an agent to their check-ins on the route as (captured at,
    kind). Each is due ``interval`` after the agent's previous one (none after a return),
    and missed when the next came more than ``grace`` after that, or has not come by ``end``.
    The same clock as ``clock_times``, so the verdict does not depend on the watchdog having
    run."""
    missed = []
    for agent, given in sorted(reports.items()):
        times = sorted(given)
        for (previous, kind), following in zip(times, [*times[1:], None], strict=True):
            if kind == CheckInKind.RETURN:
                continue
            due = previous + interval
            if not start <= due <= end:
                continue
            came = following[0] if following else None
            if (came or end) > due + grace:
                missed.append(MissedReport(agent, due, came))
    return missed


def clock_times(
    last_report_at: dt.datetime,
    returned: bool,
    route_under_way: bool,
    interval: dt.timedelta,
    grace: dt.timedelta,
    escalation: dt.timedelta,
) -> ClockTimes:
    """When an agent's next report is due and when its absence alerts and escalates: every
    ``interval`` after their latest report, until they returned or the route ended; alerted
    once due + grace has passed, escalated ``escalation`` after that (``silence_level``)."""
    if returned or not route_under_way:
        return STOPPED
    due = last_report_at + interval
    return ClockTimes(due, due + grace, due + grace + escalation)


# A depart is matched by the partner's own depart within this time (rule 2: two people leave
# together); the watchdog looks once this long after it.
DEPART_TOGETHER = dt.timedelta(minutes=10)


def check_departed_together(
    departed_at: dt.datetime, partner_departs: Sequence[dt.datetime]
) -> Verdict:
    """Did a partner depart on the route within ``DEPART_TOGETHER`` of this depart?"""
    if any(abs(at - departed_at) <= DEPART_TOGETHER for at in partner_departs):
        return Verdict.passed()
    minutes = int(DEPART_TOGETHER.total_seconds() // 60)
    return Verdict.failed(
        "lone_depart",
        format_lazy(_("No partner departed within {minutes} minutes."), minutes=minutes),
    )


# Who has been told of a silent agent, by level (``silence_level``).
SILENCE_LEVELS = {1: "supervisor", 2: "risk_manager"}


def silence_level(
    now: dt.datetime, alert_at: dt.datetime | None, escalate_at: dt.datetime | None
) -> int:
    """How far an agent's clock (``clock_times``) has run out: 0 in time or nothing due; 1
    once its alert time has passed (the supervisor is told); 2 once its escalation time has
    passed too (the risk manager). The watchdog and the operations board both read this."""
    if alert_at is None or now <= alert_at:
        return 0
    return 2 if escalate_at is not None and now > escalate_at else 1
