"""Unit tests for fieldvisit.rules.evidence: plain data in, flags or a Verdict out, no database.

Every boundary is tested on both sides: exactly at a limit passes, one step past it flags.
"""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo
from typing import Any

import pytest

from fieldvisit.api.errors import status_for
from fieldvisit.choices import ReceiptOutcome
from fieldvisit.rules import RuleViolation
from fieldvisit.rules import evidence as rules
from fieldvisit.rules.checkins import distance_m
from fieldvisit.rules.evidence import VisitWindow

ZONE = zoneinfo.ZoneInfo("Asia/Shanghai")
ADDRESS = (31.2304, 121.4737)
RADIUS_M = 150.0
SECOND = dt.timedelta(seconds=1)

# A visit: the first agent arrives at 10:00, the partner at 10:04 (the visit opens), both
# have left by 10:40.
FIRST_ARRIVE = dt.datetime(2030, 6, 14, 10, 0, tzinfo=ZONE)
OPENED = FIRST_ARRIVE + dt.timedelta(minutes=4)
CLOSED = FIRST_ARRIVE + dt.timedelta(minutes=40)
VISIT = VisitWindow(FIRST_ARRIVE, OPENED, CLOSED)
DURING = FIRST_ARRIVE + dt.timedelta(minutes=20)

# About 111 m per millidegree of latitude near 31 N.
NEAR = (ADDRESS[0] + 0.0005, ADDRESS[1])  # ~56 m north
FAR = (ADDRESS[0] + 0.005, ADDRESS[1])  # ~556 m north


def flags_for(**overrides: Any) -> tuple[list[str], float | None]:
    """``photo_flags`` for a photo at the door during the open visit, with ``overrides``."""
    values: dict[str, Any] = {
        "exif_lat": NEAR[0],
        "exif_lon": NEAR[1],
        "exif_taken_at": DURING,
        "captured_at": DURING,
        "address": ADDRESS,
        "radius_m": RADIUS_M,
        "window": VISIT,
    }
    values.update(overrides)
    return rules.photo_flags(**values)


# --- photo_flags ---------------------------------------------------------------------------


def test_a_photo_at_the_door_during_the_open_visit_has_no_flags() -> None:
    flags, distance = flags_for()
    assert flags == []
    assert distance == pytest.approx(distance_m(*NEAR, *ADDRESS))
    assert 50 < distance < 60


@pytest.mark.parametrize(("exif_lat", "exif_lon"), [(None, None), (NEAR[0], None), (None, NEAR[1])])
def test_no_gps_when_either_coordinate_is_missing(
    exif_lat: float | None, exif_lon: float | None
) -> None:
    flags, distance = flags_for(exif_lat=exif_lat, exif_lon=exif_lon)
    assert flags == ["no_gps"]
    assert distance is None


def test_far_from_address_by_the_photos_own_position() -> None:
    flags, distance = flags_for(exif_lat=FAR[0], exif_lon=FAR[1])
    assert flags == ["far_from_address"]
    assert distance == pytest.approx(556, abs=2)


def test_distance_exactly_at_the_radius_passes_and_just_over_flags() -> None:
    distance = distance_m(*FAR, *ADDRESS)
    at_radius, measured = flags_for(exif_lat=FAR[0], exif_lon=FAR[1], radius_m=distance)
    assert at_radius == []
    assert measured == distance
    # The same photo, the radius one float step shorter: the photo is just over it.
    just_over, _ = flags_for(
        exif_lat=FAR[0], exif_lon=FAR[1], radius_m=math.nextafter(distance, 0.0)
    )
    assert just_over == ["far_from_address"]


def test_an_ungeocoded_address_gives_no_distance_and_no_distance_flag() -> None:
    flags, distance = flags_for(exif_lat=FAR[0], exif_lon=FAR[1], address=None)
    assert flags == []
    assert distance is None


@pytest.mark.parametrize("sign", [1, -1], ids=["exif_later", "exif_earlier"])
def test_exif_time_exactly_five_minutes_off_passes_and_one_second_more_flags(sign: int) -> None:
    five = rules.EXIF_TIME_TOLERANCE
    assert five == dt.timedelta(minutes=5)
    at_limit, _ = flags_for(exif_taken_at=DURING + sign * five)
    assert at_limit == []
    past_limit, _ = flags_for(exif_taken_at=DURING + sign * (five + SECOND))
    assert past_limit == ["exif_time_mismatch"]


