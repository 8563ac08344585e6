"""The ledger's Ed25519 signing key: a private file outside the repository, and its
published public half (``SigningKey`` rows) so that every checkpoint stays verifiable."""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
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
    """Generate a key and write it as PKCS#8 PEM, readable by the owner only, synced to
    disk before it is used."""
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
        handle.flush()
        os.fsync(handle.fileno())
    _sync_folder(path.parent)
    return key


def _load(path: Path) -> Ed25519PrivateKey:
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return loaded


def private_key() -> Ed25519PrivateKey:
    """The current private key, created on first use when the file is missing, and only
    then: once a key has been published, a missing file is an error to repair (restore the
    file), never a reason to start an unrelated key that nothing hands over to."""
    path = Path(settings.LEDGER_SIGNING_KEY_FILE)
    if not path.exists():
        if SigningKey.objects.exists():
            raise ImproperlyConfigured(
                f"The ledger signing key {path} is missing, but ledger keys were published: "
                "restore the current key file (a new key is started only by "
                "rotate_ledger_key, which the old key signs)."
            )
        try:
            return write_new_key(path)
        except FileExistsError:
            pass  # another process created it first: read theirs
    cache_key = (str(path), path.stat().st_mtime_ns, path.stat().st_ino)
    if cache_key not in _cache:
        loaded = _load(path)
        _cache.clear()
        _cache[cache_key] = loaded
    return _cache[cache_key]


def current_signing_key() -> tuple[SigningKey, Ed25519PrivateKey]:
    """The private key and its published record, publishing it on first use. A key that a
    later one took over from is never used: a rotation committed but not yet swapped in on
    disk (the process died between the two) is finished here, and a key file older than
    the newest published key is refused."""
    key = private_key()
    raw = public_raw(key)
    key_id = key_id_for(raw)
    newest = SigningKey.objects.order_by("-valid_from", "-key_id").first()
    if newest is not None and newest.key_id != key_id:
        with _rotation_lock():
            _finish_staged(Path(settings.LEDGER_SIGNING_KEY_FILE))
        _cache.clear()
        key = private_key()
        raw = public_raw(key)
        key_id = key_id_for(raw)
        if key_id != newest.key_id:
            raise ImproperlyConfigured(
                f"The ledger key file holds key {key_id}, but key {newest.key_id} took over "
                f"from it at {iso(newest.valid_from)}: restore the current key file."
            )
        return newest, key
    record = newest
    if record is None:
        SigningKey.objects.bulk_create(
            [SigningKey(key_id=key_id, public_key=raw, valid_from=timezone.now())],
            ignore_conflicts=True,
        )
        record = SigningKey.objects.get(pk=key_id)
    return record, key


_held = threading.local()


@contextmanager
def _rotation_lock() -> Iterator[None]:
    """One rotation at a time across processes: an exclusive lock on a file beside the key
    (re-entrant within a thread: a rotation reads the current key under it)."""
    if getattr(_held, "depth", 0):
        _held.depth += 1
        try:
            yield
        finally:
            _held.depth -= 1
        return
    path = Path(settings.LEDGER_SIGNING_KEY_FILE)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(path.with_name(f"{path.name}.lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        _held.depth = 1
        try:
            yield
        finally:
            _held.depth = 0
            fcntl.flock(handle, fcntl.LOCK_UN)


def _staged(path: Path) -> Path:
    return path.with_name(f"{path.name}.new")


def _finish_staged(path: Path) -> None:
    """A staged key left by a rotation that stopped: swapped in when its rotation committed
    (its key is published), removed when it did not (nothing was signed with it)."""
    staged = _staged(path)
    if not staged.exists():
        return
    new_id = key_id_for(public_raw(_load(staged)))
    if not SigningKey.objects.filter(pk=new_id).exists():
        staged.unlink()
        return
    if path.exists():
        old_id = key_id_for(public_raw(_load(path)))
        if old_id != new_id:
            path.rename(path.with_name(f"{path.name}.{old_id}.retired"))
    staged.rename(path)
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    """The renames survive a power loss."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
    trust the new one without asking us; the old key file is kept beside the new one.

    Safe against a crash and against a second rotation: one rotation at a time (a file
    lock); the new key is written and synced before the hand-over commits, and swapped in
    after; a rotation that stopped in between is finished by the next use of the key
    (``current_signing_key``), never lost."""
    path = Path(settings.LEDGER_SIGNING_KEY_FILE)
    with _rotation_lock():
        _finish_staged(path)
        old_record, old = current_signing_key()
        staged = _staged(path)
        new = write_new_key(staged)
        new_raw = public_raw(new)
        with transaction.atomic():
            # The head's lock first: a checkpoint being signed by the old key is signed
            # before the hand-over's time (``checkpoints.make_checkpoint``).
            store.locked_root()
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
            # The new key signs the same hand-over: a verifier who pinned the new key may
            # then trust the old one for what it signed before it was retired (and nobody
            # else's key).
            data["new_signature"] = new.sign(statement).hex()
            record = SigningKey.objects.create(
                key_id=data["new_key_id"], public_key=new_raw, valid_from=now
            )
            store.append(
                ROTATED, {"type": "system", "name": "rotate_ledger_key"}, "ledger:keys", data
            )
        _finish_staged(path)
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


def rotation_problems(found: Iterable[tuple[int, dict[str, Any]]] | None = None) -> list[str]:
    """Hand-overs whose signature by the old key does not hold (for ``verify_ledger``):
    those ``found`` (index, data), every one in the ledger if not given."""
    problems = []
    for index, data in rotations() if found is None else found:
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
