"""Evidence that arrives after the visit closed, or after its review (rules in
``fieldvisit.rules.lateness``).

The actions that record a photo, a receipt or an audio segment call ``arriving`` inside their
own transaction: it locks the visit (before the ledger's lock, like every writer of a visit's
records) and only then takes the time of arrival; ``Arrival.recorded`` follows the record's
ledger entry. A check-in locks the visit itself (``checkins.record_checkin``, after its
route) and is judged late by the check-in rules; a report (``reports.file_report``) calls
``review_reopened``. A review takes the same lock, so a review and a late item cannot pass
each other: either the review saw the item (its ledger entry comes before the review's), or
the item re-opens the review (its entry comes after).

What came after a review is decided by the ledger, never by clocks: the review keeps the
index of its ``visit.reviewed`` entry (``VisitReview.ledger_index``), and the visit's
records with a greater index (``queries.visits.review_state``) are the ones it did not see. The
ledger's order is the order of commits; time stamps from two clocks (two servers, a clock
stepped back) need not be.

Re-opening changes no record: the review stays as it was written, with the compliance
verdict it was made on (``VisitReview.compliance``). The visit moves from ``reviewed`` back
to ``reported`` (a co-signed report awaiting review), the supervisors are alerted, and the
ledger says which item re-opened which review.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from fieldvisit.actions import alerts
from fieldvisit.actions.common import lock_visit
from fieldvisit.choices import AlertKind, VisitStatus
from fieldvisit.geo import local_text
from fieldvisit.ledger import store as ledger
from fieldvisit.models import Visit
from fieldvisit.queries.visits import latest_review
from fieldvisit.rules import lateness as rules
from fieldvisit.texts import _, format_lazy

# How each kind of record is named to people (alerts, the admin review page).
KIND_NAMES = {
    "photo": _("Photo"),
    "receipt": _("Receipt"),
    "segment": _("Audio segment"),
    "checkin": _("Check-in"),
    "report": _("Report"),
}


@dataclass
class Arrival:
    """A record reaching its ``visit`` (locked): when, with which flags, how late."""

    visit: Visit
    received_at: dt.datetime
    flags: list[str]
    late_by_s: float | None = None

    def recorded(
        self, *, kind: str, record_id: Any, actor: dict[str, Any], agent: Any, **alert_fields: Any
    ) -> None:
        """The record of ``kind`` is written with its ledger entry: if the visit stood
        reviewed, re-open its review (the visit awaits a new one) and alert the supervisors."""
        visit = self.visit
        if visit.status != VisitStatus.REVIEWED:
            return
        change = {"from": visit.status, "to": VisitStatus.REPORTED}
        visit.status = VisitStatus.REPORTED
        visit.save(update_fields=["status"])
        review_reopened(
            visit,
            kind=kind,
            record_id=record_id,
            received_at=self.received_at,
            actor=actor,
            agent=agent,
            flags=self.flags,
            late_by_s=self.late_by_s,
            change=change,
            **alert_fields,
        )


def arriving(
    visit_id: Any, flags: list[str], captured_end: dt.datetime, now: dt.datetime | None = None
) -> Arrival:
    """Lock the visit, then take the time of arrival (so that, on one clock, the order of
    the visit's times is the order of its commits) and flag ``late_submission`` when the item
    waited on the phone past the visit's close. ``captured_end``: when the item's own capture
    ended (a photo's or receipt's ``captured_at``; a segment's start plus its duration)."""
    visit = lock_visit(visit_id)
    received_at = now or timezone.now()
    late_by = rules.late_by_s(visit.closed_at, received_at, captured_end)
    if late_by is not None:
        flags = [*flags, rules.LATE_SUBMISSION]
    return Arrival(visit, received_at, flags, late_by)


def _reopened_text(
    visit: Visit,
    review: Any,
    what: str,
    received_at: dt.datetime,
    late_by_s: float | None,
    flags: list[str],
) -> str:
    """The alert's sentence: what reached us when, how late, after which review."""
    zone = visit.stop.address.zone_name
    late = (
        format_lazy(
            _(", {lateness} after the visit closed"),
            lateness=rules.lateness_text(late_by_s),
        )
        if late_by_s is not None
        else ""
    )
    reviewed = (
        format_lazy(
            _("the review of {reviewed_at} by {reviewer}"),
            reviewed_at=local_text(review.created_at, zone),
            reviewer=review.reviewer.get_username(),
        )
        if review is not None
        else _("the review")
    )
    return format_lazy(
        _(
            "{what} reached us {received_at}{late}, after {reviewed}; flags: {flags}. The "
            "review stands as recorded; the visit needs a new review."
        ),
        what=what,
        received_at=local_text(received_at, zone),
        late=late,
        reviewed=reviewed,
        flags=", ".join(flags) or _("none"),
    )


def review_reopened(
    visit: Visit,
    *,
    kind: str,
    record_id: Any,
    received_at: dt.datetime,
    actor: dict[str, Any],
    agent: Any,
    flags: list[str],
    late_by_s: float | None,
    change: dict[str, str] | None,
    **alert_fields: Any,
) -> None:
    """Ledger the re-opening of the visit's latest review by ``record_id`` and alert the
    supervisors (``change``: the visit's status change, when this step made it)."""
    review = latest_review(visit)
    detail = _reopened_text(
        visit,
        review,
        format_lazy("{} {}", KIND_NAMES[kind], record_id),
        received_at,
        late_by_s,
        flags,
    )
    alert_id = uuid.uuid4()
    ledger.append(
        "visit.review_reopened",
        actor,
        f"visit:{visit.id}",
        {
            "review": review.id if review is not None else None,
            "reviewed_at": review.created_at if review is not None else None,
            "received": {"kind": kind, "id": record_id},
            "received_at": received_at,
            "late_by_s": late_by_s,
            "flags": flags,
            "alert": alert_id,
            "visit_status": change,
        },
    )
    alerts.raise_alert(
        kind=AlertKind.LATE_EVIDENCE,
        team=visit.stop.route.team,
        detail=detail,
        actor=actor,
        alert_id=alert_id,
        route=visit.stop.route,
        visit=visit,
        raised_by=agent,
        **alert_fields,
    )
