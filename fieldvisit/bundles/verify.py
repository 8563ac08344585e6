#!/usr/bin/env python3
"""Verify this evidence bundle. Python 3 standard library only; Ed25519 signatures are
checked with the "cryptography" package when it is installed.

    python3 verify.py --key KEY [--key KEY ...] [--tsa-ca PEM ...] [--require-timestamp]
                      [--witness WKEY ... [--witnesses-required K]]
                      [--against OTHER_BUNDLE] [bundle folder]    (default: this file's folder)

KEY is the company's ledger key as the company publishes it outside this bundle (filed with
the court, printed on its letters, served at /api/v1/ledger/keys/): the C2SP verifier key
string ("name+hash+base64") or the full SHA-256 fingerprint (64 hex digits) of the public
key. Without --key every check below is made against the key the bundle itself carries, which
anyone could have replaced: the verdict is then UNPINNED (exit status 3), never a pass. A key
the company has retired is pinned with its retirement time, KEY@2026-12-01T08:00:00Z (the
company's key list gives it): no checkpoint it signed afterwards passes, whatever the bundle
leaves out.

Checks, each independent of the server that made the bundle:
  1. every file listed in SHA256SUMS has that SHA-256, and no file is unlisted;
  2. SHA256SUMS.sig is a valid Ed25519 signature of SHA256SUMS by a trusted key, so no file
     can be added, dropped or changed together with its line;
  3. every file under evidence/ is a manifest.json item, every item is recorded by a proven
     ledger entry naming its SHA-256, and every evidence entry has its files here;
  4. every ledger entry in ledger/entries.jsonl hashes to its leaf (RFC 6962: SHA-256 of
     0x00 + the entry's exact bytes), and its inclusion proof (RFC 9162, section 2.1.3.2)
     leads to the root hash in checkpoint.json;
  5. each visit is complete: its entries are numbered 1, 2, 3 ... without a gap, each names
     the leaf hash of the one before, the chain ends with a seal (visit.sealed) whose counts
     hold, and each recording's segments are numbered without a gap, each naming the SHA-256
     of the one before (a visit still open at the checkpoint has no seal yet: exit status 2,
     its entries genuine but its completeness not shown; a closed visit without its seal
     fails); and report.html's compliance verdict on each closed visit (every check's
     passed/failed mark, its words, and the overall verdict) is the one its entries show:
     the same checks the server judges (route approved, two agents together, hours,
     geofence, frequency cap, approved order, periodic check-ins, door photo, recording,
     notice and its signer, co-signed report with every attestation), re-derived here from
     the entries alone;
  6. checkpoint.sig is a valid Ed25519 signature of checkpoint.json by a trusted key, and the
     key id in checkpoint.json is that key's; a key is trusted when it is a --key, or when a
     trusted key signed its rotation (keys.jsonl), and only within its validity: signed before
     the key was retired;
  7. every ledger entry has a C2SP tlog-proof file (ledger/proofs/<index>.tlog-proof) whose
     entry bytes, inclusion path and signed-note checkpoint (signed by the same key) agree;
  8. timestamp/checkpoint.tsr (and checkpoint.2.tsr ... when more than one authority stamped
     the checkpoint), when present, is an RFC 3161 time-stamp token over checkpoint.json from
     an authority whose CA you give with --tsa-ca (repeatable; the CAs the bundle carries are
     never trusted), checked with "openssl ts -verify"; the authority's time lies after the
     checkpoint's own and within --tsa-window seconds of it (default 3600);
     --require-timestamp: a failure unless at least one token verifies;
  9. with --against OTHER_BUNDLE, the other bundle passes the same checks and both bundles'
     checkpoints lie on one history: the later one carries an RFC 9162 consistency proof
     (ledger/consistency.jsonl) from the earlier one's tree size and root;
 10. with --witness WKEY (a witness's C2SP verifier key, "name+keyid+base64", as the witness
     publishes it: a creditor, a law firm, a notary), checkpoint.txt carries that witness's
     valid cosignature/v1 line (c2sp.org/tlog-cosignature), dated no earlier than the
     checkpoint; all of them are required, or K with --witnesses-required K. A witness cosigns
     only a checkpoint consistent with every one it cosigned before, so a second history
     shown to anyone else fails here even when it is re-signed with the company's own key.
Exit status 0 when everything holds; 1, naming each failure; 2 when something could not be
checked here (the Python package "cryptography", the openssl command, or the authority's CA
is missing); 3 (UNPINNED) when everything holds but no --key was given.
"""

import argparse
import base64
import datetime
import hashlib
import html.parser
import json
import os
import shutil
import subprocess
import sys

ED25519_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")


