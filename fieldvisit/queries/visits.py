"""A visit's records, read once in one shape (``VisitRecords``), and what its latest review
did not see.

Everything a visit is judged and shown by (its API answer, the legal timeline, admin review,
a bundle's report and manifest) reads ``visit_records``: each kind of record in one query, in
a fixed order. ``compliance.judge`` then decides from the records alone.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db.models import F, Q, Subquery
from django.utils import timezone

from fieldvisit.choices import CheckInKind, VisitStatus
from fieldvisit.models import (
    CheckIn,
    LedgerEntry,
    Photo,
    Receipt,
    Route,
    Visit,
    VisitReport,
    VisitReview,
)
from fieldvisit.queries.recordings import VisitRecording, visit_bounds, visit_recording
from fieldvisit.queries.timing import route_timing
from fieldvisit.rules.checkins import MissedReport, missed_reports
from fieldvisit.rules.evidence import VisitWindow


@dataclass(frozen=True)
class VisitRecords:
    visit: Visit
    checkins: tuple[CheckIn, ...]
    photos: tuple[Photo, ...]
    receipts: tuple[Receipt, ...]
    recording: VisitRecording
    report: VisitReport | None  # the current report: the head of the visit's chain
    missed_reports: tuple[MissedReport, ...]  # due while the visit was under way


def current_report(visit: Visit | Any) -> VisitReport | None:
    """The head of the visit's report chain (the report nothing corrects), in one query,
    with its author and co-signature."""
    visit_id = getattr(visit, "pk", visit)
    return (
        VisitReport.objects.filter(visit_id=visit_id, corrected_by__isnull=True)
        .select_related("author", "cosignature__agent", "corrected_by")
        .order_by("-received_at")
        .first()
    )


def missed_during(visit: Visit, checkins: Iterable[CheckIn]) -> tuple[MissedReport, ...]:
    """The reports the visit's agents missed with their due time while it was under way
    (from its first arrival to its close, or now), judged from their check-ins on the route
    (``rules.checkins.missed_reports``): a missed report at 17:00 says nothing about a visit
    that ended at 10:00. No arrival: nothing to judge, and no query."""
    arrivals = [c for c in checkins if c.kind == CheckInKind.ARRIVE]
    if not arrivals:
        return ()
    start = min(c.captured_at for c in arrivals)
    end = visit.closed_at or timezone.now()
    rows = CheckIn.objects.filter(
        route_id=visit.stop.route_id,
        agent_id__in={c.agent_id for c in arrivals},
        captured_at__lte=end,
    ).values_list("agent__username", "captured_at", "kind")
    reports: dict[str, list[tuple[dt.datetime, str]]] = {}
    for agent, captured_at, kind in rows:
        reports.setdefault(agent, []).append((captured_at, kind))
    timing = route_timing(visit.stop.route)
    return tuple(missed_reports(reports, start, end, timing.interval, timing.grace))


def closing_facts(visit: Visit, checkins: Iterable[CheckIn]) -> dict[str, Any]:
    """What the ``visit.closed`` entry states beyond its times, so that the visit's verdict
    can be re-derived from its entries alone (``bundles.verify.judge_visit``): the route's
    approval, the check-in timing, and each arriving agent's last report before the visit
    (the one that sets when their next report fell due). ``checkins``: the visit's own.
    Three queries."""
    route = visit.stop.route
    arrivals = [c for c in checkins if c.kind == CheckInKind.ARRIVE]
    before: dict[str, Any] = {}
    if arrivals:
        rows = (
            CheckIn.objects.filter(
                route_id=route.pk,
                agent_id__in={c.agent_id for c in arrivals},
                captured_at__lt=min(c.captured_at for c in arrivals),
            )
            .order_by("agent_id", "captured_at")
            .values_list("agent_id", "captured_at", "kind")
        )
        for agent_id, captured_at, kind in rows:
            before[str(agent_id)] = {"at": captured_at, "kind": kind}
    approval = (
        LedgerEntry.objects.filter(subject=f"route:{route.pk}", kind="route.approved")
        .order_by("-index")
        .values_list("index", flat=True)
        .first()
    )
    timing = route_timing(route)
    return {
        "route": {
            "id": route.pk,
            "approved": route.approved,
            "approved_at": route.decided_at,
            "approved_by": route.decided_by_id,
            "approval": approval,
        },
        "timing": {
            "interval_s": int(timing.interval.total_seconds()),
            "grace_s": int(timing.grace.total_seconds()),
        },
        "reports_before": before,
    }


def visit_records(visit: Visit) -> VisitRecords:
    route = visit.stop.route
    if route.decided_by_id and not Route.decided_by.is_cached(route):
        # The approver, by name in the verdict (one query when the caller did not join it).
        route.decided_by = User.objects.filter(pk=route.decided_by_id).first()
    checkins = tuple(visit.checkins.select_related("agent").order_by("captured_at", "id"))
    return VisitRecords(
        visit=visit,
        checkins=checkins,
        photos=tuple(
            visit.photos.select_related("file", "agent", "acceptance__accepted_by").order_by(
                "captured_at", "id"
            )
        ),
        receipts=tuple(
            visit.receipts.select_related("signature", "photo", "agent").order_by(
                "captured_at", "id"
            )
        ),
        recording=visit_recording(visit),
        report=current_report(visit),
        missed_reports=missed_during(visit, checkins),
    )


def latest_review(visit: Visit | Any) -> VisitReview | None:
    """The visit's latest review, with its reviewer: the last in the ledger (reviews made
    before reviews kept their ledger index: the latest made)."""
    return (
        VisitReview.objects.filter(visit_id=getattr(visit, "pk", visit))
        .select_related("reviewer")
        .order_by(F("ledger_index").desc(nulls_last=True), "-created_at")
        .first()
    )


# The record each kind of a visit's ledger entry adds, and the field of its data naming it.
# Check-ins are ``checkin.<kind>``, naming ``checkin``; a segment is named by its recording
# and index (``segment_key``), as the bundle's manifest names it.
RECORD_ENTRIES = {
    "photo.added": ("photo", "photo"),
    "receipt.recorded": ("receipt", "receipt"),
    "recording.segment_added": ("segment", ""),
    "report.filed": ("report", "report"),
}


def segment_key(recording_id: Any, index: int) -> str:
    return f"{recording_id}/{index}"


def cited_records(entries: Iterable[tuple[int, str, bytes]]) -> dict[tuple[str, str], int]:
    """Which entry (its index) adds which record, by ``(kind, id)``, for entries given as
    ``(index, kind, entry_bytes)``; the entries that add no record are skipped."""
    found: dict[tuple[str, str], int] = {}
    for index, kind, raw in entries:
        if kind.startswith("checkin."):
            record, field = "checkin", "checkin"
        elif kind in RECORD_ENTRIES:
            record, field = RECORD_ENTRIES[kind]
        else:
            continue
        data = json.loads(bytes(raw))["data"]
        name = data[field] if field else segment_key(data["recording"], data["segment"])
        found[(record, name)] = index
    return found


def recorded_after(visit: Visit, review: VisitReview) -> dict[tuple[str, str], int]:
    """The visit's records whose ledger entries come after the review's, by ``(kind, id)``,
    with their entry's index: what the review did not see. The ledger's order is the order
    of commits, whatever the clocks said; one query."""
    entries = LedgerEntry.objects.filter(subject=f"visit:{visit.pk}")
    boundary: Any = review.ledger_index
    if boundary is None:  # made before reviews kept their index: the latest review's entry
        latest = entries.filter(kind="visit.reviewed").order_by("-index").values("index")[:1]
        boundary = Subquery(latest)
    return cited_records(
        entries.filter(index__gt=boundary)
        .filter(Q(kind__in=RECORD_ENTRIES) | Q(kind__startswith="checkin."))
        .values_list("index", "kind", "entry_bytes")
    )


@dataclass(frozen=True)
class LaterItem:
    """A record that reached us after the latest review."""

    kind: str
    id: uuid.UUID
    received_at: dt.datetime
    flags: tuple[str, ...]
    late_by_s: float | None


@dataclass(frozen=True)
class ReviewState:
    """The visit's latest review as it was made (the verdict it saw, as stored), and what
    reached us after it: pending a new review, their arrival re-opened the visit."""

    id: uuid.UUID
    reviewer: str
    reviewed_at: dt.datetime
    report: uuid.UUID
    compliance: dict[str, Any] | None  # as stored with the review (None: made before that)
    superseded: bool
    received_after: tuple[LaterItem, ...]


def _late_by(record: Any) -> float | None:
    return getattr(record, "late_by_s", None)


def _later_items(records: VisitRecords, later: dict[tuple[str, str], int]) -> list[LaterItem]:
    """The records whose entries are in ``later`` (by ``cited_records``' keys), in the order
    they reached us: the ledger's."""
    keyed: list[tuple[tuple[str, str], LaterItem]] = []
    for kind, items in (
        ("checkin", records.checkins),
        ("photo", records.photos),
        ("receipt", records.receipts),
    ):
        keyed += [
            # Check-ins carry no lateness (``late_by_s``): their capture time is on record.
            ((kind, str(i.id)), LaterItem(kind, i.id, i.received_at, tuple(i.flags), _late_by(i)))
            for i in items
        ]
    recording = records.recording
    keyed += [
        (
            ("segment", segment_key(recording.id, s.index)),
            LaterItem("segment", s.id, s.received_at, s.flags, s.late_by_s),
        )
        for s in recording.segments
    ]
    if (report := records.report) is not None:
        item = LaterItem("report", report.id, report.received_at, (), None)
        keyed.append((("report", str(report.id)), item))
    after = [(later[key], item) for key, item in keyed if key in later]
    return [item for _, item in sorted(after, key=lambda pair: pair[0])]


def review_state(records: VisitRecords) -> ReviewState | None:
    """Two queries more than ``records``: the latest review, and the entries after it."""
    visit = records.visit
    review = latest_review(visit)
    if review is None:
        return None
    after = _later_items(records, recorded_after(visit, review))
    return ReviewState(
        id=review.id,
        reviewer=review.reviewer.get_username(),
        reviewed_at=review.created_at,
        report=review.report_id,
        compliance=review.compliance,
        superseded=bool(after) or visit.status != VisitStatus.REVIEWED,
        received_after=tuple(after),
    )


def may_review(user: Any, visit: Visit) -> bool:
    """A supervisor, team lead (seeds: 外访流程 (7), the lead reviews and keeps the reports
    and slips) or risk manager of the visit's team with the ``review_visit`` right."""
    team = visit.stop.route.team
    return user.pk in (team.supervisor_id, team.risk_manager_id, team.lead_id) and user.has_perm(
        "fieldvisit.review_visit"
    )


def visit_window(visit: Visit) -> VisitWindow:
    """When the visit began (first arrival), opened (two agents together) and closed."""
    return VisitWindow(visit_bounds(visit)[0], visit.opened_at, visit.closed_at)
