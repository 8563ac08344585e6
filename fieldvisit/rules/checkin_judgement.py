"""One check-in judged as a whole: refused, or kept with its flags and the alerts it raises.

The action gathers the facts under its locks (``CheckInFacts``); ``judge_checkin`` decides,
from those facts alone. Online (captured under five minutes ago) a break of a deferrable
rule is refused with its code, so the phone can stop the agent; offline it records what
already happened: kept, flagged, and the supervisor alerted. A leave is never refused: the
phone cannot stop a visit that has already run late, and refusing would leave it open.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from fieldvisit.choices import AlertKind, CheckInKind
from fieldvisit.rules import Verdict
from fieldvisit.rules.cases import CaseState, check_case_visitable
from fieldvisit.rules.checkins import (
    DEFERRABLE,
    LOW_ACCURACY_M,
    PlacedStop,
    check_frequency_cap,
    check_geofence,
    check_sequence,
    check_together,
    check_visit_hours,
    clock_skew_s,
    earlier_unvisited,
    is_online,
    skew_is_evident,
)
from fieldvisit.texts import _, format_lazy


@dataclass(frozen=True)
class Cap:
    """The debtor's visits that already began, and the creditor's caps on them."""

    that_day: int
    in_7_days: int
    per_day: int
    per_7_days: int


@dataclass(frozen=True)
class DoorFacts:
    """What an arrival or a leave is judged by at the debtor's door."""

    local_time: dt.time
    hours: tuple[dt.time, dt.time]
    distance_m: float | None  # None: the address has no coordinates
    geofence_radius_m: float
    cap: Cap | None  # the visit's first arrival only
    sequence: int = 0
    # The route's stops as the approved order stands now (``rules.checkins.PlacedStop``).
    route_stops: tuple[PlacedStop, ...] = ()
    case: CaseState | None = None  # its status as it is now: judged at every arrival
    # A bank counter the debtor is escorted to (an approved escort change request): the same
    # contact as the visit at the door, so no visit of its own under the caps.
    escort: bool = False


@dataclass(frozen=True)
class CheckInFacts:
    kind: str
    captured_at: dt.datetime
    received_at: dt.datetime
    sent_at: dt.datetime | None
    accuracy_m: float
    door: DoorFacts | None  # arrive and leave at a stop
    partner_distance_m: float | None  # periodic, with the partner's fresh position
    split_distance_m: float


@dataclass(frozen=True)
class Refusal:
    code: str
    detail: str
    errors: dict[str, list[str]]


@dataclass(frozen=True)
class Judgement:
    refusal: Refusal | None
    flags: tuple[str, ...]
    clock_skew_s: float | None
    alerts: tuple[tuple[str, str], ...]  # (alert kind, detail), in the order they are raised


ALERT_DETAILS = {
    AlertKind.RULE_BREAK: _("The check-in broke: {codes}."),
    AlertKind.TEAM_SPLIT: _("The two agents reported positions too far apart."),
}


def door_verdicts(kind: str, door: DoorFacts, accuracy_m: float) -> list[Verdict]:
    """Hours (arrive and leave), then the case's status, the geofence, the frequency cap and
    the approved order (arrive)."""
    verdicts = [check_visit_hours(door.local_time, *door.hours)]
    if kind == CheckInKind.ARRIVE:
        if door.case is not None:
            verdicts.append(check_case_visitable(door.case))
        if door.distance_m is None:
            # Routes are approved with geocoded stops only; should an address lose its
            # coordinates anyway, the arrival is kept but the geofence is not judged passed.
            verdicts.append(
                Verdict.failed("address_not_geocoded", _("The address has no coordinates."))
            )
        else:
            verdicts.append(check_geofence(door.distance_m, accuracy_m, door.geofence_radius_m))
        if door.cap is not None:  # the visit's first arrival
            cap = door.cap
            if not door.escort:
                verdicts.append(
                    check_frequency_cap(cap.that_day, cap.in_7_days, cap.per_day, cap.per_7_days)
                )
            before = earlier_unvisited(door.route_stops, door.sequence)
            verdicts.append(check_sequence(door.sequence, before))
    return verdicts


def _refusal(kind: str, online: bool, broken: list[Verdict]) -> Refusal | None:
    refusable = [v for v in broken if v.code in DEFERRABLE]
    if not refusable or not online or kind == CheckInKind.LEAVE:
        return None
    return Refusal(
        refusable[0].code,
        format_lazy(" ".join(["{}"] * len(refusable)), *(v.detail for v in refusable)),
        {"rules": [format_lazy("{}: {}", v.code, v.detail) for v in refusable]},
    )


def _alerts(flags: list[str]) -> tuple[tuple[str, str], ...]:
    found = {
        AlertKind.RULE_BREAK: [f for f in flags if f in DEFERRABLE],
        AlertKind.TEAM_SPLIT: [f for f in flags if f == "team_split"],
    }
    return tuple(
        (kind, format_lazy(ALERT_DETAILS[kind], codes=", ".join(codes)))
        for kind, codes in found.items()
        if codes
    )


def judge_checkin(facts: CheckInFacts) -> Judgement:
    online = is_online(facts.captured_at, facts.received_at)
    broken = []
    if facts.door is not None:
        broken = [v for v in door_verdicts(facts.kind, facts.door, facts.accuracy_m) if not v.ok]
    refusal = _refusal(facts.kind, online, broken)
    flags = [v.code for v in broken]
    if facts.kind == CheckInKind.PERIODIC and facts.partner_distance_m is not None:
        together = check_together(facts.partner_distance_m, facts.split_distance_m)
        if not together.ok:
            flags.append(together.code)
    if not online:
        flags.append("late_submission")
    if facts.accuracy_m > LOW_ACCURACY_M:
        flags.append("low_accuracy")
    skew = clock_skew_s(facts.captured_at, facts.received_at, facts.sent_at)
    if skew_is_evident(skew, facts.sent_at is not None):
        flags.append("clock_skew")
    return Judgement(refusal, tuple(flags), skew, _alerts(flags))