class Report:
    def __init__(self):
        self.failures = []
        self.notes = []

    def fail(self, message):
        self.failures.append(message)
        print("FAIL  " + message)

    def ok(self, message):
        print("ok    " + message)

    def note(self, message):
        self.notes.append(message)
        print("note  " + message)


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_inclusion_proof(index, size, leaf, path):
    """RFC 9162, 2.1.3.2; None when the proof cannot lead anywhere."""
    if index >= size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def check_files(root, report):
    listed = {}
    try:
        with open(os.path.join(root, "SHA256SUMS"), encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                line = line.rstrip("\n")
                if not line:
                    continue
                digest, sep, name = line.partition("  ")
                if not sep or len(digest) != 64:
                    report.fail(f"SHA256SUMS line {number} is malformed")
                    continue
                listed[name] = digest
    except OSError as error:
        report.fail(f"SHA256SUMS cannot be read: {error}")
        return listed
    bad = 0
    for name, digest in sorted(listed.items()):
        path = os.path.join(root, *name.split("/"))
        if os.path.isabs(name) or ".." in name.split("/"):
            report.fail(f"SHA256SUMS names a path outside the bundle: {name}")
            bad += 1
        elif not os.path.isfile(path):
            report.fail(f"missing file: {name}")
            bad += 1
        elif sha256_file(path) != digest:
            report.fail(f"file changed (SHA-256 differs): {name}")
            bad += 1
    for folder, _dirs, files in os.walk(root):
        for filename in files:
            name = os.path.relpath(os.path.join(folder, filename), root).replace(os.sep, "/")
            if name not in listed and name not in ("SHA256SUMS", "SHA256SUMS.sig"):
                report.fail(f"file not listed in SHA256SUMS: {name}")
                bad += 1
    if not bad:
        report.ok(f"{len(listed)} files match SHA256SUMS")
    return listed


def load_checkpoint(root, report):
    try:
        with open(os.path.join(root, "checkpoint.json"), "rb") as f:
            signed = f.read()
        checkpoint = json.loads(signed)
        checkpoint["root"] = bytes.fromhex(checkpoint["root_hash"])
        int(checkpoint["tree_size"])
        return signed, checkpoint
    except (OSError, ValueError, KeyError, TypeError) as error:
        report.fail(f"checkpoint.json is unreadable: {error}")
        return None, None


def check_entries(root, checkpoint, report, leaves=None):
    entries = {}
    leaves = {} if leaves is None else leaves
    try:
        with open(os.path.join(root, "ledger", "entries.jsonl"), "rb") as f:
            lines = [line for line in f.read().split(b"\n") if line.strip()]
    except OSError as error:
        report.fail(f"ledger/entries.jsonl cannot be read: {error}")
        return entries
    bad = 0
    for number, line in enumerate(lines, 1):
        try:
            item = json.loads(line)
            raw = base64.b64decode(item["entry_b64"], validate=True)
            entry = json.loads(raw)
            index = int(item["index"])
            path = [bytes.fromhex(h) for h in item["path"]]
        except (ValueError, KeyError, TypeError) as error:
            report.fail(f"ledger entry line {number} is unreadable: {error}")
            bad += 1
            continue
        leaf = hashlib.sha256(b"\x00" + raw).digest()
        where = f"ledger entry {index}"
        if entry.get("index") != index or item.get("entry") not in (None, entry):
            report.fail(f"{where}: its bytes do not say what the line says")
            bad += 1
        elif item.get("leaf_hash") != leaf.hex():
            report.fail(f"{where}: leaf hash does not match its bytes")
            bad += 1
        elif checkpoint is not None and int(item.get("tree_size", -1)) != checkpoint["tree_size"]:
            report.fail(f"{where}: its proof is for another tree size")
            bad += 1
        elif (
            checkpoint is not None
            and root_from_inclusion_proof(index, checkpoint["tree_size"], leaf, path)
            != checkpoint["root"]
        ):
            report.fail(f"{where}: inclusion proof does not lead to the checkpoint's root")
            bad += 1
        elif checkpoint is not None and later_than_checkpoint(entry, checkpoint):
            report.fail(
                f"{where} is dated {entry.get('at')}, after the checkpoint that includes it "
                f"({checkpoint.get('timestamp')}): the checkpoint's time is not true"
            )
            bad += 1
        else:
            entries[index] = entry
            leaves[index] = leaf
    if not bad:
        report.ok(f"{len(entries)} ledger entries proven included in the checkpoint")
    return entries


def later_than_checkpoint(entry, checkpoint):
    """An entry appended after the checkpoint that includes it says the checkpoint's time is
    back-dated (both times are the server's own clock)."""
    try:
        return parse_time(entry["at"]) > parse_time(checkpoint["timestamp"])
    except (KeyError, TypeError, ValueError, AttributeError):
        return False


def mentions(value, digest):
    if isinstance(value, dict):
        return any(mentions(v, digest) for v in value.values())
    if isinstance(value, list):
        return any(mentions(v, digest) for v in value)
    return value == digest


EVIDENCE_KINDS = ("photo.added", "receipt.recorded", "recording.segment_added")


def cited_files(entry):
    """SHA-256 of the files an evidence entry records."""
    if entry.get("kind") not in EVIDENCE_KINDS:
        return []
    data = entry.get("data") or {}
    files = [data.get("file"), data.get("signature"), data.get("photo")]
    return [f["sha256"] for f in files if isinstance(f, dict) and "sha256" in f]


def manifest_fields(entry, part=""):
    """What manifest.json says of an evidence file, derived from the ledger entry that
    records it (the server builds the manifest with this same function): its SHA-256, size,
    type, times and record. ``part`` names a receipt's file ("signature" or "photo")."""
    kind, data = entry.get("kind"), entry.get("data") or {}
    if kind == "photo.added":
        file, captured = data.get("file"), data.get("captured_at")
        record = {"type": "photo", "id": data.get("photo"), "kind": data.get("kind")}
    elif kind == "receipt.recorded":
        file, captured = data.get(part), data.get("captured_at")
        record = {"type": "receipt", "id": data.get("receipt"), "part": part}
    elif kind == "recording.segment_added":
        file, captured = data.get("file"), data.get("started_at")
        record = {
            "type": "audio_segment",
            "recording": data.get("recording"),
            "index": data.get("segment"),
        }
    else:
        return None
    file = file if isinstance(file, dict) else {}
    return {
        "sha256": file.get("sha256"),
        "size": file.get("size"),
        "media_type": file.get("media_type"),
        "captured_at": captured,
        "received_at": data.get("received_at"),
        "record": record,
    }


def check_manifest_fields(item, entry):
    """The manifest item's fields that differ from what its ledger entry says."""
    record = item.get("record")
    derived = manifest_fields(entry, record.get("part", "") if isinstance(record, dict) else "")
    if derived is None:
        return ["record"]
    return [name for name, value in derived.items() if item.get(name) != value]


def check_manifest(root, listed, entries, report):
    try:
        with open(os.path.join(root, "manifest.json"), encoding="utf-8") as f:
            manifest = json.load(f)
        items = manifest["items"]
    except (OSError, ValueError, KeyError) as error:
        report.fail(f"manifest.json is unreadable: {error}")
        return
    bad = 0
    for item in items:
        path, digest = item.get("path"), item.get("sha256")
        if listed.get(path) != digest:
            report.fail(f"manifest item {path} is not in SHA256SUMS with its SHA-256")
            bad += 1
            continue
        index = item.get("ledger_entry")
        if index is None or index not in entries:
            report.fail(f"manifest item {path} cites no proven ledger entry")
            bad += 1
        elif not mentions(entries[index].get("data"), digest):
            report.fail(f"ledger entry {index} does not record {path}")
            bad += 1
        elif differ := check_manifest_fields(item, entries[index]):
            report.fail(
                f"manifest item {path}: {', '.join(differ)} not as its ledger entry {index} says"
            )
            bad += 1
    paths = {item.get("path") for item in items}
    for name in listed:
        if name.startswith("evidence/") and name not in paths:
            report.fail(f"evidence file not in manifest.json: {name}")
            bad += 1
    digests = {item.get("sha256") for item in items}
    for index, entry in sorted(entries.items()):
        for digest in cited_files(entry):
            if digest not in digests:
                report.fail(f"ledger entry {index} records a file that is not in the bundle")
                bad += 1
    if not bad:
        report.ok(
            f"{len(items)} evidence files are each recorded by a proven ledger entry, which "
            "says what manifest.json says of them"
        )


# --- The compliance verdict, derived from the entries -----------------------------------------
#
# The checks of the server's verdict (fieldvisit/compliance.py), judged here from a visit's
# ledger entries alone: what report.html says passed or failed must be what the entries show.
# The server renders report.html's verdict with this same function.

CHECKS = (
    "route_approved",
    "two_agents_together",
    "within_hours",
    "geofence",
    "frequency_cap",
    "approved_order",
    "checkins_on_time",
    "door_photo",
    "recording",
    "notice_outcome",
    "report_cosigned",
)
DOOR_KINDS = ("door", "nearest_door")
UNPLACED = ("no_gps", "far_from_address")
MAX_GAP_S = 2.0  # the longest pause between two segments still one recording
# A notice signed by someone who should not have: an unlisted third party without a reason,
# or a relation not to be contacted.
SIGNER_FAILS = ("no_third_party_reason", "relation_do_not_contact")
# The conduct attestations a report must give (the seeds' rules, item by item): an item a
# report's content leaves out was not attested, and fails like one attested broken.
ATTESTATION_ITEMS = (
    "identity_shown",
    "identity_verified_first",
    "did_not_enter_residence",
    "no_disturbance",
    "no_physical_contact",
    "no_threats_or_insults",
    "no_impersonation",
    "no_unauthorised_reduction",
    "no_third_party_disclosure",
    "no_cash_accepted",
    "opening_statement_recorded",
    "closing_statement_recorded",
)


def canonical(value):
    """RFC 8785 for the values a report's content holds (strings, integers, booleans, null,
    objects with ASCII keys and lists): sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def flag_check(checkins, flags):
    arrivals = [e for e in checkins if e["kind"] in ("checkin.arrive", "checkin.leave")]
    if not arrivals:
        return False, "no arrival recorded"
    broken = [e for e in arrivals if set(flags) & set(e["data"].get("flags") or [])]
    if broken:
        return False, f"{len(broken)} arrival or leave check-in(s) flagged {', '.join(flags)}"
    return True, "no arrival or leave check-in flagged " + ", ".join(flags)


def missed_checkins(checkins, closed):
    """Each arriving agent's periodic reports that fell due while the visit was under way
    (first arrival to close): due ``interval`` after the previous report (none after a
    return), missed when the next came later than ``grace`` after that. The report each made
    before the visit, and the interval and grace, are stated in the visit.closed entry."""
    arrivals = [e for e in checkins if e["kind"] == "checkin.arrive"]
    timing, before = closed.get("timing"), closed.get("reports_before")
    if not isinstance(timing, dict) or not isinstance(before, dict):
        return None
    start, end = (
        min(parse_time(e["data"]["captured_at"]) for e in arrivals),
        parse_time(closed["closed_at"]),
    )
    interval = datetime.timedelta(seconds=timing["interval_s"])
    grace = datetime.timedelta(seconds=timing["grace_s"])
    missed = []
    for agent in sorted({str(e["actor"].get("id")) for e in arrivals}):
        times = [
            (parse_time(e["data"]["captured_at"]), e["kind"][len("checkin.") :])
            for e in checkins
            if str(e["actor"].get("id")) == agent and parse_time(e["data"]["captured_at"]) <= end
        ]
        if isinstance(before.get(agent), dict):
            times.append((parse_time(before[agent]["at"]), before[agent]["kind"]))
        times.sort()
        for at, (previous, kind) in enumerate(times):
            following = times[at + 1] if at + 1 < len(times) else None
            due = previous + interval
            if kind == "return" or not start <= due <= end:
                continue
            came = following[0] if following else None
            if (came or end) > due + grace:
                missed.append((agent, due))
    return missed


def recording_check(segments, checkins):
    """One continuous recording from at or before the first arrival to at or after the last
    leave: no index missing or twice, no pause over MAX_GAP_S between consecutive ones."""
    if not segments:
        return False, "no recording uploaded"
    recordings = sorted({e["data"].get("recording") for e in segments}, key=str)
    chosen = [e["data"] for e in segments if e["data"].get("recording") == recordings[0]]
    ordered = sorted(chosen, key=lambda d: d["segment"])
    indexes = [d["segment"] for d in ordered]
    missing = sorted(set(range(indexes[-1] + 1)) - set(indexes))
    twice = sorted({i for i in indexes if indexes.count(i) > 1})

    def ends(d):
        return parse_time(d["started_at"]) + datetime.timedelta(seconds=d["duration_s"])

    pairs = [(ordered[at - 1], ordered[at]) for at in range(1, len(ordered))]
    gaps = [
        prev["segment"]
        for prev, nxt in pairs
        if nxt["segment"] == prev["segment"] + 1
        and round((parse_time(nxt["started_at"]) - ends(prev)).total_seconds(), 3) > MAX_GAP_S
    ]
    arrive = [
        parse_time(e["data"]["captured_at"]) for e in checkins if e["kind"] == "checkin.arrive"
    ]
    leave = [parse_time(e["data"]["captured_at"]) for e in checkins if e["kind"] == "checkin.leave"]
    covers = (
        bool(arrive and leave)
        and parse_time(ordered[0]["started_at"]) <= min(arrive)
        and ends(ordered[-1]) >= max(leave)
    )
    problems = [
        *([f"segments {missing} missing"] if missing else []),
        *([f"segments {twice} received twice"] if twice else []),
        *([f"a pause after segment(s) {gaps}"] if gaps else []),
        *([] if covers else ["it does not cover the first arrival to the last leave"]),
    ]
    if problems:
        return False, "; ".join(problems)
    return True, f"{len(ordered)} segment(s) record continuously, covering the visit"


def door_photo_check(photos, accepted):
    door = [d for d in photos if d.get("kind") in DOOR_KINDS]
    if not door:
        return False, "no photo of the door number"
    with_partner = [d for d in door if d.get("partner_in_frame") is True]
    if not with_partner:
        return False, "no door photo shows the partner in frame"
    good = [
        d
        for d in with_partner
        if "lone_agent" not in (d.get("flags") or [])
        and (not set(UNPLACED) & set(d.get("flags") or []) or str(d.get("photo")) in accepted)
    ]
    if not good:
        return False, "every door photo with the partner is flagged"
    return True, f"door photo {good[0].get('photo')} with the partner in frame"


def notice_check(receipts):
    """The notice's last outcome (by capture time), failing where its signer should not
    have signed."""
    if not receipts:
        return False, "no notice receipt"
    last = sorted(receipts, key=lambda d: (parse_time(d["captured_at"]), str(d.get("receipt"))))[-1]
    wrong = sorted(set(SIGNER_FAILS) & set(last.get("flags") or []))
    if wrong:
        return False, f"notice {last.get('notice_number')} signed by someone flagged {wrong}"
    return True, f"notice {last.get('notice_number')}: {last.get('outcome')}"


def report_check(filed, cosigned):
    """The current report (the one no other corrects), its content hashing to its recorded
    SHA-256, co-signed over that content by another agent, every attestation given."""
    corrected = {str((e["data"].get("content") or {}).get("corrects")) for e in filed}
    heads = [e for e in filed if str(e["data"].get("report")) not in corrected]
    if not heads:
        return False, "no visit report filed"
    data = heads[-1]["data"]
    content = data.get("content") or {}
    digest = hashlib.sha256(canonical(content)).hexdigest()
    problems = []
    if digest != data.get("content_sha256"):
        problems.append("its content does not hash to its recorded SHA-256")
    signs = [e for e in cosigned if str(e["data"].get("report")) == str(data.get("report"))]
    if not signs:
        problems.append("it is not co-signed")
    elif str(signs[-1]["actor"].get("id")) == str(content.get("author")):
        problems.append("it is co-signed by its own author")
    elif signs[-1]["data"].get("report_sha256") != digest:
        problems.append("the co-signature does not sign this content")
    attested = content.get("attestations") or {}
    items = [*ATTESTATION_ITEMS, *sorted(set(attested) - set(ATTESTATION_ITEMS))]
    broken = [name for name in items if attested.get(name) is False]
    unattested = [name for name in items if attested.get(name) not in (True, False)]
    if broken:
        problems.append("attested broken: " + ", ".join(broken))
    if unattested:
        problems.append("not attested: " + ", ".join(unattested))
    if problems:
        return False, f"report {data.get('report')}: " + "; ".join(problems)
    return True, f"report {data.get('report')} co-signed, every attestation given"


def judge_visit(chain):
    """The compliance checks of one visit from its chain of entries (in chain order):
    {check: (passed, why)}; None while the visit is not closed (the server judges an open
    visit against its own clock, which no one can re-derive)."""
    closes = [e for e in chain if e.get("kind") == "visit.closed"]
    if not closes:
        return None
    closed = closes[-1]["data"]
    checkins = [e for e in chain if str(e.get("kind", "")).startswith("checkin.")]
    of = lambda kind: [e for e in chain if e.get("kind") == kind]  # noqa: E731
    route = closed.get("route") if isinstance(closed.get("route"), dict) else {}
    verdict = {
        "route_approved": (
            bool(route.get("approved")),
            f"route approved {route.get('approved_at')} (ledger entry {route.get('approval')})"
            if route.get("approved")
            else "the route was not approved when the visit closed",
        ),
        "two_agents_together": (
            bool(of("visit.opened")),
            "the visit opened: two agents arrived together"
            if of("visit.opened")
            else "the visit never opened",
        ),
        "within_hours": flag_check(checkins, ["outside_visit_hours"]),
        "geofence": flag_check(checkins, ["too_far_from_address", "address_not_geocoded"]),
        "frequency_cap": flag_check(checkins, ["frequency_cap"]),
        "door_photo": door_photo_check(
            [e["data"] for e in of("photo.added")],
            {str(e["data"].get("photo")) for e in of("photo.accepted")},
        ),
        "recording": recording_check(of("recording.segment_added"), checkins),
        "approved_order": flag_check(checkins, ["out_of_sequence"]),
        "notice_outcome": notice_check([e["data"] for e in of("receipt.recorded")]),
        "report_cosigned": report_check(of("report.filed"), of("report.cosigned")),
    }
    if not any(e["kind"] == "checkin.arrive" for e in checkins):
        verdict["checkins_on_time"] = (False, "not visited")
    else:
        missed = missed_checkins(checkins, closed)
        verdict["checkins_on_time"] = (
            (None, "not derivable: visit.closed does not state the check-in timing")
            if missed is None
            else (not missed, f"{len(missed)} periodic check-in(s) missed during the visit")
        )
    return {name: verdict[name] for name in CHECKS}


# --- report.html says what the entries show --------------------------------------------------

# The words report.html marks a check or a verdict with, in each language a bundle is made
# in (a test keeps them equal to the server's translations).
PASS_WORDS = {"passed", "通过"}
FAIL_WORDS = {"failed", "未通过"}
VERDICT_WORDS = {"pass": {"all checks passed", "全部检查通过"}, "fail": {"not compliant", "不合规"}}


class ReportPage(html.parser.HTMLParser):
    """report.html's verdict marks: per visit section, the verdict heading (its data-verdict,
    the class and words of its mark) and each check row (data-check, data-ok, the class and
    words of its result cell)."""

    def __init__(self):
        super().__init__()
        self.visits = {}
        self.visit = None
        self.stack = []  # (tag, attributes) of the open elements inside a verdict or a row
        self.text = []
        self.cells = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self.visit = self.visits.setdefault(
                attrs.get("data-visit"), {"verdict": [], "checks": [], "rows": 0}
            )
        if self.visit is None:
            return
        if tag == "h3" and "data-verdict" in attrs:
            self.stack = [("verdict", attrs)]
            self.text = []
        elif tag == "tr" and "data-check" in attrs:
            self.stack = [("row", attrs)]
            self.text = []
            self.cells = []
        elif tag == "td" and self.stack and self.stack[0][0] == "row":
            self.cells.append([attrs.get("class"), ""])
        elif tag == "span" and self.stack and self.stack[0][0] == "verdict":
            self.stack.append(("span", attrs))
        elif tag == "table" and str(attrs.get("id", "")).startswith("compliance-"):
            self.visit["table"] = True
        elif tag == "tr" and self.visit.get("table"):
            self.visit["rows"] += 1  # a row of the verdict table without a check's mark

    def handle_data(self, data):
        if not self.stack:
            return
        if self.stack[0][0] == "row" and self.cells:
            self.cells[-1][1] += data
        elif self.stack[-1][0] == "span":
            self.text.append((self.stack[-1][1].get("class"), data))

    def handle_endtag(self, tag):
        if not self.stack or self.visit is None:
            if tag == "table" and self.visit is not None:
                self.visit["table"] = False
            return
        kind, attrs = self.stack[0]
        if tag == "h3" and kind == "verdict":
            self.visit["verdict"].append((attrs.get("data-verdict"), self.text))
            self.stack = []
        elif tag == "span" and self.stack[-1][0] == "span":
            self.stack.pop()
        elif tag == "tr" and kind == "row":
            self.visit["checks"].append((attrs.get("data-check"), attrs.get("data-ok"), self.cells))
            self.stack = []


def report_page_problems(page, visit, derived):
    """How report.html's section for ``visit`` differs from the verdict its entries show."""
    section = page.visits.get(visit)
    if section is None:
        return ["report.html has no section for it"]
    problems = []
    if section["rows"] > 1:  # the header row only
        problems.append("its verdict table has rows that name no check")
    shown = {}
    for name, ok, cells in section["checks"]:
        result = cells[1] if len(cells) > 1 else [None, ""]
        words = PASS_WORDS if ok == "true" else FAIL_WORDS
        if name in shown or ok not in ("true", "false"):
            problems.append(f"report.html marks check {name} twice or unreadably")
        elif result[0] != ("ok" if ok == "true" else "bad") or result[1].strip() not in words:
            problems.append(f"report.html shows check {name} otherwise than it marks it")
        shown[name] = ok == "true"
    for name, (passed, why) in derived.items():
        if passed is None or name not in shown:
            if name not in shown:
                problems.append(f"report.html does not show check {name}")
            continue
        if shown[name] != passed:
            said = "passed" if shown[name] else "failed"
            problems.append(f"report.html says check {name} {said}, but its entries show: {why}")
    extra = sorted(set(shown) - set(derived))
    if extra:
        problems.append(f"report.html shows checks the verdict has not: {extra}")
    overall = all(passed is not False for passed, _why in derived.values())
    if len(section["verdict"]) != 1:
        problems.append("report.html does not state one verdict for it")
    else:
        mark, text = section["verdict"][0]
        want = "pass" if overall else "fail"
        words = "".join(t for _cls, t in text).strip()
        classes = {cls for cls, _t in text}
        if (
            mark != want
            or words not in VERDICT_WORDS[want]
            or classes != {"ok" if overall else "bad"}
        ):
            problems.append(
                f"report.html's verdict is not '{want}', which the entries show"
                if mark != want
                else "report.html shows its verdict otherwise than it marks it"
            )
    return problems


