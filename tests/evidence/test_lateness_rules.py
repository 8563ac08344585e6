"""Unit tests for fieldvisit.rules.lateness: evidence received after the close or the review.

Every boundary on both sides: exactly at the grace is in time, one second past it is late.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from fieldvisit.rules import lateness as rules

ZONE = zoneinfo.ZoneInfo("Asia/Shanghai")
SECOND = dt.timedelta(seconds=1)
MINUTE = dt.timedelta(minutes=1)
GRACE = rules.SUBMISSION_GRACE
CLOSED = dt.datetime(2030, 6, 14, 10, 40, tzinfo=ZONE)
DURING = CLOSED - 20 * MINUTE


def test_the_grace_is_the_check_in_online_window() -> None:
    assert GRACE.total_seconds() == 300


def test_nothing_is_late_before_the_visit_closed() -> None:
    assert rules.late_by_s(None, CLOSED + dt.timedelta(days=2), DURING) is None
    assert rules.late_by_s(CLOSED, CLOSED, DURING) is None
    assert rules.late_by_s(CLOSED, CLOSED - SECOND, DURING) is None


def test_captured_during_the_visit_and_sent_after_the_close() -> None:
    # Sent from the doorstep as the agents leave: within the grace.
    assert rules.late_by_s(CLOSED, CLOSED + GRACE, DURING) is None
    # Held back on the phone: flagged, with how long after the close it arrived.
    assert rules.late_by_s(CLOSED, CLOSED + GRACE + SECOND, DURING) == 301.0
    assert rules.late_by_s(CLOSED, CLOSED + 35 * MINUTE, DURING) == 2100.0


def test_the_grace_runs_from_the_end_of_the_items_own_capture() -> None:
    # The segment that records the leave ends 3 minutes after the close and cannot be sent
    # before it ends: sent 5 minutes after its end, it is on time.
    end = CLOSED + 3 * MINUTE
    assert rules.late_by_s(CLOSED, end + GRACE, end) is None
    # One second more and it waited on the phone; late_by_s still counts from the close.
    assert rules.late_by_s(CLOSED, end + GRACE + SECOND, end) == 481.0


def test_a_capture_after_the_close_sent_at_once_is_not_a_late_submission() -> None:
    # (The evidence rules flag the capture itself: lone_agent, taken_outside_visit.)
    taken = CLOSED + 2 * dt.timedelta(hours=1)
    assert rules.late_by_s(CLOSED, taken + MINUTE, taken) is None
    assert rules.late_by_s(CLOSED, taken + GRACE + SECOND, taken) == 7501.0


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 s"), (59, "59 s"), (60, "1 min"), (2100, "35 min"), (3599, "59 min"),
     (3600, "1 h 00 min"), (11100, "3 h 05 min")],
)  # fmt: skip
def test_lateness_text(seconds: float, text: str) -> None:
    assert rules.lateness_text(seconds) == text
