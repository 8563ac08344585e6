"""Unit tests for ``rules.checkin_judgement.judge_checkin``: a check-in's facts in, the refusal
or the flags and alerts out. No database, no clock."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from fieldvisit.choices import AlertKind, CheckInKind
from fieldvisit.rules.checkin_judgement import Cap, CheckInFacts, DoorFacts, judge_checkin
from fieldvisit.rules.checkins import PlacedStop

NOW = dt.datetime(2026, 11, 24, 1, 30, tzinfo=dt.UTC)
HOURS = (dt.time(8), dt.time(21))


def door(**changes) -> DoorFacts:
    """At 09:30 local, 20 m from the address, within the cap."""
    facts = DoorFacts(
        local_time=dt.time(9, 30),
        hours=HOURS,
        distance_m=20.0,
        geofence_radius_m=100.0,
        cap=Cap(that_day=0, in_7_days=0, per_day=1, per_7_days=3),
    )
    return dataclasses.replace(facts, **changes)


def facts(kind: str = CheckInKind.ARRIVE, *, ago: float = 0, **changes) -> CheckInFacts:
    """Captured ``ago`` minutes before it was received, a 10 m fix, at the door."""
    base = CheckInFacts(
        kind=kind,
        captured_at=NOW - dt.timedelta(minutes=ago),
        received_at=NOW,
        sent_at=None,
        accuracy_m=10.0,
        door=door() if kind in (CheckInKind.ARRIVE, CheckInKind.LEAVE) else None,
        partner_distance_m=None,
        split_distance_m=200.0,
    )
    return dataclasses.replace(base, **changes)


def test_a_clean_arrival_is_kept_without_flags_or_alerts():
    judged = judge_checkin(facts())
    assert (judged.refusal, judged.flags, judged.alerts) == (None, (), ())
    assert judged.clock_skew_s == 0.0  # online, measured from captured_at


BREAKS = {
    "outside_visit_hours": {"local_time": dt.time(21, 10)},
    "too_far_from_address": {"distance_m": 500.0},
    "frequency_cap": {"cap": Cap(that_day=1, in_7_days=1, per_day=1, per_7_days=3)},
}


@pytest.mark.parametrize("code", sorted(BREAKS))
def test_a_break_online_is_refused_with_its_code(code):
    judged = judge_checkin(facts(door=door(**BREAKS[code])))
    assert judged.refusal is not None
    assert judged.refusal.code == code
    assert judged.refusal.errors["rules"][0].startswith(f"{code}: ")


@pytest.mark.parametrize("code", sorted(BREAKS))
def test_the_same_break_queued_offline_is_kept_flagged_and_alerted(code):
    judged = judge_checkin(facts(ago=20, door=door(**BREAKS[code])))
    assert judged.refusal is None
    assert judged.flags == (code, "late_submission")
    assert judged.alerts == ((AlertKind.RULE_BREAK, f"The check-in broke: {code}."),)


def test_several_breaks_are_all_named_in_the_refusal():
    judged = judge_checkin(facts(door=door(local_time=dt.time(7), distance_m=900.0)))
    assert judged.refusal.code == "outside_visit_hours"
    assert [line.split(":")[0] for line in judged.refusal.errors["rules"]] == [
        "outside_visit_hours",
        "too_far_from_address",
    ]


def test_a_leave_is_never_refused_only_flagged():
    judged = judge_checkin(facts(CheckInKind.LEAVE, door=door(local_time=dt.time(21, 30))))
    assert judged.refusal is None
    assert judged.flags == ("outside_visit_hours",)
    assert judged.alerts[0][0] == AlertKind.RULE_BREAK


def test_a_leave_is_judged_by_the_hours_only():
    far = door(distance_m=5000.0, cap=Cap(that_day=9, in_7_days=9, per_day=1, per_7_days=1))
    assert judge_checkin(facts(CheckInKind.LEAVE, door=far)).flags == ()


def test_an_address_without_coordinates_is_flagged_not_refused():
    judged = judge_checkin(facts(door=door(distance_m=None)))
    assert judged.refusal is None
    assert judged.flags == ("address_not_geocoded",)
    assert judged.alerts == ()  # not a rule the agent broke


def test_a_periodic_report_far_from_the_partner_is_a_team_split():
    judged = judge_checkin(facts(CheckInKind.PERIODIC, partner_distance_m=450.0))
    assert judged.flags == ("team_split",)
    assert judged.alerts == (
        (AlertKind.TEAM_SPLIT, "The two agents reported positions too far apart."),
    )


@pytest.mark.parametrize("distance", [None, 150.0])
def test_a_periodic_report_near_or_without_a_fresh_partner_is_not_split(distance):
    assert judge_checkin(facts(CheckInKind.PERIODIC, partner_distance_m=distance)).flags == ()


def test_a_poor_fix_is_flagged_low_accuracy():
    assert judge_checkin(facts(CheckInKind.DEPART, accuracy_m=80.0)).flags == ("low_accuracy",)


def test_clock_skew_is_measured_from_sent_at_and_flagged():
    judged = judge_checkin(facts(CheckInKind.DEPART, sent_at=NOW - dt.timedelta(minutes=10)))
    assert judged.clock_skew_s == -600.0
    assert judged.flags == ("clock_skew",)


def test_an_offline_check_in_without_sent_at_says_nothing_about_the_clock():
    judged = judge_checkin(facts(CheckInKind.DEPART, ago=30))
    assert judged.clock_skew_s is None
    assert judged.flags == ("late_submission",)


def test_flags_keep_their_order():
    judged = judge_checkin(
        facts(CheckInKind.LEAVE, ago=20, accuracy_m=99.0, door=door(local_time=dt.time(22)))
    )
    assert judged.flags == ("outside_visit_hours", "late_submission", "low_accuracy")


def test_an_escort_to_a_bank_counter_is_not_a_second_visit_but_keeps_the_order():
    """行为指引 4: the bank counter is the same contact as the door (no cap), yet an arrival
    there is judged in the approved order like any stop's."""
    capped = Cap(that_day=1, in_7_days=1, per_day=1, per_7_days=3)
    assert judge_checkin(facts(door=door(cap=capped, escort=True))).refusal is None
    assert judge_checkin(facts(door=door(cap=capped))).refusal.code == "frequency_cap"
    out = door(escort=True, sequence=3, route_stops=(PlacedStop(2, False, False),))
    assert judge_checkin(facts(door=out)).refusal.code == "out_of_sequence"