def check_report_page(root, entries, report):
    """report.html's verdict on each closed visit is the one its entries show; False when a
    check could not be derived (a visit still open, or entries from before the facts were
    recorded)."""
    chains = visit_chains(entries)
    path = os.path.join(root, "report.html")
    try:
        with open(path, encoding="utf-8") as f:
            page = ReportPage()
            page.feed(f.read())
    except (OSError, UnicodeDecodeError) as error:
        report.fail(f"report.html cannot be read: {error}")
        return True
    checked, bad, judged = True, 0, 0
    for visit in sorted(chains):
        chain = [entries[index] for index in sorted(index for _seq, index in chains[visit])]
        try:
            derived = judge_visit(chain)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            report.fail(f"visit {visit}: its entries cannot be judged: {error}")
            bad += 1
            continue
        if derived is None:
            continue  # open: check_chains says so
        judged += 1
        unknown = [name for name, (passed, _why) in derived.items() if passed is None]
        for name in unknown:
            report.note(f"visit {visit}: check {name} cannot be derived from its entries")
            checked = False
        for problem in report_page_problems(page, visit, derived):
            report.fail(f"visit {visit}: {problem}")
            bad += 1
    if judged and not bad:
        report.ok(
            f"report.html's compliance verdict on {judged} visit(s) is what their entries show"
        )
    return checked


