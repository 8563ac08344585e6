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
from fieldvisit.choices import CheckInKind, PhotoKind, ReceiptOutcome, ReportOutcome
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


def visit_chains(plan: Plan) -> dict[str, list[dict[str, Any]]]:
    """Each visit's cited entries in chain order, by visit id."""
    chains: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for entry in plan.entries:
        if entry.chain_visit is not None:
            chains.setdefault(entry.chain_visit, []).append(
                (entry.chain_seq, json.loads(bytes(entry.entry_bytes)))
            )
    return {
        str(visit.pk): [e for _seq, e in sorted(chains.get(str(visit.pk), []))]
        for visit in plan.subject.visits
    }


def render(plan: Plan) -> str:
    thumb_for = {sha: member.path for member, sha in plan.thumbnails}
    path_of = {_key(i.record): i.path for i in plan.items}
    chains = visit_chains(plan)
    return render_to_string(
        "bundles/report.html",
        {
            "bundle": plan.subject,
            "visits": [
                _visit(plan.records[visit.pk], path_of, thumb_for, chains[str(visit.pk)])
                for visit in plan.subject.visits
            ],
            "bundle_kind": KINDS.get(plan.subject.kind, plan.subject.kind),
            "checkpoint": plan.checkpoint,
            "signed_at": local_text(plan.checkpoint.timestamp, "UTC"),
            "root_hex": bytes(plan.checkpoint.root_hash).hex(),
        },
    )


def _label(choices: Any, value: Any) -> Any:
    """A choice's label in the reader's language; the value itself when unknown."""
    try:
        return choices(value).label
    except ValueError:
        return value


def _of(chain: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in chain if e.get("kind") == kind]


def _visit(
    records: VisitRecords,
    path_of: dict[tuple[str, str, str], str],
    thumb_for: dict[str, str],
    chain: list[dict[str, Any]],
) -> dict[str, Any]:
    """One visit's section. What happened (check-ins, photos, receipts, segments, the report
    and its co-signature, each with the ledger entry that records it) is read from the
    visit's cited entries only; the verdict's passed/failed marks are the entries' own
    (``verify.judge_visit``, which ``verify.py`` re-derives and compares). The case's
    particulars in the heading and the sentences explaining each check come from the
    system of record (``compliance.judge``, which a test keeps in step with the entries)."""
    visit = records.visit
    zone = visit.stop.address.zone_name
    case = visit.stop.case
    derived = verify.judge_visit(chain) if chain else None
    compliance = judge(records)
    checks = [
        {
            "key": name,
            "name": check_name(name),
            "ok": _entries_say(derived, name, check.ok, visit),
            "detail": check.detail,
        }
        for name, check in compliance.checks.items()
    ]
    segments = sorted(
        (e for e in _of(chain, "recording.segment_added")), key=lambda e: e["data"]["segment"]
    )
    return {
        "visit": visit,
        "zone": zone_text(zone, visit.stop.route.date),
        "amount_due": money(case.amount_due, case.currency),
        "checkins": [
            _checkin(e, zone) for e in chain if str(e.get("kind", "")).startswith("checkin.")
        ],
        "photos": [_photo(e, zone, path_of, thumb_for) for e in _of(chain, "photo.added")],
        "receipts": [_receipt(e, zone, path_of, thumb_for) for e in _of(chain, "receipt.recorded")],
        "recording": records.recording,
        "segments": [_segment(e, zone, path_of) for e in segments],
        **_report(chain, zone, case.currency),
        "ok": all(check["ok"] for check in checks),
        "checks": checks,
    }


def _checkin(entry: dict[str, Any], zone: str) -> dict[str, Any]:
    data, actor = entry["data"], entry.get("actor") or {}
    return {
        "entry": entry["index"],
        "at": local_text(verify.parse_time(data["captured_at"]), zone),
        "agent": actor.get("username", ""),
        "device": actor.get("device", ""),
        "kind": _label(CheckInKind, entry["kind"].removeprefix("checkin.")),
        "lat": data.get("lat"),
        "lon": data.get("lon"),
        "accuracy_m": data.get("accuracy_m"),
        "distance_m": data.get("distance_m"),
        "flags": flags_text(data.get("flags") or []),
    }


