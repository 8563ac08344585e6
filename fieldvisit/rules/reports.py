"""Who may file and co-sign a visit's report (DESIGN rules 9 and 11).

A report attests what the agents saw at the door, so only an agent who arrived at the visit
writes or co-signs one; the co-signature also attests the closing statement, so it waits for
the visit to close.
"""

from __future__ import annotations

from collections.abc import Collection

from fieldvisit.rules import Verdict
from fieldvisit.texts import _


def check_may_file(arrived: Collection[int], agent_id: int) -> Verdict:
    """A report is filed once the visit has begun (``arrived`` holds whoever arrived at it),
    by one of the agents who arrived."""
    if not arrived:
        return Verdict.failed(
            "visit_not_started",
            _("Nobody has arrived at this visit yet: there is nothing to report."),
        )
    if agent_id not in arrived:
        return Verdict.failed(
            "not_at_visit", _("Only an agent who arrived at the visit files its report.")
        )
    return Verdict.passed()


def check_may_cosign(arrived: Collection[int], agent_id: int, visit_closed: bool) -> Verdict:
    """The co-signer arrived at the visit, and signs once both agents have left."""
    if agent_id not in arrived:
        return Verdict.failed(
            "not_at_visit", _("Only an agent who arrived at the visit co-signs its report.")
        )
    if not visit_closed:
        return Verdict.failed(
            "visit_not_closed",
            _(
                "The report is co-signed once both agents have left: it attests the "
                "closing statement."
            ),
        )
    return Verdict.passed()
