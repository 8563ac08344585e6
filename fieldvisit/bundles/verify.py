#!/usr/bin/env python3
"""Verify this evidence bundle. Python 3 standard library only; the Ed25519 signature is
checked with the "cryptography" package when it is installed.

    python3 verify.py [--key-id ID ...] [bundle folder]   (default: this file's folder)

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
     the key id in checkpoint.json is that key's.
With --key-id, the keys must be ones you trust (the company publishes its key ids at
/api/v1/ledger/keys/); otherwise anyone could re-sign a forged bundle with a key of their own.
Exit status 0 when everything holds; 1, naming each failure; 2 when the signatures could
not be checked here (the Python package "cryptography" is missing).
"""

import argparse
import base64
import hashlib
import json
import os
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


def check_entries(root, checkpoint, report):
    entries = {}
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


def main(argv):
    parser = argparse.ArgumentParser(description="Verify an evidence bundle.")
    parser.add_argument("folder", nargs="?", default=os.path.dirname(os.path.abspath(__file__)))
    parser.add_argument(
        "--key-id", action="append", default=[], help="a signing key id you trust (repeatable)"
    )
    args = parser.parse_args(argv[1:])
    root, report = args.folder, Report()
    listed = check_files(root, report)
    signed, checkpoint = load_checkpoint(root, report)
    entries = check_entries(root, checkpoint, report)
    check_manifest(root, listed, entries, report)
    checked = check_signatures(root, signed, checkpoint, set(args.key_id), report)
    if report.failures:
        print(f"{len(report.failures)} CHECK(S) FAILED")
        return 1
    if not checked:
        print("INCOMPLETE: files and proofs hold, but the signatures were not checked (see above)")
        return 2
    if not args.key_id:
        print("note  run with --key-id <the company's key id> to pin the signing key")
    print("ALL CHECKS PASSED")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
