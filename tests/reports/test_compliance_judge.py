"""Unit tests for ``compliance.judge``: a visit's records built by hand (unsaved model rows),
judged without a database or a clock."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import pytest

from fieldvisit.choices import CheckInKind, PhotoKind, ReceiptOutcome, RouteStatus
from fieldvisit.compliance import Check, Compliance, judge
from fieldvisit.geo import local_text
from fieldvisit.models import Address, CheckIn, Photo, Receipt, Route, Stop, Visit
from fieldvisit.queries.recordings import VisitRecording
from fieldvisit.queries.visits import VisitRecords
from fieldvisit.rules.checkins import MissedReport
from fieldvisit.rules.recording import RecordingVerdict
from tests.helpers import COMPLIANCE_CHECKS

AT = dt.datetime(2026, 11, 24, 1, 30, tzinfo=dt.UTC)


def visit(opened: bool = True) -> Visit:
    route = Route(status=RouteStatus.APPROVED, decided_by_id=5, decided_at=AT)
    stop = Stop(route=route, address=Address(timezone="Asia/Shanghai"))
    return Visit(stop=stop, opened_at=AT if opened else None)


def arrival(*flags: str) -> CheckIn:
    return CheckIn(id=uuid.uuid4(), kind=CheckInKind.ARRIVE, flags=list(flags), captured_at=AT)


def door_photo(*flags: str, partner: bool = True) -> Photo:
    return Photo(
        kind=PhotoKind.DOOR, partner_in_frame=partner, flags=list(flags), file_id="ab" * 32
    )


def recording(valid: bool = True) -> VisitRecording:
    verdict = RecordingVerdict(True, valid, [], [], AT, AT, valid, "Continuous, 1 segment.")
    return VisitRecording(uuid.uuid4(), (), verdict)


def records(**changes) -> VisitRecords:
    """A visit that passes every check but the co-signed report (none filed)."""
    base = VisitRecords(
        visit=visit(),
        checkins=(arrival(), arrival()),
        photos=(door_photo(),),
        receipts=(Receipt(notice_number="N-1", outcome=ReceiptOutcome.SIGNED_BY_DEBTOR),),
        recording=recording(),
        report=None,
        missed_reports=(),
    )
    return dataclasses.replace(base, **changes)


def failed(compliance: Compliance) -> list[str]:
    return [name for name, check in compliance.checks.items() if not check.ok]


def test_the_checks_come_in_a_fixed_order_and_all_must_pass():
    judged = judge(records())
    assert list(judged.checks) == COMPLIANCE_CHECKS
    assert failed(judged) == ["report_cosigned"]
    assert judged.ok is False
    assert judged.checks["report_cosigned"] == Check(False, "No visit report filed.")


def test_a_visit_never_visited_fails_what_needs_an_arrival():
    judged = judge(
        records(
            visit=visit(opened=False),
            checkins=(),
            photos=(),
            receipts=(),
            recording=VisitRecording(None, (), recording().verdict),
        )
    )
    assert failed(judged) == COMPLIANCE_CHECKS[1:]
    assert judged.checks["checkins_on_time"].detail == "Not visited yet."
    assert judged.checks["recording"].detail == "No recording uploaded."


@pytest.mark.parametrize(
    ("flag", "check"),
    [
        ("outside_visit_hours", "within_hours"),
        ("too_far_from_address", "geofence"),
        ("address_not_geocoded", "geofence"),
        ("frequency_cap", "frequency_cap"),
    ],
)
def test_a_flag_on_an_arrival_fails_its_check(flag, check):
    judged = judge(records(checkins=(arrival(), arrival(flag))))
    assert failed(judged) == [check, "report_cosigned"]
    assert "(1 check-in(s))" in judged.checks[check].detail


def test_missed_check_ins_during_the_visit_fail_checkins_on_time():
    missed = (
        MissedReport("agent_b", AT, None),
        MissedReport("agent_a", AT + dt.timedelta(minutes=30), AT + dt.timedelta(minutes=45)),
    )
    judged = judge(records(missed_reports=missed))
    assert judged.checks["checkins_on_time"] == Check(
        False,
        "2 check-in(s) missed during the visit: agent_b missed the check-in due at "
        f"{local_text(AT, 'Asia/Shanghai')}; agent_a missed the check-in due at "
        f"{local_text(AT + dt.timedelta(minutes=30), 'Asia/Shanghai')} (reported "
        f"{local_text(AT + dt.timedelta(minutes=45), 'Asia/Shanghai')}).",
    )


@pytest.mark.parametrize(
    ("photo", "detail"),
    [
        (door_photo(partner=False), "The door photos do not show the partner in frame."),
        (door_photo("lone_agent"), "The door photos with the partner are flagged: lone_agent."),
    ],
)
def test_a_door_photo_must_show_the_partner_while_both_were_there(photo, detail):
    assert judge(records(photos=(photo,))).checks["door_photo"] == Check(False, detail)


def test_an_invalid_recording_fails_with_its_verdicts_sentence():
    judged = judge(records(recording=recording(valid=False)))
    assert judged.checks["recording"] == Check(False, "Continuous, 1 segment.")


def test_the_verdict_as_json_and_back():
    judged = judge(records())
    stored = judged.as_dict()
    assert stored["ok"] is False
    assert list(stored["checks"]) == COMPLIANCE_CHECKS
    assert stored["checks"]["door_photo"]["ok"] is True
    assert Compliance.from_dict(stored) == judged