def _photo(
    entry: dict[str, Any], zone: str, path_of: dict[Any, str], thumb_for: dict[str, str]
) -> dict[str, Any]:
    data, actor = entry["data"], entry.get("actor") or {}
    exif = data.get("exif") or {}
    sha256 = (data.get("file") or {}).get("sha256", "")
    return {
        "entry": entry["index"],
        "kind": _label(PhotoKind, data.get("kind")),
        "partner_in_frame": data.get("partner_in_frame"),
        "at": local_text(verify.parse_time(data["captured_at"]), zone),
        "agent": actor.get("username", ""),
        "exif_lat": exif.get("lat"),
        "exif_lon": exif.get("lon"),
        "distance_m": data.get("distance_m"),
        "flags": flags_text(data.get("flags") or []),
        "sha256": sha256,
        "original": path_of.get(("photo", str(data.get("photo")), "")),
        "thumbnail": thumb_for.get(sha256),
    }


def _receipt(
    entry: dict[str, Any], zone: str, path_of: dict[Any, str], thumb_for: dict[str, str]
) -> dict[str, Any]:
    data = entry["data"]
    receipt = str(data.get("receipt"))
    signature, photo = data.get("signature") or {}, data.get("photo") or {}
    return {
        "entry": entry["index"],
        "at": local_text(verify.parse_time(data["captured_at"]), zone),
        "notice_number": data.get("notice_number", ""),
        "outcome": _label(ReceiptOutcome, data.get("outcome")),
        "signer_name": data.get("signer_name", ""),
        "signer_relation": data.get("signer_relation", ""),
        "signature": path_of.get(("receipt", receipt, "signature")),
        "signature_thumb": thumb_for.get(signature.get("sha256", "")),
        "photo": path_of.get(("receipt", receipt, "photo")),
        "photo_thumb": thumb_for.get(photo.get("sha256", "")),
        "flags": flags_text(data.get("flags") or []),
    }


def _segment(entry: dict[str, Any], zone: str, path_of: dict[Any, str]) -> dict[str, Any]:
    data = entry["data"]
    return {
        "entry": entry["index"],
        "index": data["segment"],
        "at": local_text(verify.parse_time(data["started_at"]), zone),
        "duration_s": data.get("duration_s"),
        "format": data.get("format", ""),
        "sha256": (data.get("file") or {}).get("sha256", ""),
        "path": path_of.get(("audio_segment", f"{data.get('recording')}/{data['segment']}", "")),
    }


def _order(attestation: str) -> tuple[int, str]:
    """Attestations in the order the report states them; any other after, by name."""
    return (
        (ATTESTATIONS.index(attestation), "") if attestation in ATTESTATIONS else (99, attestation)
    )


def _report(chain: list[dict[str, Any]], zone: str, currency: str) -> dict[str, Any]:
    """The current report (the one no later report corrects) and its co-signature, as their
    entries state them."""
    filed = _of(chain, "report.filed")
    corrected = {str((e["data"].get("content") or {}).get("corrects")) for e in filed}
    heads = [e for e in filed if str(e["data"].get("report")) not in corrected]
    if not heads:
        return {"report": None}
    entry = heads[-1]
    data = entry["data"]
    content = data.get("content") or {}
    signs = [
        e
        for e in _of(chain, "report.cosigned")
        if str(e["data"].get("report")) == str(content.get("report"))
    ]
    promise = content.get("promise_to_pay") or None
    names = {
        f.name: f.verbose_name for f in VisitReport._meta.get_fields() if hasattr(f, "verbose_name")
    }
    return {
        "report": {
            "entry": entry["index"],
            "id": content.get("report"),
            "at": local_text(verify.parse_time(data["received_at"]), zone),
            "author": (entry.get("actor") or {}).get("username", content.get("author")),
            "outcome": _label(ReportOutcome, content.get("outcome")),
            "corrects": content.get("corrects"),
            "notes": content.get("notes", ""),
            "promise_amount": money(Decimal(promise["amount"]), currency) if promise else None,
            "promise_date": promise.get("date") if promise else None,
        },
        "cosignature": {
            "entry": signs[-1]["index"],
            "agent": (signs[-1].get("actor") or {}).get("username", ""),
            "sha256": signs[-1]["data"].get("report_sha256", ""),
        }
        if signs
        else None,
        "attestations": [
            {"name": names.get(name, name), "given": given if isinstance(given, bool) else None}
            for name, given in sorted(
                (dict.fromkeys(ATTESTATIONS) | (content.get("attestations") or {})).items(),
                key=lambda item: _order(item[0]),
            )
        ],
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
