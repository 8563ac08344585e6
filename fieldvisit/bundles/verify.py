#!/usr/bin/env python3
"""Verify this evidence bundle. Python 3 standard library only; the Ed25519 signature is
checked with the "cryptography" package when it is installed.

    python3 verify.py [--key-id ID ...] [--tsa-ca PEM] [--against OTHER_BUNDLE] [bundle folder]
                                                        (default: this file's folder)

Checks, each independent of the server that made the bundle:
  1. every file listed in SHA256SUMS has that SHA-256, and no file is unlisted;
  2. SHA256SUMS.sig is the server's Ed25519 signature of SHA256SUMS, so no file can be
     added, dropped or changed together with its line;
  3. every file under evidence/ is a manifest.json item, every item is recorded by a proven
     ledger entry naming its SHA-256, and every evidence entry has its files here;
  4. every ledger entry in ledger/entries.jsonl hashes to its leaf (RFC 6962: SHA-256 of
     0x00 + the entry's exact bytes), and its inclusion proof (RFC 9162, section 2.1.3.2)
     leads to the root hash in checkpoint.json;
  5. checkpoint.sig is a valid Ed25519 signature of checkpoint.json by public_key.pem, and
     the key id in checkpoint.json is that key's;
  6. every ledger entry has a C2SP tlog-proof file (ledger/proofs/<index>.tlog-proof) whose
     entry bytes, inclusion path and signed-note checkpoint (signed by public_key.pem) agree;
  7. timestamp/checkpoint.tsr, when present, is an RFC 3161 time-stamp token over
     checkpoint.json from the authority whose CA is timestamp/tsa-ca.pem (or --tsa-ca),
     checked with "openssl ts -verify" (--require-timestamp: its absence is a failure);
  8. with --against OTHER_BUNDLE, the other bundle passes the same checks and both bundles'
     checkpoints lie on one history: the later one carries an RFC 9162 consistency proof
     (ledger/consistency.jsonl) from the earlier one's tree size and root.
With --key-id, the keys must be ones you trust (the company publishes its key ids at
/api/v1/ledger/keys/); otherwise anyone could re-sign a forged bundle with a key of their own.
Exit status 0 when everything holds; 1, naming each failure; 2 when something could not be
checked here (the Python package "cryptography" or the openssl command is missing).
"""

import argparse
import base64
import hashlib
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
        else:
            entries[index] = entry
            leaves[index] = leaf
    if not bad:
        report.ok(f"{len(entries)} ledger entries proven included in the checkpoint")
    return entries


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
        report.ok(f"{len(items)} evidence files are each recorded by a proven ledger entry")


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


def check_signatures(root, signed, checkpoint, trusted, report):
    """Both signatures; returns False when they could not be checked here."""
    checked = True
    key = load_key(root, "public_key.pem", report)
    sums_key_file = "SHA256SUMS.key.pem"
    sums_key = (
        load_key(root, sums_key_file, report)
        if os.path.exists(os.path.join(root, sums_key_file))
        else key
    )
    for raw, what in ((key, "public_key.pem"), (sums_key, "the SHA256SUMS key")):
        if raw is not None and trusted and key_id(raw) not in trusted:
            report.fail(f"{what} has key id {key_id(raw)}, not one of the trusted --key-id")
    if key is not None and checkpoint is not None and key_id(key) != checkpoint.get("key_id"):
        report.fail(f"checkpoint.json names key {checkpoint.get('key_id')}, not public_key.pem")
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


def check_timestamp(root, tsa_ca, require, report):
    """The RFC 3161 token over checkpoint.json; False when it could not be checked here."""
    token = os.path.join("timestamp", "checkpoint.tsr")
    if not os.path.isfile(os.path.join(root, token)):
        if require:
            report.fail("no RFC 3161 time-stamp (timestamp/checkpoint.tsr) in this bundle")
        else:
            report.note(
                "no RFC 3161 time-stamp in this bundle (the authority had not stamped "
                "this checkpoint yet); only the server's own clock dates it"
            )
        return True
    ca = os.path.abspath(tsa_ca) if tsa_ca else os.path.join(root, "timestamp", "tsa-ca.pem")
    if not os.path.isfile(ca):
        report.note(
            "timestamp/checkpoint.tsr NOT checked: no authority CA certificate (give "
            "the authority's CA with --tsa-ca FILE)"
        )
        return False
    command = f"openssl ts -verify -data checkpoint.json -in {token} -CAfile {ca}"
    openssl = shutil.which("openssl")
    if openssl is None:
        report.note(
            f"timestamp/checkpoint.tsr NOT checked: openssl is not installed. Run: {command}"
        )
        return False
    done = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [openssl, "ts", "-verify", "-data", "checkpoint.json", "-in", token, "-CAfile", ca],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0 or "Verification: OK" not in done.stdout:
        why = (done.stderr.strip().splitlines() or ["no reason given"])[0]
        report.fail(f"timestamp/checkpoint.tsr does not verify ({command}): {why}")
        return True
    text = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [openssl, "ts", "-reply", "-in", token, "-text"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    when = next(
        (x.split(":", 1)[1].strip() for x in text.splitlines() if x.startswith("Time stamp:")), "?"
    )
    prints = ", ".join(p[:16] for p in pem_fingerprints(ca))
    report.ok(
        f"timestamp/checkpoint.tsr verified (openssl ts): checkpoint.json existed at {when} "
        f"per the time-stamp authority (CA SHA-256 {prints}...)"
    )
    return True


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
    checked = check_signatures(root, signed, checkpoint, set(args.key_id), report)
    key = (
        load_key(root, "public_key.pem", Report())
        if os.path.isfile(os.path.join(root, "public_key.pem"))
        else None
    )
    checked = check_tlog_proofs(root, checkpoint, key, leaves, report) and checked
    checked = check_timestamp(root, args.tsa_ca, args.require_timestamp, report) and checked
    return checkpoint, checked


def main(argv):
    parser = argparse.ArgumentParser(description="Verify an evidence bundle.")
    parser.add_argument("folder", nargs="?", default=os.path.dirname(os.path.abspath(__file__)))
    parser.add_argument(
        "--key-id", action="append", default=[], help="a signing key id you trust (repeatable)"
    )
    parser.add_argument(
        "--tsa-ca", help="the time-stamp authority's CA certificate (PEM) you trust"
    )
    parser.add_argument(
        "--require-timestamp", action="store_true", help="fail when there is no RFC 3161 token"
    )
    parser.add_argument(
        "--against", metavar="OTHER_BUNDLE", help="another bundle (folder) of the same ledger"
    )
    args = parser.parse_args(argv[1:])
    root, report = args.folder, Report()
    checkpoint, checked = verify_bundle(root, args, report)
    if args.against:
        print(f"--- the other bundle: {args.against}")
        other, other_checked = verify_bundle(args.against, args, report)
        checked = checked and other_checked
        print("--- both together")
        check_against((root, checkpoint), (args.against, other), report)
    if report.failures:
        print(f"{len(report.failures)} CHECK(S) FAILED")
        return 1
    if not checked:
        print(
            "INCOMPLETE: files and proofs hold, but not everything could be checked here "
            "(see the notes above)"
        )
        return 2
    if not args.key_id:
        print("note  run with --key-id <the company's key id> to pin the signing key")
    print("ALL CHECKS PASSED")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