# --- Each visit complete: its chain and seal ------------------------------------------------


def bundle_visits(root):
    """The visits manifest.json says this bundle is of (empty when it cannot be read: the
    manifest check reports that)."""
    try:
        with open(os.path.join(root, "manifest.json"), encoding="utf-8") as f:
            return [str(v) for v in json.load(f)["bundle"]["visits"]]
    except (OSError, ValueError, KeyError, TypeError):
        return []


def visit_chains(entries):
    """The entries of each visit's chain, by visit: (number in the chain, ledger index)."""
    chains = {}
    for index, entry in sorted(entries.items()):
        link = entry.get("chain")
        if isinstance(link, dict):
            chains.setdefault(str(link.get("visit")), []).append((link.get("seq"), index))
    return chains


def check_chains(root, entries, leaves, report):
    """Each visit's entries numbered without a gap, linked by leaf hash, ending with a seal
    whose counts hold, and each recording's segment chain whole. False when a visit was
    still open at the checkpoint: genuine so far, but not provably complete."""
    chains = visit_chains(entries)
    bad, still_open, legacy = 0, [], []
    listed = bundle_visits(root)
    # Every visit the entries name is judged, whatever manifest.json lists: leaving a visit
    # out of the list must not leave its chain unchecked.
    named = set(chains) | {
        str(entry.get("subject", ""))[len("visit:") :]
        for entry in entries.values()
        if str(entry.get("subject", "")).startswith("visit:")
    }
    for visit in sorted(named - set(listed)):
        report.fail(
            f"the ledger entries are about visit {visit}, which manifest.json does not list"
        )
        bad += 1
    visits = [*listed, *sorted(named - set(listed))]
    for visit in visits:
        numbered = chains.get(visit, [])
        if not all(isinstance(seq, int) for seq, _index in numbered):
            report.fail(f"visit {visit}: an entry of its chain has no number")
            bad += 1
            continue
        about = [e for e in entries.values() if str(e.get("subject", "")) == f"visit:{visit}"]
        if not numbered and about and not any("chain" in e for e in about):
            legacy.append(visit)
            continue
        problems = visit_chain_problems(sorted(numbered), entries, leaves)
        if problems == [OPEN]:
            still_open.append(visit)
            continue
        for problem in problems:
            report.fail(f"visit {visit}: {problem}")
        bad += len(problems)
    for visit in legacy:
        report.note(
            f"visit {visit} was recorded before visits were chained: its entries are genuine, "
            "but that none is missing cannot be shown"
        )
    for visit in still_open:
        report.note(
            f"visit {visit} was still open at the checkpoint (not closed, so not sealed): "
            "what it holds is genuine, but that nothing is missing can only be shown once it "
            "is closed; download the bundle again after the visit"
        )
    if visits and not bad and not still_open and not legacy:
        report.ok(
            f"{len(visits)} visit(s) complete: each chain of entries is unbroken up to its "
            "seal, and the seal's counts and segment chains hold"
        )
    return not still_open and not legacy


OPEN = "open"  # a visit not closed yet: nothing to seal


def visit_chain_problems(numbered, entries, leaves):
    if not numbered:
        return ["no entries of its chain are in this bundle: its completeness cannot be shown"]
    problems, previous = [], None
    for position, (seq, index) in enumerate(numbered, 1):
        link = entries[index]["chain"]
        if seq != position:
            return [
                *problems,
                f"entry number {position} of its chain is missing (the next one here is "
                f"number {seq}, ledger entry {index})",
            ]
        expected = None if previous is None else leaves[previous].hex()
        if link.get("prev") != expected:
            problems.append(
                f"ledger entry {index} (number {seq}) does not follow the entry before it"
            )
        previous = index
    kinds = [entries[index].get("kind") for _seq, index in numbered]
    seals = [
        (seq, index) for seq, index in numbered if entries[index].get("kind") == "visit.sealed"
    ]
    if not seals:
        if problems or "visit.closed" in kinds:
            # Closing seals in the same transaction: a close without a seal lost entries.
            return [*problems, "it was closed, but its seal (visit.sealed) is missing"]
        return [OPEN]
    seal_seq, seal_index = seals[-1]
    if seal_seq != len(numbered):
        problems.append(
            f"{len(numbered) - seal_seq} entries follow its last seal (ledger entry {seal_index})"
        )
    seal = entries[seal_index].get("data") or {}
    before = [index for seq, index in numbered if seq < seal_seq]
    if seal.get("entries") != len(before) or (
        before and seal.get("head") != leaves[before[-1]].hex()
    ):
        problems.append(
            f"its seal (ledger entry {seal_index}) does not count the entries before it"
        )
    segments = [entries[index] for index in before if entries[index].get("kind") == SEGMENT_KIND]
    problems += segment_chain_problems(segments, seal.get("segments"))
    return problems


