"""``report.html``: the visit timeline for people, opening offline in any browser.

Photos are shown through JPEG thumbnails kept beside the originals in the bundle (browsers
do not show HEIC); the originals are linked. Nothing on the page is fetched from a network.
"""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string

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


def _key(record: dict[str, Any]) -> tuple[str, str, str]:
    """What a manifest item records, as a lookup key."""
    if record["type"] == "audio_segment":
        return ("audio_segment", f"{record['recording']}/{record['index']}", "")
    return (record["type"], record["id"], record.get("part", ""))


def render(
    bundle: Bundle,
    records_of: dict[Any, dict[str, Any]],
    items: list[dict[str, Any]],
    thumbs: list[tuple[Member, str]],
) -> str:
    """``records_of``: each visit's ``visit_records``, by visit id."""
    thumb_for = {sha: member.path for member, sha in thumbs}
    path_of = {_key(i["record"]): i["path"] for i in items}
    visits = []
    for visit in bundle.visits:
        zone = visit.stop.address.zone_name
        records = records_of[visit.pk]
        recording, report = records["recording"], records["report"]
        visits.append(
            {
                "visit": visit,
                "zone": zone,
                "checkins": [
                    {"c": c, "at": local_text(c.captured_at, zone)} for c in records["checkins"]
                ],
                "photos": [
                    {
                        "p": p,
                        "at": local_text(p.captured_at, zone),
                        "original": path_of.get(("photo", str(p.pk), "")),
                        "thumbnail": thumb_for.get(p.file_id),
                    }
                    for p in records["photos"]
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
                    for r in records["receipts"]
                ],
                "recording": recording,
                "segments": [
                    {
                        **s,
                        "at": local_text(s["started_at"], zone),
                        "path": path_of.get(
                            ("audio_segment", f"{recording['id']}/{s['index']}", "")
                        ),
                    }
                    for s in recording["segments"]
                ],
                "report": report,
                "cosignature": report.cosignature_or_none() if report else None,
                "report_at": local_text(report.received_at, zone) if report else "",
                "compliance": visit_compliance(visit, **records),
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