def test_exif_time_in_another_offset_is_compared_as_an_instant() -> None:
    same_instant = DURING.astimezone(dt.timezone(dt.timedelta(hours=-5)))
    flags, _ = flags_for(exif_taken_at=same_instant)
    assert flags == []


def test_without_exif_time_the_device_time_is_judged_and_nothing_is_compared() -> None:
    flags, _ = flags_for(exif_taken_at=None)
    assert flags == []
    # Device time outside the visit: taken outside it (and alone), but no time mismatch.
    late = CLOSED + dt.timedelta(hours=1)
    flags, _ = flags_for(exif_taken_at=None, captured_at=late)
    assert flags == ["taken_outside_visit", "lone_agent"]


def test_the_exif_time_not_the_device_time_decides_whether_it_was_taken_in_the_visit() -> None:
    # Sent much later (queued offline), but the photo says it was taken during the visit.
    late = CLOSED + dt.timedelta(hours=2)
    flags, _ = flags_for(exif_taken_at=DURING, captured_at=late)
    assert "taken_outside_visit" not in flags
    assert flags == ["exif_time_mismatch", "lone_agent"]
    # Sent during the visit, but the photo says it was taken the day before.
    flags, _ = flags_for(exif_taken_at=DURING - dt.timedelta(days=1), captured_at=DURING)
    assert flags == ["taken_outside_visit", "exif_time_mismatch"]


def test_lone_agent_is_judged_on_the_device_time() -> None:
    # Between the first arrival and the partner's: inside the visit, but alone.
    alone = FIRST_ARRIVE + dt.timedelta(minutes=2)
    flags, _ = flags_for(exif_taken_at=alone, captured_at=alone)
    assert flags == ["lone_agent"]


def test_every_flag_at_once_in_a_stable_order() -> None:
    never_opened = VisitWindow(None, None, None)
    flags, distance = flags_for(
        exif_lat=FAR[0],
        exif_lon=FAR[1],
        exif_taken_at=DURING - dt.timedelta(hours=1),
        window=never_opened,
    )
    assert flags == ["far_from_address", "taken_outside_visit", "exif_time_mismatch", "lone_agent"]
    assert distance is not None


# --- VisitWindow ---------------------------------------------------------------------------


def test_contains_reaches_ten_minutes_before_the_first_arrival_and_no_further() -> None:
    margin = rules.VISIT_MARGIN
    assert margin == dt.timedelta(minutes=10)
    assert VISIT.contains(FIRST_ARRIVE - margin)
    assert not VISIT.contains(FIRST_ARRIVE - margin - SECOND)


def test_contains_reaches_ten_minutes_after_the_close_and_no_further() -> None:
    margin = rules.VISIT_MARGIN
    assert VISIT.contains(CLOSED + margin)
    assert not VISIT.contains(CLOSED + margin + SECOND)


def test_contains_without_a_close_has_no_end() -> None:
    ongoing = VisitWindow(FIRST_ARRIVE, OPENED, None)
    assert ongoing.contains(FIRST_ARRIVE + dt.timedelta(days=3))
    assert not ongoing.contains(FIRST_ARRIVE - rules.VISIT_MARGIN - SECOND)


def test_contains_nothing_before_anyone_arrived() -> None:
    nobody = VisitWindow(None, None, None)
    assert not nobody.contains(DURING)
    # Even with a close recorded, no first arrival means no window.
    assert not VisitWindow(None, OPENED, CLOSED).contains(DURING)


def test_was_open_from_the_opening_instant() -> None:
    assert not VISIT.was_open(OPENED - SECOND)
    assert VISIT.was_open(OPENED)
    assert VISIT.was_open(DURING)


def test_was_open_until_the_closing_instant() -> None:
    assert VISIT.was_open(CLOSED)
    assert not VISIT.was_open(CLOSED + SECOND)