SEGMENT_KIND = "recording.segment_added"


def segment_chain_problems(segments, sealed):
    """Each recording's segments numbered 0, 1, 2 ... each naming the previous one's SHA-256,
    as many as the seal says, ending with the SHA-256 it says."""
    problems, recordings = [], {}
    for entry in segments:
        data = entry.get("data") or {}
        recordings.setdefault(str(data.get("recording")), []).append(data)
    found = []
    for recording, items in sorted(recordings.items()):
        items.sort(key=lambda d: d.get("segment", -1))
        previous = ""
        for position, data in enumerate(items):
            sha = (data.get("file") or {}).get("sha256")
            if data.get("segment") != position:
                problems.append(f"recording {recording}: segment {position} is missing")
                break
            if (data.get("prev_sha256") or "") != previous:
                problems.append(
                    f"recording {recording}: segment {position} does not name the SHA-256 of "
                    "the segment before it"
                )
            previous = sha
        found.append(
            {
                "recording": recording,
                "count": len(items),
                "last": len(items) - 1,
                "last_sha256": previous,
            }
        )
    if sealed != found:
        problems.append(
            "its recordings are not the ones its seal commits to (a segment is missing or added)"
        )
    return problems


def load_key(root, name, report):
    """The raw Ed25519 key in a PEM file of the bundle, or None."""
    try:
        with open(os.path.join(root, name), "rb") as f:
            pem = f.read()
        body = [x for x in pem.decode("ascii").splitlines() if x and not x.startswith("-----")]
        der = base64.b64decode("".join(body))
    except (OSError, ValueError) as error:
        report.fail(f"{name} unreadable: {error}")
        return None
    if not der.startswith(ED25519_SPKI_PREFIX) or len(der) != 44:
        report.fail(f"{name} is not an Ed25519 public key")
        return None
    return der[len(ED25519_SPKI_PREFIX) :]


def key_id(raw):
    return hashlib.sha256(raw).hexdigest()[:16]


def ed25519_verify(raw, signature, message):
    """True or False; None when the 'cryptography' package is not there to check."""
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    except ImportError:
        return None
    try:
        Ed25519PublicKey.from_public_bytes(raw).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def read(root, name, report):
    try:
        with open(os.path.join(root, name), "rb") as f:
            return f.read()
    except OSError as error:
        report.fail(f"{name} cannot be read: {error}")
        return None


# --- Trusted keys: pinned from outside, and proven by rotation ---------------------------

ROTATION = "fieldvisit.ledger.key-rotation/v1"


def fingerprints(raw):
    """The SHA-256 fingerprints a key is published under: of its 32 raw bytes, and of its DER
    SubjectPublicKeyInfo (openssl pkey -pubin -in public_key.pem -outform DER | sha256sum)."""
    return {hashlib.sha256(raw).hexdigest(), hashlib.sha256(ED25519_SPKI_PREFIX + raw).hexdigest()}


def parse_pin(text):
    """A --key: ('sha256', hex) for a fingerprint, ('raw', key) for a C2SP verifier key;
    with "@TIME" after it, a key retired at TIME (as the company's key list says), trusted
    only for checkpoints dated before: ('sha256', hex, time)."""
    text = text.strip()
    head, at, tail = text.rpartition("@")
    if at and head:
        try:
            retired = parse_time(tail)
        except ValueError:
            retired = None
        if retired is not None:
            if retired.tzinfo is None:
                raise ValueError(f"--key {text!r}: give the retirement time with its zone (Z)")
            return (*parse_pin(head)[:2], (retired, tail))
    if len(text) == 64 and all(c in "0123456789abcdefABCDEF" for c in text):
        return ("sha256", text.lower())
    name, _, rest = text.partition("+")
    key_hash, _, encoded = rest.partition("+")
    try:
        blob = base64.b64decode(encoded, validate=True)
    except ValueError:
        blob = b""
    if not name or len(blob) != 33 or blob[:1] != NOTE_ED25519:
        raise ValueError(
            f"--key {text!r} is neither a SHA-256 fingerprint (64 hex digits) nor a C2SP "
            "Ed25519 verifier key (name+hash+base64)"
        )
    if note_key_hash(name, blob[1:]).hex() != key_hash:
        raise ValueError(f"--key {text!r}: its key hash does not match its name and key")
    return ("raw", blob[1:])


class Trust:
    """The keys this run trusts: those matching a --key, and those a trusted key handed on
    to by a signed rotation statement (keys.jsonl); each with the time it was retired."""

    def __init__(self, pins):
        self.pins = pins
        self.keys = set()
        self.retired = {}  # raw key -> (time it was retired, the rotation's "at" text)
        self.checked = True

    @property
    def pinned(self):
        return bool(self.pins)

    def matching(self, raw):
        """The pins ``raw`` matches."""
        return [
            pin
            for pin in self.pins
            if (pin[0] == "raw" and pin[1] == raw)
            or (pin[0] == "sha256" and pin[1] in fingerprints(raw))
        ]

    def matches_pin(self, raw):
        return bool(self.matching(raw))

    def trusts(self, raw):
        return raw in self.keys


def parse_time(text):
    """An ISO 8601 time as the ledger writes it (UTC, "Z"), as an aware datetime."""
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def load_trust(root, pins, candidates, report):
    """Trusted keys among ``candidates`` (raw keys the bundle carries) and the rotations."""
    trust = Trust(pins)
    rotations = []
    path = os.path.join(root, "keys.jsonl")
    if os.path.isfile(path):
        try:
            with open(path, "rb") as f:
                for line in f.read().split(b"\n"):
                    if line.strip():
                        item = json.loads(line)
                        statement = base64.b64decode(item["statement_b64"], validate=True)
                        fields = json.loads(statement)
                        if fields.get("type") != ROTATION:
                            raise ValueError("not a key rotation statement")
                        rotations.append(
                            (
                                bytes.fromhex(fields["old_key"]),
                                bytes.fromhex(fields["new_key"]),
                                parse_time(fields["at"]),
                                fields["at"],
                                statement,
                                bytes.fromhex(item["signature"]),
                                bytes.fromhex(item.get("new_signature") or ""),
                            )
                        )
        except (OSError, ValueError, KeyError, TypeError) as error:
            report.fail(f"keys.jsonl is unreadable: {error}")
    known = set(candidates) | {r[0] for r in rotations} | {r[1] for r in rotations}
    trust.keys = {raw for raw in known if trust.matches_pin(raw)}
    # A key pinned with the time it was retired: whatever keys.jsonl says (or leaves out).
    for raw in trust.keys:
        for pin in trust.matching(raw):
            if len(pin) > 2:
                trust.retired[raw] = min(pin[2], trust.retired.get(raw, pin[2]))
    if pins and not trust.keys:
        report.fail(
            "none of the keys this bundle carries or names is a --key you gave: it was not "
            "signed by the key you trust"
        )
    handovers, handed = [], set()
    for old, new, when, text, statement, signature, new_signature in rotations:
        verdict = ed25519_verify(old, signature, statement)
        if verdict is None:
            trust.checked = False
            report.note("keys.jsonl NOT checked here: the Python package 'cryptography' is missing")
        elif not verdict:
            report.fail(
                f"keys.jsonl: the rotation to key {key_id(new)} is not signed by {key_id(old)}"
            )
        elif old in handed:
            # A key hands over once: a second hand-over means someone else holds it.
            report.fail(f"keys.jsonl: key {key_id(old)} hands over twice (to another key)")
        else:
            handed.add(old)
            trust.retired[old] = min((when, text), trust.retired.get(old, (when, text)))
            # Vouching backwards (a pinned new key for the key before it) needs the new key's
            # own signature of the hand-over: anyone can sign "my key handed over to theirs".
            both = bool(new_signature) and ed25519_verify(new, new_signature, statement) is True
            handovers.append((old, new, text, both))
    # The old key's signature lets a trusted old key vouch for the new one; the new key's
    # signature, when both signed, lets a pinned new key vouch for the old one. So one pinned
    # key vouches for the whole chain (each key still only within its validity).
    linked = True
    while linked:
        linked = False
        for old, new, text, both in handovers:
            forward = old in trust.keys and new not in trust.keys
            backward = both and new in trust.keys and old not in trust.keys
            if forward or backward:
                trust.keys |= {old, new}
                linked = True
                report.ok(f"key {key_id(new)} took over from {key_id(old)} at {text}, signed by it")
    return trust


