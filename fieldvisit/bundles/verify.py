#!/usr/bin/env python3
"""Verify this evidence bundle. Python 3 standard library only; the Ed25519 signature is
checked with the "cryptography" package when it is installed.

    python3 verify.py [bundle folder]      (default: the folder this file is in)

Checks, each independent of the server that made the bundle:
  1. every file listed in SHA256SUMS has that SHA-256, and no file is unlisted;
  2. every evidence file in manifest.json is listed, and its ledger entry names its SHA-256;
  3. every ledger entry in ledger/entries.jsonl hashes to its leaf (RFC 6962: SHA-256 of
     0x00 + the entry's exact bytes), and its inclusion proof (RFC 9162, section 2.1.3.2)
     leads to the root hash in checkpoint.json;
  4. checkpoint.sig is a valid Ed25519 signature of checkpoint.json by public_key.pem, and
     the key id in checkpoint.json is that key's.
Exit status 0 when everything holds; 1, naming each failure, otherwise.
"""

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
            if name not in listed and name != "SHA256SUMS" and "__pycache__" not in name:
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
    if not bad:
        report.ok(f"{len(items)} evidence files are each recorded by a proven ledger entry")


def check_signature(root, signed, checkpoint, report):
    if signed is None:
        return
    try:
        with open(os.path.join(root, "checkpoint.sig"), "rb") as f:
            signature = f.read()
        with open(os.path.join(root, "public_key.pem"), "rb") as f:
            pem = f.read()
        body = [x for x in pem.decode("ascii").splitlines() if x and not x.startswith("-----")]
        der = base64.b64decode("".join(body))
    except (OSError, ValueError) as error:
        report.fail(f"signature or public key unreadable: {error}")
        return
    if not der.startswith(ED25519_SPKI_PREFIX) or len(der) != 44:
        report.fail("public_key.pem is not an Ed25519 public key")
        return
    raw = der[len(ED25519_SPKI_PREFIX) :]
    if hashlib.sha256(raw).hexdigest()[:16] != checkpoint.get("key_id"):
        report.fail(f"checkpoint.json names key {checkpoint.get('key_id')}, not this public key")
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    except ImportError:
        report.note(
            "signature NOT checked here: the Python package 'cryptography' is not installed. "
            "Check it with: openssl pkeyutl -verify -pubin -inkey public_key.pem -rawin "
            "-in checkpoint.json -sigfile checkpoint.sig"
        )
        return
    try:
        Ed25519PublicKey.from_public_bytes(raw).verify(signature, signed)
    except (InvalidSignature, ValueError):
        report.fail("checkpoint.sig is not a valid signature of checkpoint.json by public_key.pem")
        return
    report.ok("checkpoint signature verified (key {})".format(checkpoint.get("key_id")))


def main(argv):
    root = argv[1] if len(argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    report = Report()
    listed = check_files(root, report)
    signed, checkpoint = load_checkpoint(root, report)
    entries = check_entries(root, checkpoint, report)
    check_manifest(root, listed, entries, report)
    check_signature(root, signed, checkpoint, report)
    if report.failures:
        print(f"{len(report.failures)} CHECK(S) FAILED")
        return 1
    print("ALL CHECKS PASSED" + (" (see the note about the signature)" if report.notes else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