def test_was_open_without_a_close_stays_open() -> None:
    ongoing = VisitWindow(FIRST_ARRIVE, OPENED, None)
    assert ongoing.was_open(OPENED + dt.timedelta(days=1))
    assert not ongoing.was_open(OPENED - SECOND)


def test_a_visit_that_never_opened_was_never_open() -> None:
    only_one_arrived = VisitWindow(FIRST_ARRIVE, None, None)
    assert not only_one_arrived.was_open(DURING)
    assert only_one_arrived.contains(DURING)


def test_was_open_compares_instants_across_offsets() -> None:
    in_utc = OPENED.astimezone(dt.UTC)
    assert VISIT.was_open(in_utc)
    assert not VISIT.was_open(in_utc - SECOND)


# --- exif_moment ---------------------------------------------------------------------------


def test_exif_moment_of_nothing_is_nothing() -> None:
    assert rules.exif_moment(None, "Asia/Shanghai") is None


def test_a_naive_exif_time_is_the_addresss_local_time() -> None:
    naive = dt.datetime(2030, 6, 14, 10, 15, 30)
    moment = rules.exif_moment(naive, "Asia/Shanghai")
    assert moment is not None
    assert moment.utcoffset() == dt.timedelta(hours=8)
    assert moment.replace(tzinfo=None) == naive
    assert moment == dt.datetime(2030, 6, 14, 2, 15, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("day", "offset_h"), [(dt.date(2030, 1, 15), -5), (dt.date(2030, 7, 15), -4)]
)
def test_a_naive_exif_time_follows_the_zones_daylight_saving(day: dt.date, offset_h: int) -> None:
    naive = dt.datetime.combine(day, dt.time(12, 0))
    moment = rules.exif_moment(naive, "America/New_York")
    assert moment is not None
    assert moment.utcoffset() == dt.timedelta(hours=offset_h)


