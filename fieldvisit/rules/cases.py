"""Whether a case may be visited: its status and the debtor's do-not-contact flag.

The seeds forbid visiting a debtor the company has agreed not to contact, and a case put on
hold, disputed, paid or closed is not one to knock for. Route submission and approval check
every stop's case; every arrival checks it again, since the status may change after the route
was approved (refused online, kept with a flag and an alert when it was queued offline).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from fieldvisit.choices import CaseStatus
from fieldvisit.rules import Verdict
from fieldvisit.texts import _, format_lazy


@dataclass(frozen=True)
class CaseState:
    number: str
    status: str
    reason: str
    do_not_contact: bool


def _status_label(status: str) -> str:
    return CaseStatus(status).label if status in CaseStatus.values else status


def check_case_visitable(case: CaseState) -> Verdict:
    """Not flagged do-not-contact, and open."""
    because = format_lazy(_(" ({reason})"), reason=case.reason) if case.reason else ""
    if case.do_not_contact:
        return Verdict.failed(
            "do_not_contact",
            format_lazy(
                _("Case {number}: the debtor may not be contacted{because}."),
                number=case.number,
                because=because,
            ),
        )
    if case.status != CaseStatus.OPEN:
        return Verdict.failed(
            "case_not_open",
            format_lazy(
                _("Case {number} is not open: {status}{because}."),
                number=case.number,
                status=_status_label(case.status),
                because=because,
            ),
        )
    return Verdict.passed()


def check_cases_visitable(cases: Collection[CaseState]) -> Verdict:
    """Every stop's case may be visited; the first code found, with every case named."""
    broken = [verdict for verdict in map(check_case_visitable, cases) if not verdict.ok]
    if not broken:
        return Verdict.passed()
    codes = [verdict.code for verdict in broken]
    code = "do_not_contact" if "do_not_contact" in codes else "case_not_open"
    return Verdict.failed(
        code, format_lazy(" ".join(["{}"] * len(broken)), *(v.detail for v in broken))
    )