def check_key(raw, what, trust, report):
    if raw is None or not trust.pinned:
        return
    if not trust.trusts(raw):
        report.fail(
            f"{what} is key {hashlib.sha256(raw).hexdigest()}, which is neither a --key you "
            "gave nor handed on to by one (keys.jsonl)"
        )


def check_signatures(root, signed, checkpoint, trust, report):
    """Both signatures; returns False when they could not be checked here."""
    checked = True
    key = load_key(root, "public_key.pem", report)
    sums_key_file = "SHA256SUMS.key.pem"
    sums_key = (
        load_key(root, sums_key_file, report)
        if os.path.exists(os.path.join(root, sums_key_file))
        else key
    )
    check_key(key, "the checkpoint's signing key (public_key.pem)", trust, report)
    if sums_key is not key:
        check_key(sums_key, "the SHA256SUMS signing key (SHA256SUMS.key.pem)", trust, report)
    if key is not None and checkpoint is not None and key_id(key) != checkpoint.get("key_id"):
        report.fail(f"checkpoint.json names key {checkpoint.get('key_id')}, not public_key.pem")
    if key is not None and checkpoint is not None and key in trust.retired:
        retired, text = trust.retired[key]
        try:
            late = parse_time(checkpoint["timestamp"]) >= retired
        except (KeyError, TypeError, ValueError):
            late = True
        if late:
            report.fail(
                f"checkpoint.json is dated {checkpoint.get('timestamp')}, but its key "
                f"{key_id(key)} was retired at {text}"
            )
    pairs = (
        ("checkpoint.sig", key, signed, "checkpoint.json"),
        ("SHA256SUMS.sig", sums_key, read(root, "SHA256SUMS", report), "SHA256SUMS"),
    )
    for sig_name, raw, message, what in pairs:
        signature = read(root, sig_name, report)
        if raw is None or message is None or signature is None:
            continue
        verdict = ed25519_verify(raw, signature, message)
        if verdict is None:
            checked = False
            report.note(
                f"{sig_name} NOT checked here: the Python package 'cryptography' is not "
                "installed. Check it with: openssl pkeyutl -verify -pubin -inkey "
                f"{'public_key.pem' if raw == key else sums_key_file} -rawin -in {what} "
                f"-sigfile {sig_name}"
            )
        elif verdict:
            report.ok(f"{sig_name} verified: {what} signed by key {key_id(raw)}")
        else:
            report.fail(f"{sig_name} is not a valid signature of {what}")
    return checked


# --- C2SP tlog-proof files (https://c2sp.org/tlog-proof, c2sp.org/tlog-checkpoint) ----------

PROOF_HEADER = "c2sp.org/tlog-proof@v1"
NOTE_ED25519 = b"\x01"


def parse_tlog_proof(text):
    """(extra bytes or None, index, [hashes], note text); ValueError when malformed."""
    lines = text.split("\n")
    if lines[0] != PROOF_HEADER:
        raise ValueError("not a c2sp.org/tlog-proof@v1 file")
    at, extra = 1, None
    if lines[at].startswith("extra "):
        extra = base64.b64decode(lines[at][6:], validate=True)
        at += 1
    if not lines[at].startswith("index "):
        raise ValueError("no index line")
    number = lines[at][6:]
    if not number.isdigit() or (number != "0" and number.startswith("0")):
        raise ValueError("malformed index")
    at += 1
    path = []
    while lines[at] != "":
        value = base64.b64decode(lines[at], validate=True)
        if len(value) != 32:
            raise ValueError("a proof hash is not 32 bytes")
        path.append(value)
        at += 1
    return extra, int(number), path, "\n".join(lines[at + 1 :])


def parse_note(note):
    """(origin, size, root, [(name, key hash, signature)]) of a signed-note checkpoint."""
    body, sep, signatures = note.partition("\n\n")
    lines = body.split("\n")
    if not sep or len(lines) < 3 or not lines[1].isdigit():
        raise ValueError("not a tlog-checkpoint signed note")
    root = base64.b64decode(lines[2], validate=True)
    sigs = []
    for line in signatures.split("\n"):
        if not line:
            continue
        dash, _, rest = line.partition(" ")
        name, _, value = rest.partition(" ")
        blob = base64.b64decode(value, validate=True)
        if dash != "\u2014" or len(blob) < 5:
            raise ValueError("malformed signature line")
        sigs.append((name, blob[:4], blob[4:]))
    return lines[0], int(lines[1]), root, (body + "\n").encode(), sigs


def note_key_hash(name, raw):
    return hashlib.sha256(name.encode() + b"\n" + NOTE_ED25519 + raw).digest()[:4]


def check_tlog_proofs(root, checkpoint, key, leaves, report):
    """Every entry's tlog-proof file; returns False when the note signature was not checked."""
    folder = os.path.join(root, "ledger", "proofs")
    names = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
    checked, bad, notes, found = True, 0, {}, set()
    for name in names:
        where = f"ledger/proofs/{name}"
        try:
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                extra, index, path, note = parse_tlog_proof(f.read())
            origin, size, note_root, body, sigs = parse_note(note)
        except (OSError, ValueError, IndexError, UnicodeDecodeError) as error:
            report.fail(f"{where} is unreadable: {error}")
            bad += 1
            continue
        found.add(index)
        leaf = hashlib.sha256(b"\x00" + extra).digest() if extra is not None else leaves.get(index)
        if name != f"{index}.tlog-proof" or leaf is None or leaves.get(index) != leaf:
            report.fail(f"{where}: its entry is not ledger entry {index} of entries.jsonl")
            bad += 1
        elif checkpoint is None or (size, note_root) != (
            checkpoint["tree_size"],
            checkpoint["root"],
        ):
            report.fail(f"{where}: its signed note is not the checkpoint of checkpoint.json")
            bad += 1
        elif root_from_inclusion_proof(index, size, leaf, path) != note_root:
            report.fail(f"{where}: inclusion proof does not lead to the note's root")
            bad += 1
        else:
            notes.setdefault(note, (origin, body, sigs, where))
    missing = sorted(set(leaves) - found)
    if missing:
        report.fail(f"ledger entries without a tlog-proof file: {missing[:5]}")
        bad += 1
    for origin, body, sigs, where in notes.values():
        if key is None:
            continue
        mine = [
            sig
            for name, khash, sig in sigs
            if name == origin and khash == note_key_hash(origin, key)
        ]
        if not mine:
            report.fail(f"{where}: the signed note carries no signature by public_key.pem")
            bad += 1
            continue
        verdict = ed25519_verify(key, mine[0], body)
        if verdict is None:
            checked = False
            report.note("the tlog-proof signed note NOT checked here: 'cryptography' is missing")
        elif not verdict:
            report.fail(f"{where}: the signed note's signature does not verify")
            bad += 1
    if not bad and names:
        report.ok(f"{len(names)} C2SP tlog-proof files verified against the signed note")
    elif not names and leaves:
        report.fail("ledger/proofs/ holds no tlog-proof files")
    return checked


# --- C2SP tlog-cosignature: witnesses (https://c2sp.org/tlog-cosignature) ------------------

COSIGNATURE_V1 = b"\x04"
CLOCK_SLACK_S = 60  # a witness's clock may run this far behind the log's


