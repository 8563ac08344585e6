"""The ledger's Ed25519 signing key: a private file outside the repository, and its
published public half (``SigningKey`` rows) so that every checkpoint stays verifiable."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from fieldvisit.canonical import canonical_json, iso
from fieldvisit.ledger import store
from fieldvisit.models import LedgerEntry, SigningKey

_cache: dict[tuple[str, float], Ed25519PrivateKey] = {}


def key_id_for(public_raw: bytes) -> str:
    """16 hex digits of SHA-256 over the raw public key: stable, and short enough to read."""
    return hashlib.sha256(public_raw).hexdigest()[:16]


def public_raw(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_pem(raw: bytes) -> str:
    key = Ed25519PublicKey.from_public_bytes(raw)
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def write_new_key(path: Path) -> Ed25519PrivateKey:
    """Generate a key and write it as PKCS#8 PEM, readable by the owner only."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return key


def private_key() -> Ed25519PrivateKey:
    """The current private key, created on first use when the file is missing."""
    path = Path(settings.LEDGER_SIGNING_KEY_FILE)
    if not path.exists():
        try:
            return write_new_key(path)
        except FileExistsError:
            pass  # another process created it first: read theirs
    cache_key = (str(path), path.stat().st_mtime)
    if cache_key not in _cache:
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(loaded, Ed25519PrivateKey):
            raise ValueError(f"{path} does not hold an Ed25519 private key")
        _cache.clear()
        _cache[cache_key] = loaded
    return _cache[cache_key]


def current_signing_key() -> tuple[SigningKey, Ed25519PrivateKey]:
    """The private key and its published record, publishing it on first use."""
    key = private_key()
    raw = public_raw(key)
    key_id = key_id_for(raw)
    record = SigningKey.objects.filter(pk=key_id).first()
    if record is None:
        SigningKey.objects.bulk_create(
            [SigningKey(key_id=key_id, public_key=raw, valid_from=timezone.now())],
            ignore_conflicts=True,
        )
        record = SigningKey.objects.get(pk=key_id)
    return record, key


ROTATION = "fieldvisit.ledger.key-rotation/v1"
ROTATED = "ledger.key_rotated"
STATEMENT_FIELDS = ("type", "old_key", "new_key", "at")


def fingerprint(raw: bytes) -> str:
    """The full SHA-256 of the raw public key: what a verifier pins (the key id is its
    first 16 digits, too short to pin)."""
    return hashlib.sha256(raw).hexdigest()


def rotation_statement(data: dict[str, Any]) -> bytes:
    """The bytes the old key signs when it hands over to the new one: canonical JSON of
    ``{type, old_key, new_key, at}`` (keys as hex of their raw 32 bytes)."""
    return canonical_json({name: data[name] for name in STATEMENT_FIELDS})


def rotate() -> SigningKey:
    """Start signing with a new key. The old key signs the hand-over (a ``ledger.key_rotated``
    entry, in one transaction with the new key's record), so whoever trusts the old key can
    trust the new one without asking us; the old key file is kept beside the new one."""
    path = Path(settings.LEDGER_SIGNING_KEY_FILE)
    old_record, old = current_signing_key()
    staged = path.with_name(f"{path.name}.new")
    staged.unlink(missing_ok=True)  # a rotation that died before its commit
    new = write_new_key(staged)
    new_raw = public_raw(new)
    now = timezone.now()
    data: dict[str, Any] = {
        "type": ROTATION,
        "old_key": bytes(old_record.public_key).hex(),
        "new_key": new_raw.hex(),
        "at": iso(now),
        "old_key_id": old_record.key_id,
        "new_key_id": key_id_for(new_raw),
    }
    statement = rotation_statement(data)
    data["signature"] = old.sign(statement).hex()
    # The new key signs the same hand-over: a verifier who pinned the new key may then trust
    # the old one for what it signed before it was retired (and nobody else's key).
    data["new_signature"] = new.sign(statement).hex()
    with transaction.atomic():
        record = SigningKey.objects.create(
            key_id=data["new_key_id"], public_key=new_raw, valid_from=now
        )
        store.append(ROTATED, {"type": "system", "name": "rotate_ledger_key"}, "ledger:keys", data)
    path.rename(path.with_name(f"{path.name}.{old_record.key_id}.retired"))
    staged.rename(path)
    _cache.clear()
    return record


def with_validity() -> list[tuple[SigningKey, Any]]:
    """Every published key, oldest first, with the end of its validity: the next key's
    ``valid_from`` (None for the current key)."""
    records = list(SigningKey.objects.order_by("valid_from"))
    following = [record.valid_from for record in records[1:]]
    return list(zip(records, [*following, None][: len(records)], strict=True))


def rotations() -> list[tuple[int, dict[str, Any]]]:
    """Every key hand-over in the ledger, oldest first: (entry index, its data)."""
    return [
        (index, json.loads(bytes(raw))["data"])
        for index, raw in LedgerEntry.objects.filter(kind=ROTATED)
        .order_by("index")
        .values_list("index", "entry_bytes")
    ]


def rotation_problems() -> list[str]:
    """Hand-overs whose signature by the old key does not hold (for ``verify_ledger``)."""
    problems = []
    for index, data in rotations():
        try:
            old = Ed25519PublicKey.from_public_bytes(bytes.fromhex(data["old_key"]))
            old.verify(bytes.fromhex(data["signature"]), rotation_statement(data))
        except (KeyError, ValueError, InvalidSignature):
            problems.append(f"entry {index}: the key rotation is not signed by the old key")
    return problems


# C2SP signed-note keys (https://c2sp.org/signed-note): Ed25519 is signature type 0x01.
NOTE_ED25519 = b"\x01"


def note_key_hash(name: str, raw: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + NOTE_ED25519 + raw).digest()[:4]


def note_verifier_key(name: str, raw: bytes) -> str:
    """The verifier key string that signed-note tooling takes (``name+hash+base64``)."""
    key_hash = note_key_hash(name, raw).hex()
    return f"{name}+{key_hash}+{base64.b64encode(NOTE_ED25519 + raw).decode()}"
