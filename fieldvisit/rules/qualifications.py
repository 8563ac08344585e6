"""An agent's qualification on a day (seeds: 外访催收作业人员诚信规定; issue: qualified agents).

Only those confirmed by the police and the credit bureau to have no criminal record and no
bad credit may do field work: the papers that prove it (无犯罪记录证明, 个人征信报告) are on
file, each with its date and expiry, the agent has completed training, and an outsourced
agent's agency has an agreement in force. Judged on the day a route is walked: a paper that
expires before then keeps the agent off the route; 30 days before, supervisors are warned.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from fieldvisit.choices import DocumentKind
from fieldvisit.rules import Verdict
from fieldvisit.texts import _, format_lazy

# The papers every agent needs.
REQUIRED = (DocumentKind.CRIMINAL_RECORD, DocumentKind.CREDIT_REPORT, DocumentKind.TRAINING)
WARN_DAYS = 30
AGREEMENT = "agency_agreement"  # the outsourcing agreement, named beside the document kinds


@dataclass(frozen=True)
class Paper:
    """One paper on file: a document of the agent's, or their agency's agreement."""

    kind: str
    issued_on: dt.date
    expires_on: dt.date


@dataclass(frozen=True)
class Papers:
    """What an agent's qualification holds, as the rules need it."""

    documents: tuple[Paper, ...] = ()
    outsourced: bool = False  # employed through an agency (外包)
    agency_active: bool = True
    agreements: tuple[Paper, ...] = ()


def paper_name(kind: str) -> str:
    if kind == AGREEMENT:
        return str(_("agency agreement"))
    return str(DocumentKind(kind).label)


def _valid_until(papers: Sequence[Paper], kind: str, on: dt.date) -> dt.date | None:
    """The latest expiry of the papers of ``kind`` in force on ``on`` (None: none is)."""
    ends = [p.expires_on for p in papers if p.kind == kind and p.issued_on <= on <= p.expires_on]
    return max(ends) if ends else None


def _needed(papers: Papers) -> list[tuple[str, tuple[Paper, ...]]]:
    needed = [(kind.value, papers.documents) for kind in REQUIRED]
    if papers.outsourced:
        needed.append((AGREEMENT, papers.agreements))
    return needed


def missing_papers(papers: Papers, on: dt.date) -> list[str]:
    """The names of the papers not in force on ``on`` (an inactive agency counts as its
    agreement missing)."""
    missing = []
    for kind, held in _needed(papers):
        lapsed = kind == AGREEMENT and not papers.agency_active
        if lapsed or _valid_until(held, kind, on) is None:
            missing.append(paper_name(kind))
    return missing


def check_papers(papers: Papers, on: dt.date) -> Verdict:
    """Every paper in force on ``on``: the proof of no criminal record, the credit report,
    training, and for an outsourced agent their agency's agreement."""
    if missing := missing_papers(papers, on):
        return Verdict.failed(
            "agent_not_qualified",
            format_lazy(
                _("Not in force on {day}: {papers}."), day=on.isoformat(), papers=", ".join(missing)
            ),
        )
    return Verdict.passed()


def expiring(papers: Papers, on: dt.date, days: int = WARN_DAYS) -> list[tuple[str, dt.date]]:
    """The papers in force on ``on`` that run out within ``days`` with no renewal on file
    (a renewal is a later paper of the same kind): (kind, last day in force), soonest first."""
    soon = []
    for kind, held in _needed(papers):
        until = _valid_until(held, kind, on)
        # Follow renewals: a paper issued while the current one is in force extends it.
        while until is not None:
            later = _valid_until(held, kind, until + dt.timedelta(days=1))
            if later is None:
                break
            until = later
        if until is not None and until < on + dt.timedelta(days=days):
            soon.append((kind, until))
    return sorted(soon, key=lambda item: (item[1], item[0]))


def paper_errors(issued_on: dt.date, expires_on: dt.date, today: dt.date) -> dict[str, list[str]]:
    """What is wrong with a paper's dates, by field: issued in the future, or expiring
    before it was issued."""
    errors: dict[str, list[str]] = {}
    if issued_on > today:
        errors["issued_on"] = [str(_("A paper cannot be issued in the future."))]
    if expires_on < issued_on:
        errors["expires_on"] = [str(_("A paper cannot expire before it was issued."))]
    return errors
