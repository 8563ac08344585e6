"""A visit's compliance verdict: named checks, each ``{ok, detail}``, from what is known.

The checks read the visit's records and call the rules; callers that already hold the
records (the visit's API answer, a bundle) pass them in so nothing is read twice.
"""

from __future__ import annotations

import json
from typing import Any

from django.db.models import F, Q, Subquery
from django.utils import timezone

from fieldvisit.choices import AlertKind, CheckInKind, PhotoKind, RouteStatus, VisitStatus
from fieldvisit.geo import local_text
from fieldvisit.models import (
    Alert,
    CheckIn,
    LedgerEntry,
    Photo,
    Receipt,
    Visit,
    VisitReport,
    VisitReview,
)

Check = dict[str, Any]


def _check(ok: bool, detail: str) -> Check:
    return {"ok": ok, "detail": detail}


def _flag_check(checkins: list[CheckIn], flags: set[str], passed: str, failed: str) -> Check:
    arrivals = [c for c in checkins if c.kind in (CheckInKind.ARRIVE, CheckInKind.LEAVE)]
    if not arrivals:
        return _check(False, "No arrival recorded yet.")
    broken = [c for c in arrivals if flags & set(c.flags)]
    if broken:
        return _check(False, f"{failed} ({len(broken)} check-in(s)).")
    return _check(True, passed)


def _checkins_on_time(visit: Visit, checkins: list[CheckIn]) -> Check:
    """Missed check-ins that fell due while this visit was under way: a missed report at
    17:00 says nothing about a visit that ended at 10:00."""
    arrivals = [c.captured_at for c in checkins if c.kind == CheckInKind.ARRIVE]
    if not arrivals:
        return _check(False, "Not visited yet.")
    end = visit.closed_at or timezone.now()  # a visit under way: up to now
    missed = Alert.objects.filter(
        route_id=visit.stop.route_id,
        kind=AlertKind.MISSED_CHECKIN,
        due_at__gte=min(arrivals),
        due_at__lte=end,
    ).count()
    if missed:
        return _check(False, f"{missed} check-in(s) missed during the visit.")
    return _check(True, "No check-in missed during the visit.")


DOOR_KINDS = (PhotoKind.DOOR, PhotoKind.NEAREST_DOOR)


def _door_photo(photos: list[Photo]) -> Check:
    """Rule 7: the door number (or the nearest one) with the partner in frame, taken while
    both agents were there and near the address."""
    door = [p for p in photos if p.kind in DOOR_KINDS]
    if not door:
        return _check(False, "No photo of the door number (or the nearest door number).")
    with_partner = [p for p in door if p.partner_in_frame]
    if not with_partner:
        return _check(False, "The door photos do not show the partner in frame.")
    good = [p for p in with_partner if not {"lone_agent", "far_from_address"} & set(p.flags)]
    if not good:
        flags = sorted({f for p in with_partner for f in p.flags})
        return _check(False, f"The door photos with the partner are flagged: {', '.join(flags)}.")
    best = good[0]
    note = f" (flags: {', '.join(best.flags)})" if best.flags else ""
    return _check(True, f"Door photo {best.file_id[:12]}… with the partner in frame{note}.")


def _notice_outcome(receipts: list[Receipt]) -> Check:
    if not receipts:
        return _check(False, "No notice receipt recorded.")
    last = receipts[-1]
    return _check(True, f"Notice {last.notice_number}: {last.get_outcome_display()}.")


def _recording(recording: dict[str, Any]) -> Check:
    if recording["id"] is None:
        return _check(False, "No recording uploaded.")
    return _check(recording["valid"], recording["detail"])