def test_an_exif_time_with_its_own_offset_is_kept_as_it_is() -> None:
    aware = dt.datetime(2030, 6, 14, 10, 15, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    moment = rules.exif_moment(aware, "Asia/Shanghai")
    assert moment is aware
    assert moment.utcoffset() == dt.timedelta(hours=9)


# --- receipt_missing -----------------------------------------------------------------------

COMPLETE = {
    "signer_name": "Zhang San",
    "signer_relation": "spouse",
    "has_signature": True,
    "has_photo": True,
}
NOTHING = {"signer_name": "", "signer_relation": "", "has_signature": False, "has_photo": False}


@pytest.mark.parametrize(
    ("outcome", "missing"),
    [
        (ReceiptOutcome.SIGNED_BY_DEBTOR, ["signature", "signer_name"]),
        (ReceiptOutcome.SIGNED_BY_RELATION, ["signature", "signer_name", "signer_relation"]),
        (ReceiptOutcome.REFUSED, []),
        (ReceiptOutcome.NOT_DELIVERED, []),
        (ReceiptOutcome.LEFT_IN_MAILBOX, ["photo"]),
    ],
)
def test_what_each_outcome_needs_when_nothing_is_given(outcome: str, missing: list[str]) -> None:
    assert rules.receipt_missing(outcome, **NOTHING) == missing


def test_every_outcome_is_covered() -> None:
    assert set(ReceiptOutcome.values) == {
        "signed_by_debtor",
        "signed_by_relation",
        "refused",
        "not_delivered",
        "left_in_mailbox",
    }


@pytest.mark.parametrize("outcome", ReceiptOutcome.values)
def test_nothing_is_missing_when_everything_is_given(outcome: str) -> None:
    assert rules.receipt_missing(outcome, **COMPLETE) == []


@pytest.mark.parametrize(
    ("outcome", "given", "missing"),
    [
        (ReceiptOutcome.SIGNED_BY_DEBTOR, {"has_signature": False}, ["signature"]),
        (ReceiptOutcome.SIGNED_BY_DEBTOR, {"signer_name": ""}, ["signer_name"]),
        (ReceiptOutcome.SIGNED_BY_DEBTOR, {"signer_name": "  \t"}, ["signer_name"]),
        # The debtor signing needs no relation, a notice in the mailbox no signature.
        (ReceiptOutcome.SIGNED_BY_DEBTOR, {"signer_relation": ""}, []),
        (ReceiptOutcome.SIGNED_BY_RELATION, {"signer_relation": " "}, ["signer_relation"]),
        (ReceiptOutcome.SIGNED_BY_RELATION, {"has_signature": False}, ["signature"]),
        (ReceiptOutcome.LEFT_IN_MAILBOX, {"has_photo": False}, ["photo"]),
        (ReceiptOutcome.LEFT_IN_MAILBOX, {"has_signature": False, "signer_name": ""}, []),
        (ReceiptOutcome.REFUSED, {"has_signature": False, "signer_name": ""}, []),
        (ReceiptOutcome.NOT_DELIVERED, {"has_photo": False}, []),
    ],
)
def test_one_piece_missing(outcome: str, given: dict[str, Any], missing: list[str]) -> None:
    assert rules.receipt_missing(outcome, **{**COMPLETE, **given}) == missing


# --- check_notice_number -------------------------------------------------------------------


def test_the_stops_notice_number_passes() -> None:
    verdict = rules.check_notice_number("N-2030-000123", "N-2030-000123")
    assert verdict.ok
    assert verdict.code == ""


def test_surrounding_spaces_are_ignored() -> None:
    assert rules.check_notice_number("  N-2030-000123\n", "N-2030-000123").ok


@pytest.mark.parametrize(
    ("given", "stops"),
    [
        ("N-2030-000124", "N-2030-000123"),
        ("n-2030-000123", "N-2030-000123"),  # numbers are compared exactly
        ("N-2030-00012", "N-2030-000123"),
        ("", "N-2030-000123"),
        ("", ""),  # a stop without a notice accepts no receipt
        ("N-2030-000123", ""),
    ],
)
def test_any_other_number_is_a_notice_mismatch(given: str, stops: str) -> None:
    verdict = rules.check_notice_number(given, stops)
    assert verdict.ok is False
    assert verdict.code == "notice_mismatch"
    assert verdict.detail
    with pytest.raises(RuleViolation) as raised:
        verdict.raise_if_failed()
    assert (raised.value.code, status_for(raised.value.code)) == ("notice_mismatch", 422)


WIFE = rules.ListedRelation("r1", "Wang Fang", "family", False)
BROTHER = rules.ListedRelation("r2", "Li Wu", "family", True)


def test_a_notice_signed_for_the_debtor_is_signed_by_a_listed_relation_or_a_reasoned_third_party():
    """外访流程 (5) and 第三方: the signer is one of the case's relations, chosen (or named
    exactly, by phones from before the choice); anyone else only with a reason."""
    relations = [WIFE, BROTHER]
    by = ReceiptOutcome.SIGNED_BY_RELATION
    chosen = rules.judge_signer(by, relations, "r1", "", "")
    assert (chosen.verdict.ok, chosen.relation, chosen.flags) == (True, WIFE, ())
    named = rules.judge_signer(by, relations, None, " wang fang ", "")
    assert named.relation == WIFE
    assert rules.judge_signer(by, relations, "r9", "", "").verdict.code == "relation_not_listed"
    neighbour = rules.judge_signer(by, relations, None, "Zhao Liu", "")
    assert neighbour.verdict.code == "third_party_reason_required"
    reasoned = rules.judge_signer(by, relations, None, "Zhao Liu", "keeps their post")
    assert (reasoned.verdict.ok, reasoned.relation, reasoned.flags) == (
        True,
        None,
        ("unlisted_third_party",),
    )
    queued = rules.judge_signer(by, relations, None, "Zhao Liu", "", online=False)
    assert queued.flags == ("unlisted_third_party", "no_third_party_reason")
    assert rules.judge_signer(by, relations, "r2", "", "").flags == ("relation_do_not_contact",)
    debtor = ReceiptOutcome.SIGNED_BY_DEBTOR
    assert rules.judge_signer(debtor, relations, None, "Zhang San", "").verdict.ok
    assert not rules.judge_signer(debtor, relations, "r1", "Zhang San", "").verdict.ok
    for code in ("relation_not_listed", "third_party_reason_required"):
        assert status_for(code) == 422