def parse_witness_key(text):
    """A witness's verifier key ``name+hex(key ID)+base64(0x04 || Ed25519 key)`` ->
    (name, key ID, public key); ValueError when malformed or the key ID does not match."""
    parts = text.strip().split("+", 2)
    if len(parts) != 3 or not parts[0] or any(ch.isspace() for ch in parts[0]):
        raise ValueError(f"--witness {text!r}: a witness key is name+keyid+base64(0x04||key)")
    name, hex_id, material = parts
    try:
        raw = base64.b64decode(material, validate=True)
    except ValueError:
        raise ValueError(f"--witness {text!r}: its key is not base64") from None
    if len(raw) != 33 or raw[:1] != COSIGNATURE_V1:
        raise ValueError(f"--witness {text!r}: not an Ed25519 cosignature/v1 key (type 0x04)")
    key_hash = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]
    if key_hash.hex() != hex_id.lower():
        raise ValueError(f"--witness {text!r}: its key ID does not match its name and key")
    return name, key_hash, raw[1:]


def witness_count(body, sigs, witnesses, report, where):
    """Which of ``witnesses`` validly cosigned the note text ``body`` (name -> time) and which
    carry no line at all; None when the signatures could not be checked here. A line that
    does not verify is a failure whatever the count: someone wrote it in a witness's name."""
    signed, absent = {}, []
    for name, khash, public in witnesses:
        lines = [sig for n, h, sig in sigs if (n, h) == (name, khash)]
        if not lines:
            absent.append(name)
            continue
        sig = lines[0]
        if len(sig) != 8 + 64:
            report.fail(f"{where}: witness {name}'s line is not a cosignature/v1")
            continue
        when = int.from_bytes(sig[:8], "big")
        message = b"cosignature/v1\ntime %d\n" % when + body
        verdict = ed25519_verify(public, sig[8:], message)
        if verdict is None:
            return None
        if not verdict:
            report.fail(f"{where}: witness {name}'s cosignature does not verify")
            continue
        signed[name] = when
    return signed, absent


