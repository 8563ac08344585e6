"""``report.html``: the visit timeline for people, opening offline in any browser.

Photos are shown through JPEG thumbnails kept beside the originals in the bundle (browsers
do not show HEIC); the originals are linked. Nothing on the page is fetched from a network.
"""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string

from fieldvisit.actions.recordings import recording_verdict
from fieldvisit.actions.reports import current_report
from fieldvisit.bundles.contents import Bundle, Member, generated
from fieldvisit.compliance import visit_compliance
from fieldvisit.evidence.thumbnails import thumbnail
from fieldvisit.geo import local_text
from fieldvisit.media import MediaError


def thumbnails(items: list[dict[str, Any]]) -> list[tuple[Member, str]]:
    """A JPEG thumbnail per distinct image, as (member, the original's SHA-256)."""
    made: dict[str, Member] = {}
    for item in items:
        file = item["file"]
        if not file.media_type.startswith("image/") or file.sha256 in made:
            continue
        try:
            made[file.sha256] = generated(f"thumbnails/{file.sha256}.jpg", thumbnail(file.sha256))
        except MediaError:
            continue
    return [(member, sha) for sha, member in sorted(made.items())]


def render(bundle: Bundle, items: list[dict[str, Any]], thumbs: list[tuple[Member, str]]) -> str:
    thumb_for = {sha: member.path for member, sha in thumbs}
    visits = []
    for visit in bundle.visits:
        zone = visit.stop.address.zone_name
        checkins = list(visit.checkins.select_related("agent").order_by("captured_at"))
        photos = list(visit.photos.select_related("file", "agent").order_by("captured_at", "id"))
        receipts = list(
            visit.receipts.select_related("signature", "photo", "agent").order_by(
                "captured_at", "id"
            )
        )
        recording = recording_verdict(visit)
        report = current_report(visit)
        paths = {
            (i["record"]["type"], i["record"].get("id"), i["record"].get("part")): i["path"]
            for i in items
        }
        visits.append(
            {
                "visit": visit,
                "zone": zone,
                "checkins": [{"c": c, "at": local_text(c.captured_at, zone)} for c in checkins],
                "photos": [
                    {
                        "p": p,
                        "at": local_text(p.captured_at, zone),
                        "original": paths.get(("photo", str(p.pk), None)),
                        "thumbnail": thumb_for.get(p.file_id),
                    }
                    for p in photos
                ],
                "receipts": [
                    {
                        "r": r,
                        "at": local_text(r.captured_at, zone),
                        "signature": paths.get(("receipt", str(r.pk), "signature")),
                        "signature_thumb": thumb_for.get(r.signature_id or ""),
                        "photo": paths.get(("receipt", str(r.pk), "photo")),
                        "photo_thumb": thumb_for.get(r.photo_id or ""),
                    }
                    for r in receipts
                ],
                "recording": recording,
                "segments": [
                    {
                        **s,
                        "at": local_text(s["started_at"], zone),
                        "path": next(
                            (
                                i["path"]
                                for i in items
                                if i["record"]["type"] == "audio_segment"
                                and i["record"]["index"] == s["index"]
                                and i["record"]["recording"] == str(recording["id"])
                            ),
                            None,
                        ),
                    }
                    for s in recording["segments"]
                ],
                "report": report,
                "cosignature": report.cosignature_or_none() if report else None,
                "report_at": local_text(report.received_at, zone) if report else "",
                "compliance": visit_compliance(
                    visit, checkins, photos, receipts, recording, report=report
                ),
            }
        )
    return render_to_string(
        "bundles/report.html",
        {
            "bundle": bundle,
            "visits": visits,
            "checkpoint": bundle.checkpoint,
            "root_hex": bytes(bundle.checkpoint.root_hash).hex(),
        },
    )