def _report_cosigned(report: VisitReport | None, zone: str) -> Check:
    """Rule 9: the current report, co-signed by a second agent over its exact content, with
    all six conduct attestations given. A false attestation is a statement: it fails here."""
    if report is None:
        return _check(False, "No visit report filed.")
    author = report.author.get_username()
    problems = []
    digest = report.compute_sha256()
    if digest != report.content_sha256:
        problems.append("its content does not match its recorded SHA-256")
    cosignature = report.cosignature_or_none()
    if cosignature is None:
        problems.append("it awaits the second agent's co-signature")
    elif cosignature.agent_id == report.author_id:
        problems.append("it is co-signed by its own author")
    elif cosignature.report_sha256 != digest:
        problems.append("the co-signature does not sign this content")
    if report.failed_attestations:
        problems.append(f"attestations not given: {', '.join(report.failed_attestations)}")
    if problems:
        return _check(False, f"Report {report.id} by {author}: {'; '.join(problems)}.")
    assert cosignature is not None  # narrowed by the problems above
    return _check(
        True,
        f"Report {report.id} by {author}, co-signed by {cosignature.agent.get_username()} "
        f"{local_text(cosignature.signed_at, zone)}; all six attestations given.",
    )


_UNSET: Any = object()


RECORDS = ("checkins", "photos", "receipts", "recording", "report")


def visit_records(visit: Visit) -> dict[str, Any]:
    """Everything a visit is judged and shown by (its API answer, the legal timeline, a
    bundle's report), each kind of record in one query, in a fixed order. The keys are
    ``visit_compliance``'s parameters."""
    from fieldvisit.actions.recordings import recording_verdict
    from fieldvisit.actions.reports import remember_current_report

    return {
        "checkins": list(visit.checkins.select_related("agent").order_by("captured_at", "id")),
        "photos": list(visit.photos.select_related("file", "agent").order_by("captured_at", "id")),
        "receipts": list(
            visit.receipts.select_related("signature", "photo", "agent").order_by(
                "captured_at", "id"
            )
        ),
        "recording": recording_verdict(visit),
        # Kept on the visit too, for its compliance verdict.
        "report": remember_current_report(visit),
    }


def visit_compliance(
    visit: Visit,
    checkins: list[CheckIn],
    photos: list[Photo] | None = None,
    receipts: list[Receipt] | None = None,
    recording: dict[str, Any] | None = None,
    report: VisitReport | None = _UNSET,
) -> dict[str, Any]:
    from fieldvisit.actions.recordings import recording_verdict

    photos = list(visit.photos.order_by("captured_at")) if photos is None else photos
    receipts = list(visit.receipts.order_by("captured_at")) if receipts is None else receipts
    recording = recording_verdict(visit) if recording is None else recording
    route = visit.stop.route
    checks: dict[str, Check] = {}
    approved = route.decided_by_id is not None and route.status in (
        RouteStatus.APPROVED,
        RouteStatus.IN_PROGRESS,
        RouteStatus.COMPLETED,
    )
    zone = visit.stop.address.zone_name
    checks["route_approved"] = _check(
        approved,
        f"Approved {local_text(route.decided_at, zone)} by user {route.decided_by_id}."
        if approved
        else f"The route is {route.status}.",
    )
    checks["two_agents_together"] = (
        _check(True, f"Both agents arrived together; opened {local_text(visit.opened_at, zone)}.")
        if visit.opened_at
        else _check(False, "The visit never opened: two agents did not arrive together.")
    )
    checks["within_hours"] = _flag_check(
        checkins, {"outside_visit_hours"}, "All visit check-ins within the allowed hours.",
        "Check-ins outside the allowed hours",
    )  # fmt: skip
    checks["geofence"] = _flag_check(
        checkins, {"too_far_from_address", "address_not_geocoded"},
        "Arrivals within the geofence.", "Arrivals too far from the address, or not judged",
    )  # fmt: skip
    checks["frequency_cap"] = _flag_check(
        checkins,
        {"frequency_cap"},
        "Within the visit frequency caps.",
        "Visit frequency cap exceeded",
    )
    checks["checkins_on_time"] = _checkins_on_time(visit, checkins)
    checks["door_photo"] = _door_photo(photos)
    checks["recording"] = _recording(recording)
    checks["notice_outcome"] = _notice_outcome(receipts)
    if report is _UNSET:
        from fieldvisit.actions.reports import known_current_report

        report = known_current_report(visit)
    checks["report_cosigned"] = _report_cosigned(report, zone)
    return {"ok": all(c["ok"] for c in checks.values()), "checks": checks}