def check_witnesses(root, checkpoint, args, report):
    """With --witness: the checkpoint's signed note (checkpoint.txt, and the same note in every
    tlog-proof file) carries valid cosignatures by at least --witnesses-required of them (all
    by default), none dated before the checkpoint's own time. Returns False
    when it could not be checked here."""
    text = read(root, "checkpoint.txt", report)
    if text is None:
        return True
    try:
        origin, size, note_root, body, sigs = parse_note(text.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        report.fail(f"checkpoint.txt is not a signed note: {error}")
        return True
    if checkpoint is not None and (size, note_root) != (
        checkpoint.get("tree_size"),
        checkpoint.get("root"),
    ):
        report.fail("checkpoint.txt is not the checkpoint of checkpoint.json")
    witnesses = args.witnesses
    if not witnesses:
        others = [n for n, _, _ in sigs if n != origin]
        if others:
            report.note(
                f"checkpoint.txt carries {len(others)} witness cosignature(s) "
                f"({', '.join(sorted(set(others)))}), not checked: give --witness KEY"
            )
        return True
    need = args.witnesses_required or len(witnesses)
    counted = witness_count(body, sigs, witnesses, report, "checkpoint.txt")
    if counted is None:
        report.note("witness cosignatures NOT checked here: 'cryptography' is missing")
        return False
    signed, absent = counted
    try:
        stamped = parse_time(checkpoint["timestamp"]).timestamp() if checkpoint else None
    except (KeyError, TypeError, ValueError):
        stamped = None
    for name, when in sorted(signed.items()):
        # A witness cosigns what it has seen: a cosignature older than the checkpoint's own
        # time says the checkpoint is post-dated.
        if stamped is not None and when < stamped - CLOCK_SLACK_S:
            report.fail(
                f"checkpoint.txt: witness {name} cosigned at {when}, before the checkpoint's "
                f"own time ({checkpoint['timestamp']})"
            )
            del signed[name]
    met = len(signed) >= need
    for name in absent:
        (report.note if met else report.fail)(f"checkpoint.txt: no cosignature by witness {name}")
    (report.ok if met else report.fail)(
        f"checkpoint.txt cosigned by {len(signed)} of {len(witnesses)} witnesses "
        f"({', '.join(sorted(signed)) or 'none'}); {need} required"
    )
    return True


# --- RFC 3161 time-stamp ------------------------------------------------------------------


def pem_fingerprints(path):
    """SHA-256 fingerprints of the certificates in a PEM file."""
    with open(path, encoding="ascii") as f:
        text = f.read()
    prints = []
    for block in text.split("-----BEGIN CERTIFICATE-----")[1:]:
        body = block.split("-----END CERTIFICATE-----")[0]
        prints.append(hashlib.sha256(base64.b64decode("".join(body.split()))).hexdigest())
    return prints


def tsa_time(text):
    """The "Time stamp:" of ``openssl ts -reply -text`` as an aware datetime, or None."""
    line = next((x for x in text.splitlines() if x.startswith("Time stamp:")), None)
    if line is None:
        return None
    value = line.split(":", 1)[1].strip()
    for layout in ("%b %d %H:%M:%S.%f %Y %Z", "%b %d %H:%M:%S %Y %Z"):
        try:
            return datetime.datetime.strptime(value, layout).replace(tzinfo=datetime.UTC)
        except ValueError:
            continue
    return None


def token_names(root):
    """The bundle's RFC 3161 tokens (timestamp/checkpoint.tsr, checkpoint.2.tsr, ...): one per
    authority that stamped the checkpoint."""
    folder = os.path.join(root, "timestamp")
    names = os.listdir(folder) if os.path.isdir(folder) else []
    tokens = [n for n in names if n.startswith("checkpoint") and n.endswith(".tsr")]
    return sorted(tokens, key=lambda n: (len(n), n))


def check_timestamp(root, checkpoint, args, report):
    """The RFC 3161 tokens over checkpoint.json; False when none could be checked here."""
    tokens = token_names(root)
    if not tokens:
        if args.require_timestamp:
            report.fail("no RFC 3161 time-stamp (timestamp/checkpoint.tsr) in this bundle")
        else:
            report.note(
                "no RFC 3161 time-stamp in this bundle (the authority had not stamped "
                "this checkpoint yet); only the server's own clock dates it"
            )
        return True
    if not args.tsa_ca:
        folder = os.path.join(root, "timestamp")
        carried = [n for n in sorted(os.listdir(folder)) if n.startswith("tsa-ca")]
        prints = ", ".join(p for n in carried for p in pem_fingerprints(os.path.join(folder, n)))
        message = (
            "timestamp/checkpoint.tsr NOT checked: give the authority's CA certificate, as the "
            "authority publishes it, with --tsa-ca FILE (the copy in timestamp/tsa-ca.pem, "
            f"SHA-256 {prints or 'none'}, is only a convenience: anyone could have replaced it)"
        )
        if args.require_timestamp:
            report.fail(message)
            return True
        report.note(message)
        return False
    openssl = shutil.which("openssl")
    cas = [os.path.abspath(ca) for ca in args.tsa_ca]
    if openssl is None:
        command = (
            f"openssl ts -verify -data checkpoint.json -in timestamp/{tokens[0]} -CAfile {cas[0]}"
        )
        report.note(
            f"timestamp/checkpoint.tsr NOT checked: openssl is not installed. Run: {command}"
        )
        return False
    verified, unverified = 0, []
    for name in tokens:
        token = f"timestamp/{name}"
        for ca in cas:
            done, when = openssl_ts(openssl, root, token, ca)
            if done.returncode == 0 and "Verification: OK" in done.stdout:
                verified += 1
                check_stamp(token, when, ca, checkpoint, args, report)
                break
        else:
            why = (done.stderr.strip().splitlines() or ["no reason given"])[0]
            command = f"openssl ts -verify -data checkpoint.json -in {token} -CAfile {cas[-1]}"
            unverified.append((token, f"{token} does not verify ({command}): {why}"))
    for token, message in unverified:
        if verified:
            report.note(
                f"{token} NOT checked: none of the --tsa-ca certificates verifies it (another "
                "authority's token: give its CA with one more --tsa-ca)"
            )
        else:
            report.fail(message)
    return True


def openssl_ts(openssl, root, token, ca):
    """``openssl ts -verify`` of one token, and the authority's time it carries."""
    done = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [openssl, "ts", "-verify", "-data", "checkpoint.json", "-in", token, "-CAfile", ca],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    text = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [openssl, "ts", "-reply", "-in", token, "-text"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return done, tsa_time(text)


def check_stamp(token, when, ca, checkpoint, args, report):
    if when is None:
        report.fail(f"{token}: its time cannot be read")
        return
    prints = ", ".join(p[:16] for p in pem_fingerprints(ca))
    report.ok(
        f"{token} verified (openssl ts): checkpoint.json existed at {when.isoformat()} per "
        f"the time-stamp authority (CA SHA-256 {prints}...)"
    )
    check_times(checkpoint, when, args.tsa_window, report)


def check_times(checkpoint, when, window, report):
    """The authority's time after the checkpoint's own, and not more than ``window`` seconds
    after: a checkpoint back-dated (say, to a time its key was still valid) is refused."""
    if checkpoint is None:
        return
    try:
        signed_at = parse_time(checkpoint["timestamp"])
    except (KeyError, TypeError, ValueError):
        report.fail("checkpoint.json has no readable timestamp")
        return
    lag = (when - signed_at).total_seconds()
    if lag < -1:  # the authority's time is to the second; ours to the microsecond
        report.fail(
            f"checkpoint.json says it was signed at {checkpoint['timestamp']}, after the "
            f"authority stamped it ({when.isoformat()})"
        )
    elif lag > window:
        report.fail(
            f"checkpoint.json says it was signed at {checkpoint['timestamp']}, but the "
            f"authority first saw it {lag:.0f} s later (more than --tsa-window {window} s): "
            "it may have been back-dated"
        )
    else:
        report.ok(f"the authority stamped the checkpoint {lag:.0f} s after it was signed")


# --- consistency between two bundles (RFC 9162, section 2.1.4.2) ------------------------------


def verify_consistency(first, second, first_root, second_root, path):
    if first == second:
        return not path and first_root == second_root
    if not 0 < first < second or not path:
        return False
    if first & (first - 1) == 0:
        path = [first_root, *path]
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node(c, fr), node(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root


def check_against(mine, other, report):
    """Both bundles' checkpoints on one history; ``mine``/``other``: (folder, checkpoint)."""
    if mine[1] is None or other[1] is None:
        report.fail("--against: a checkpoint is unreadable, consistency cannot be checked")
        return
    earlier, later = sorted((mine, other), key=lambda b: b[1]["tree_size"])
    a, b = earlier[1], later[1]
    if a["tree_size"] == b["tree_size"]:
        if a["root"] == b["root"]:
            report.ok(f"both bundles cite tree size {a['tree_size']} with the same root")
        else:
            report.fail(
                f"FORKED HISTORY: both bundles cite tree size {a['tree_size']} with different roots"
            )
        return
    proofs = []
    try:
        with open(os.path.join(later[0], "ledger", "consistency.jsonl"), "rb") as f:
            proofs = [json.loads(x) for x in f.read().split(b"\n") if x.strip()]
    except OSError:
        pass
    except ValueError as error:
        report.fail(f"ledger/consistency.jsonl of {later[0]} is unreadable: {error}")
        return
    line = next((p for p in proofs if p.get("first") == a["tree_size"]), None)
    if line is None:
        report.fail(
            f"the later bundle ({later[0]}) holds no consistency proof from tree size "
            f"{a['tree_size']}: download it again with ?consistent_with={a['tree_size']}"
        )
        return
    try:
        first_root = bytes.fromhex(line["first_root"])
        second_root = bytes.fromhex(line["second_root"])
        path = [bytes.fromhex(h) for h in line["path"]]
    except (KeyError, TypeError, ValueError) as error:
        report.fail(f"the consistency proof from {a['tree_size']} is unreadable: {error}")
        return
    if line.get("second") != b["tree_size"] or second_root != b["root"]:
        report.fail("the consistency proof does not end at the later bundle's checkpoint")
    elif first_root != a["root"]:
        report.fail(
            f"FORKED HISTORY: at tree size {a['tree_size']} the later bundle's log had "
            f"root {first_root.hex()}, the earlier bundle's checkpoint says "
            f"{a['root'].hex()}"
        )
    elif not verify_consistency(a["tree_size"], b["tree_size"], first_root, second_root, path):
        report.fail(
            f"FORKED HISTORY: the consistency proof from tree size {a['tree_size']} to "
            f"{b['tree_size']} does not hold"
        )
    else:
        report.ok(
            f"one history: tree size {a['tree_size']} ({earlier[0]}) is a prefix of tree "
            f"size {b['tree_size']} ({later[0]}); nothing in between was removed"
        )


def verify_bundle(root, args, report):
    """All checks of one bundle folder: (its checkpoint or None, everything checked?)."""
    listed = check_files(root, report)
    signed, checkpoint = load_checkpoint(root, report)
    leaves = {}
    entries = check_entries(root, checkpoint, report, leaves)
    check_manifest(root, listed, entries, report)
    complete = check_chains(root, entries, leaves, report)
    complete = check_report_page(root, entries, report) and complete
    candidates = [
        raw
        for name in ("public_key.pem", "SHA256SUMS.key.pem")
        if os.path.isfile(os.path.join(root, name))
        for raw in [load_key(root, name, Report())]
        if raw is not None
    ]
    trust = load_trust(root, args.pins, candidates, report)
    checked = check_signatures(root, signed, checkpoint, trust, report) and trust.checked
    checked = checked and complete
    key = candidates[0] if os.path.isfile(os.path.join(root, "public_key.pem")) else None
    checked = check_tlog_proofs(root, checkpoint, key, leaves, report) and checked
    checked = check_timestamp(root, checkpoint, args, report) and checked
    checked = check_witnesses(root, checkpoint, args, report) and checked
    return checkpoint, checked


def main(argv):
    parser = argparse.ArgumentParser(description="Verify an evidence bundle.")
    parser.add_argument("folder", nargs="?", default=os.path.dirname(os.path.abspath(__file__)))
    parser.add_argument(
        "--key",
        action="append",
        default=[],
        help="the company's published ledger key: C2SP verifier key string or SHA-256 "
        "fingerprint (repeatable)",
    )
    parser.add_argument(
        "--tsa-ca",
        action="append",
        default=[],
        help="a time-stamp authority's CA certificate (PEM) you trust (repeatable)",
    )
    parser.add_argument(
        "--require-timestamp", action="store_true", help="fail when there is no RFC 3161 token"
    )
    parser.add_argument(
        "--tsa-window",
        type=int,
        default=3600,
        help="seconds the authority's time may lie after the checkpoint's (default 3600)",
    )
    parser.add_argument(
        "--witness",
        action="append",
        default=[],
        metavar="KEY",
        help="a witness's C2SP verifier key (name+keyid+base64); its cosignature of the "
        "checkpoint is then required (repeatable)",
    )
    parser.add_argument(
        "--witnesses-required",
        type=int,
        default=0,
        metavar="K",
        help="how many of the --witness keys must have cosigned (default: all of them)",
    )
    parser.add_argument(
        "--against", metavar="OTHER_BUNDLE", help="another bundle (folder) of the same ledger"
    )
    args = parser.parse_args(argv[1:])
    report = Report()
    try:
        args.pins = [parse_pin(text) for text in args.key]
        args.witnesses = [parse_witness_key(text) for text in args.witness]
        if not 0 <= args.witnesses_required <= len(args.witnesses):
            raise ValueError("--witnesses-required must lie between 0 and the --witness count")
    except ValueError as error:
        report.fail(str(error))
        print("1 CHECK(S) FAILED")
        return 1
    # Folders as absolute paths: openssl runs inside the bundle's folder.
    root = os.path.abspath(args.folder)
    checkpoint, checked = verify_bundle(root, args, report)
    if args.against:
        other_root = os.path.abspath(args.against)
        print(f"--- the other bundle: {args.against}")
        other, other_checked = verify_bundle(other_root, args, report)
        checked = checked and other_checked
        print("--- both together")
        check_against((root, checkpoint), (other_root, other), report)
    if report.failures:
        print(f"{len(report.failures)} CHECK(S) FAILED")
        return 1
    if not checked:
        print(
            "INCOMPLETE: files and proofs hold, but not everything could be checked here "
            "(see the notes above)"
        )
        return 2
    if not args.pins:
        print(
            "UNPINNED: every check holds, but only against the key this bundle carries, which "
            "anyone could have replaced. Run again with --key <the company's published key> "
            "(its verifier key string or SHA-256 fingerprint, as filed with the court or "
            "printed on the company's letters)"
        )
        return 3
    print("ALL CHECKS PASSED")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
