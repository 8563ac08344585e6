"""A case's evidence as one chronological timeline (the legal API's case evidence): every
check-in, photo, recording segment, receipt, report, review and alert of its visits, in the
order they happened, built from the visits' answers as the API gives them (so the timeline
and the per-kind lists never disagree) and the visits' reviews and alerts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from rest_framework import serializers

from fieldvisit.models import Alert, VisitReview

KINDS = ["checkin", "photo", "segment", "receipt", "report", "review", "alert"]


class TimelineItemSerializer(serializers.Serializer):
    at = serializers.DateTimeField(help_text="When it happened (captured; a report: received).")
    kind = serializers.ChoiceField(choices=KINDS)
    visit = serializers.UUIDField()
    id = serializers.CharField(help_text="The record's id (a segment: recording:index).")
    summary = serializers.CharField()


def _item(at: Any, kind: str, visit: Any, record: Any, summary: str) -> dict[str, Any]:
    return {"at": at, "kind": kind, "visit": visit, "id": str(record), "summary": summary}


def _of_visit(visit: dict[str, Any]) -> Iterable[dict[str, Any]]:
    vid = visit["id"]
    for c in visit["checkins"]:
        yield _item(c["captured_at"], "checkin", vid, c["id"], f"{c['kind']} by {c['agent']}")
    for p in visit["photos"]:
        yield _item(p["captured_at"], "photo", vid, p["id"], f"{p['kind']} photo by {p['agent']}")
    recording = visit.get("recording") or {}
    for s in recording.get("segments", []):
        said = f"audio segment {s['index']}, {s['duration_s']:.1f} s"
        yield _item(s["started_at"], "segment", vid, f"{recording['id']}:{s['index']}", said)
    for r in visit["receipts"]:
        said = f"notice {r['notice_number']}: {r['outcome']}"
        yield _item(r["captured_at"], "receipt", vid, r["id"], said)
    report = visit.get("report")
    if report:
        said = f"report ({report['outcome']}) by {report['author']}, {report['status']}"
        yield _item(report["received_at"], "report", vid, report["id"], said)


def case_timeline(
    visits: Sequence[dict[str, Any]], reviews: Iterable[VisitReview], alerts: Iterable[Alert]
) -> list[dict[str, Any]]:
    """Everything in time order (ties in a fixed order: by kind, then id)."""
    items = [item for visit in visits for item in _of_visit(visit)]
    for review in reviews:
        said = f"reviewed by {review.reviewer.get_username()}: {review.comment}"
        items.append(_item(review.created_at, "review", review.visit_id, review.pk, said))
    for alert in alerts:
        said = f"{alert.get_kind_display()}: {alert.detail}"
        items.append(_item(alert.raised_at, "alert", alert.visit_id, alert.pk, said))
    data = TimelineItemSerializer(items, many=True).data
    return sorted(
        data, key=lambda i: (dt.datetime.fromisoformat(i["at"]), KINDS.index(i["kind"]), i["id"])
    )