def latest_review(visit: Visit | Any) -> VisitReview | None:
    """The visit's latest review, with its reviewer: the last in the ledger (reviews made
    before reviews kept their ledger index: the latest made)."""
    return (
        VisitReview.objects.filter(visit_id=getattr(visit, "pk", visit))
        .select_related("reviewer")
        .order_by(F("ledger_index").desc(nulls_last=True), "-created_at")
        .first()
    )


# The record each kind of a visit's ledger entry adds, and the field of its data naming it
# (a segment's id is its upload's). Check-ins are ``checkin.<kind>``, naming ``checkin``.
RECORD_ENTRIES = {
    "photo.added": ("photo", "photo"),
    "receipt.recorded": ("receipt", "receipt"),
    "recording.segment_added": ("segment", "upload"),
    "report.filed": ("report", "report"),
}


def recorded_after(visit: Visit, review: VisitReview) -> dict[tuple[str, str], int]:
    """The visit's records whose ledger entries come after the review's, by ``(kind, id)``,
    with their entry's index: what the review did not see. The ledger's order is the order
    of commits, whatever the clocks said; one query."""
    entries = LedgerEntry.objects.filter(subject=f"visit:{visit.pk}")
    boundary: Any = review.ledger_index
    if boundary is None:  # made before reviews kept their index: the latest review's entry
        latest = entries.filter(kind="visit.reviewed").order_by("-index").values("index")[:1]
        boundary = Subquery(latest)
    found: dict[tuple[str, str], int] = {}
    for index, kind, raw in (
        entries.filter(index__gt=boundary)
        .filter(Q(kind__in=RECORD_ENTRIES) | Q(kind__startswith="checkin."))
        .values_list("index", "kind", "entry_bytes")
    ):
        record, field = RECORD_ENTRIES.get(kind, ("checkin", "checkin"))
        found[(record, json.loads(bytes(raw))["data"][field])] = index
    return found


def review_state(visit: Visit, records: dict[str, Any]) -> dict[str, Any] | None:
    """The visit's latest review as it was made (the compliance verdict it saw), and what
    reached us after it (``recorded_after``): those items are pending a new review, and their
    arrival re-opened the visit (``reported`` again). ``records`` is ``visit_records(visit)``;
    two queries more.
    """
    review = latest_review(visit)
    if review is None:
        return None
    later = recorded_after(visit, review)

    def item(kind: str, id: Any, received_at: Any, flags: list[str], late_by_s: Any) -> dict:
        return {
            "kind": kind,
            "id": id,
            "received_at": received_at,
            "flags": flags,
            "late_by_s": late_by_s,
        }

    after: list[dict[str, Any]] = []
    for kind, items in (
        ("checkin", records["checkins"]),
        ("photo", records["photos"]),
        ("receipt", records["receipts"]),
    ):
        after += [
            item(kind, i.id, i.received_at, list(i.flags), getattr(i, "late_by_s", None))
            for i in items
            if (kind, str(i.id)) in later
        ]
    after += [
        item("segment", s["id"], s["received_at"], s["flags"], s["late_by_s"])
        for s in records["recording"]["segments"]
        if ("segment", str(s["id"])) in later
    ]
    report = records["report"]
    if report is not None and ("report", str(report.id)) in later:
        after.append(item("report", report.id, report.received_at, [], None))
    # In the order they reached us: the ledger's.
    after.sort(key=lambda i: later[(i["kind"], str(i["id"]))])
    return {
        "id": review.id,
        "reviewer": review.reviewer.get_username(),
        "reviewed_at": review.created_at,
        "report": review.report_id,
        "compliance": review.compliance,
        "superseded": bool(after) or visit.status != VisitStatus.REVIEWED,
        "received_after": after,
    }
