"""``report.html``: the visit timeline for people, opening offline in any browser.

Photos are shown through JPEG thumbnails kept beside the originals in the bundle (browsers
do not show HEIC); the originals are linked. Nothing on the page is fetched from a network.
"""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string

from fieldvisit.bundles.plan import Plan
from fieldvisit.compliance import judge
from fieldvisit.geo import local_text
from fieldvisit.queries.visits import VisitRecords


def _key(record: dict[str, Any]) -> tuple[str, str, str]:
    """What a manifest item records, as a lookup key."""
    if record["type"] == "audio_segment":
        return ("audio_segment", f"{record['recording']}/{record['index']}", "")
    return (record["type"], record["id"], record.get("part", ""))


def render(plan: Plan) -> str:
    thumb_for = {sha: member.path for member, sha in plan.thumbnails}
    path_of = {_key(i.record): i.path for i in plan.items}
    return render_to_string(
        "bundles/report.html",
        {
            "bundle": plan.subject,
            "visits": [
                _visit(plan.records[visit.pk], path_of, thumb_for) for visit in plan.subject.visits
            ],
            "checkpoint": plan.checkpoint,
            "root_hex": bytes(plan.checkpoint.root_hash).hex(),
        },
    )


def _visit(
    records: VisitRecords,
    path_of: dict[tuple[str, str, str], str],
    thumb_for: dict[str, str],
) -> dict[str, Any]:
    """One visit's section: each record with its local time and the bundle paths of its
    original file and thumbnail."""
    visit = records.visit
    zone = visit.stop.address.zone_name
    recording, report = records.recording, records.report
    return {
        "visit": visit,
        "zone": zone,
        "checkins": [{"c": c, "at": local_text(c.captured_at, zone)} for c in records.checkins],
        "photos": [
            {
                "p": p,
                "at": local_text(p.captured_at, zone),
                "original": path_of.get(("photo", str(p.pk), "")),
                "thumbnail": thumb_for.get(p.file_id),
            }
            for p in records.photos
        ],
        "receipts": [
            {
                "r": r,
                "at": local_text(r.captured_at, zone),
                "signature": path_of.get(("receipt", str(r.pk), "signature")),
                "signature_thumb": thumb_for.get(r.signature_id or ""),
                "photo": path_of.get(("receipt", str(r.pk), "photo")),
                "photo_thumb": thumb_for.get(r.photo_id or ""),
            }
            for r in records.receipts
        ],
        "recording": recording,
        "segments": [
            {
                "s": s,
                "at": local_text(s.started_at, zone),
                "path": path_of.get(("audio_segment", f"{recording.id}/{s.index}", "")),
            }
            for s in recording.segments
        ],
        "report": report,
        "cosignature": report.cosignature_or_none() if report else None,
        "report_at": local_text(report.received_at, zone) if report else "",
        "compliance": judge(records),
    }
