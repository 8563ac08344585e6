"""Unit tests for fieldvisit.rules.reports: who may file and co-sign a report, no database."""

from __future__ import annotations

from fieldvisit.rules import Verdict
from fieldvisit.rules import reports as rules

AUTHOR, PARTNER, STRANGER = 1, 2, 3


def assert_failed(verdict: Verdict, code: str) -> None:
    assert verdict.ok is False
    assert verdict.code == code
    assert verdict.detail  # every refusal says why, in words


def test_nothing_is_filed_before_anyone_arrived() -> None:
    assert_failed(rules.check_may_file(set(), AUTHOR), "visit_not_started")


def test_only_an_agent_who_arrived_files() -> None:
    assert_failed(rules.check_may_file({AUTHOR, PARTNER}, STRANGER), "not_at_visit")


def test_an_agent_who_arrived_files_before_the_visit_closes() -> None:
    assert rules.check_may_file({AUTHOR}, AUTHOR).ok


def test_only_an_agent_who_arrived_cosigns() -> None:
    assert_failed(rules.check_may_cosign({AUTHOR}, PARTNER, visit_closed=True), "not_at_visit")


def test_cosigning_waits_for_the_visit_to_close() -> None:
    verdict = rules.check_may_cosign({AUTHOR, PARTNER}, PARTNER, visit_closed=False)
    assert_failed(verdict, "visit_not_closed")


def test_the_partner_cosigns_a_closed_visit() -> None:
    assert rules.check_may_cosign({AUTHOR, PARTNER}, PARTNER, visit_closed=True).ok
