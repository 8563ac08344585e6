"""The ledger's Ed25519 signing key: a private file outside the repository, and its
published public half (``SigningKey`` rows) so that every checkpoint stays verifiable."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.utils import timezone

from fieldvisit.models import SigningKey

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


def rotate() -> SigningKey:
    """Retire the current key file (kept beside it) and start signing with a new key."""
    path = Path(settings.LEDGER_SIGNING_KEY_FILE)
    if path.exists():
        old_id = key_id_for(public_raw(private_key()))
        path.rename(path.with_name(f"{path.name}.{old_id}.retired"))
    _cache.clear()
    write_new_key(path)
    record, _ = current_signing_key()
    return record


# C2SP signed-note keys (https://c2sp.org/signed-note): Ed25519 is signature type 0x01.
NOTE_ED25519 = b"\x01"


def note_key_hash(name: str, raw: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + NOTE_ED25519 + raw).digest()[:4]


def note_verifier_key(name: str, raw: bytes) -> str:
    """The verifier key string that signed-note tooling takes (``name+hash+base64``)."""
    key_hash = note_key_hash(name, raw).hex()
    return f"{name}+{key_hash}+{base64.b64encode(NOTE_ED25519 + raw).decode()}"
