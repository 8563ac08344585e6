"""Unit tests for fieldvisit.rules.qualifications: an agent's papers on a day, no database."""

from __future__ import annotations

import datetime as dt

from fieldvisit.choices import DocumentKind
from fieldvisit.rules.qualifications import (
    AGREEMENT,
    REQUIRED,
    Paper,
    Papers,
    check_papers,
    expiring,
    paper_errors,
)

DAY = dt.date(2030, 6, 14)


def held(until: dt.date = DAY + dt.timedelta(days=365), **overrides: dt.date | None) -> Papers:
    """Every required paper, issued a year before DAY, in force until ``until`` (a kind set to
    None is missing; a kind set to a date expires then)."""
    documents = []
    for kind in REQUIRED:
        expires = overrides.get(kind.value, until)
        if expires is not None:
            documents.append(Paper(kind, DAY - dt.timedelta(days=365), expires))
    return Papers(documents=tuple(documents))


def test_every_paper_in_force_passes() -> None:
    assert check_papers(held(), DAY).ok


def test_a_missing_or_expired_paper_fails_naming_it() -> None:
    verdict = check_papers(held(credit_report=None), DAY)
    assert verdict.code == "agent_not_qualified"
    assert "Personal credit report" in verdict.detail
    expired = check_papers(held(criminal_record=DAY - dt.timedelta(days=1)), DAY)
    assert "Certificate of no criminal record" in expired.detail
    # The last day in force still counts; the day after does not.
    assert check_papers(held(training=DAY), DAY).ok
    assert not check_papers(held(training=DAY), DAY + dt.timedelta(days=1)).ok


def test_a_paper_issued_after_the_day_does_not_count_for_it() -> None:
    later = Papers(
        documents=tuple(
            Paper(k, DAY + dt.timedelta(days=1), DAY + dt.timedelta(days=90)) for k in REQUIRED
        )
    )
    assert not check_papers(later, DAY).ok


def test_an_outsourced_agent_needs_the_agencys_agreement_and_an_active_agency() -> None:
    base = held()
    outsourced = Papers(documents=base.documents, outsourced=True)
    assert "agency agreement" in check_papers(outsourced, DAY).detail
    agreement = (Paper(AGREEMENT, DAY - dt.timedelta(days=10), DAY + dt.timedelta(days=10)),)
    signed = Papers(documents=base.documents, outsourced=True, agreements=agreement)
    assert check_papers(signed, DAY).ok
    closed = Papers(
        documents=base.documents, outsourced=True, agreements=agreement, agency_active=False
    )
    assert not check_papers(closed, DAY).ok


def test_expiring_warns_30_days_ahead_unless_renewed() -> None:
    soon = held(credit_report=DAY + dt.timedelta(days=20))
    assert expiring(soon, DAY) == [(DocumentKind.CREDIT_REPORT.value, DAY + dt.timedelta(days=20))]
    assert expiring(held(credit_report=DAY + dt.timedelta(days=30)), DAY) == []
    renewal = Paper(
        DocumentKind.CREDIT_REPORT, DAY + dt.timedelta(days=5), DAY + dt.timedelta(days=200)
    )
    renewed = Papers(documents=(*soon.documents, renewal))
    assert expiring(renewed, DAY) == []


def test_a_papers_dates_must_be_possible() -> None:
    assert paper_errors(DAY, DAY, DAY) == {}
    assert set(paper_errors(DAY + dt.timedelta(days=1), DAY + dt.timedelta(days=2), DAY)) == {
        "issued_on"
    }
    assert set(paper_errors(DAY, DAY - dt.timedelta(days=1), DAY)) == {"expires_on"}
