"""``report.html``: the visit timeline for people, opening offline in any browser.

Photos are shown through JPEG thumbnails kept beside the originals in the bundle (browsers
do not show HEIC); the originals are linked. Nothing on the page is fetched from a network.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import zoneinfo
from decimal import Decimal
from typing import Any

from django.template.loader import render_to_string

from fieldvisit.bundles import verify
from fieldvisit.bundles.plan import Plan
from fieldvisit.compliance import judge
from fieldvisit.models import VisitReport
from fieldvisit.models.reports import ATTESTATIONS
from fieldvisit.queries.visits import VisitRecords
from fieldvisit.texts import _
from fieldvisit.words import check_name, flags_text

logger = logging.getLogger(__name__)

KINDS = {"case": _("case"), "visit": _("visit")}


def local_text(moment: dt.datetime, zone: str) -> str:
    """A time as people at the place read it, with its UTC offset: 2026-11-24 09:05:00 +08:00.
    The offset, not an abbreviation (CST is also a US zone), is what a court can check."""
    local = moment.astimezone(zoneinfo.ZoneInfo(zone))
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M:%S} {offset[:3]}:{offset[3:]}"


def zone_text(zone: str, day: dt.date) -> str:
    """``Asia/Shanghai (UTC+08:00)``: the zone and its offset on the visit's day (at noon)."""
    offset = dt.datetime.combine(day, dt.time(12), tzinfo=zoneinfo.ZoneInfo(zone)).strftime("%z")
    return f"{zone} (UTC{offset[:3]}:{offset[3:]})"


def money(amount: Decimal | None, currency: str = "CNY") -> str:
    """``¥1,234.50``; another currency by its code (``USD 1,234.50``)."""
    if amount is None:
        return "—"
    text = f"{amount:,.2f}"
    return f"¥{text}" if currency == "CNY" else f"{currency} {text}"


def _key(record: dict[str, Any]) -> tuple[str, str, str]:
    """What a manifest item records, as a lookup key."""
    if record["type"] == "audio_segment":
        return ("audio_segment", f"{record['recording']}/{record['index']}", "")
    return (record["type"], record["id"], record.get("part", ""))


def chain_verdicts(plan: Plan) -> dict[str, dict[str, tuple[bool | None, str]] | None]:
    """Each visit's verdict as its cited entries show it (``verify.judge_visit``, which
    ``verify.py`` runs on the same entries), by visit id; None while a visit is open."""
    chains: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for entry in plan.entries:
        if entry.chain_visit is not None:
            chains.setdefault(entry.chain_visit, []).append(
                (entry.chain_seq, json.loads(bytes(entry.entry_bytes)))
            )
    return {
        str(visit.pk): verify.judge_visit([e for _seq, e in sorted(chains.get(str(visit.pk), []))])
        for visit in plan.subject.visits
    }


def render(plan: Plan) -> str:
    thumb_for = {sha: member.path for member, sha in plan.thumbnails}
    path_of = {_key(i.record): i.path for i in plan.items}
    derived = chain_verdicts(plan)
    return render_to_string(
        "bundles/report.html",
        {
            "bundle": plan.subject,
            "visits": [
                _visit(plan.records[visit.pk], path_of, thumb_for, derived[str(visit.pk)])
                for visit in plan.subject.visits
            ],
            "bundle_kind": KINDS.get(plan.subject.kind, plan.subject.kind),
            "checkpoint": plan.checkpoint,
            "signed_at": local_text(plan.checkpoint.timestamp, "UTC"),
            "root_hex": bytes(plan.checkpoint.root_hash).hex(),
        },
    )


def _visit(
    records: VisitRecords,
    path_of: dict[tuple[str, str, str], str],
    thumb_for: dict[str, str],
    derived: dict[str, tuple[bool | None, str]] | None,
) -> dict[str, Any]:
    """One visit's section: each record with its local time and the bundle paths of its
    original file and thumbnail. The verdict's passed/failed marks are the entries' own
    (``derived``); the sentences explaining them are the server's (``compliance.judge``),
    which says the same from the records (a test keeps the two in step)."""
    visit = records.visit
    zone = visit.stop.address.zone_name
    recording, report = records.recording, records.report
    case = visit.stop.case
    compliance = judge(records)
    checks = [
        {
            "key": name,
            "name": check_name(name),
            "ok": _entries_say(derived, name, check.ok, visit),
            "derived": derived is not None and derived[name][0] is not None,
            "detail": check.detail,
        }
        for name, check in compliance.checks.items()
    ]
    return {
        "visit": visit,
        "zone": zone_text(zone, visit.stop.route.date),
        "amount_due": money(case.amount_due, case.currency),
        "checkins": [
            {"c": c, "at": local_text(c.captured_at, zone), "flags": flags_text(c.flags)}
            for c in records.checkins
        ],
        "photos": [
            {
                "p": p,
                "at": local_text(p.captured_at, zone),
                "flags": flags_text(p.flags),
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
                "flags": flags_text(r.flags),
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
        "promise_amount": money(report.promise_amount, case.currency) if report else "",
        "attestations": [
            {"name": VisitReport._meta.get_field(name).verbose_name, "given": getattr(report, name)}
            for name in ATTESTATIONS
        ]
        if report
        else [],
        "ok": all(check["ok"] for check in checks),
        "checks": checks,
    }


def _entries_say(
    derived: dict[str, tuple[bool | None, str]] | None, name: str, records_say: bool, visit: Any
) -> bool:
    """Whether a check passed, as the visit's entries show it (what ``verify.py`` checks);
    the records' verdict only where the entries cannot tell (a visit still open)."""
    said = derived.get(name, (None, "")) if derived is not None else (None, "")
    if said[0] is None:
        return records_say
    if said[0] != records_say:
        logger.error(
            "visit %s: check %s is %s by its ledger entries, %s by its records",
            visit.pk, name, said[0], records_say,
        )  # fmt: skip
    return said[0]
