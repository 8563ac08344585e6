"""Signed checkpoints: Ed25519 over canonical JSON, the C2SP signed note, key rotation."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from fieldvisit.ledger import keys
from fieldvisit.ledger.checkpoints import (
    first_checkpoint_covering,
    latest_checkpoint,
    make_checkpoint,
    note_text,
)
from tests.ledger.helpers import append_many
from tests.ledger.reference import ref_mth

pytestmark = pytest.mark.django_db


def test_no_checkpoint_for_an_empty_ledger() -> None:
    assert make_checkpoint() is None


def test_checkpoint_signs_canonical_json_of_the_tree_head() -> None:
    entries = append_many(7)
    checkpoint = make_checkpoint()
    assert checkpoint is not None
    signed = bytes(checkpoint.signed_bytes)
    fields = json.loads(signed)
    assert list(fields) == ["key_id", "root_hash", "timestamp", "tree_size"]  # RFC 8785 order
    assert fields["tree_size"] == 7
    assert fields["root_hash"] == ref_mth(entries).hex()
    public = Ed25519PublicKey.from_public_bytes(bytes(checkpoint.key.public_key))
    public.verify(bytes(checkpoint.signature), signed)  # raises if forged


def test_same_size_is_signed_once() -> None:
    append_many(3)
    first = make_checkpoint()
    assert make_checkpoint() == first
    append_many(1)
    assert latest_checkpoint().tree_size == 4


def test_first_checkpoint_covering_is_stable() -> None:
    append_many(3)
    early = make_checkpoint()
    append_many(3)
    make_checkpoint()
    assert first_checkpoint_covering(2) == early
    assert first_checkpoint_covering(5).tree_size == 6
    assert first_checkpoint_covering(7) is None


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_openssl_verifies_the_signature(tmp_path: Path) -> None:
    append_many(2)
    checkpoint = make_checkpoint()
    (tmp_path / "checkpoint.json").write_bytes(bytes(checkpoint.signed_bytes))
    (tmp_path / "checkpoint.sig").write_bytes(bytes(checkpoint.signature))
    (tmp_path / "public_key.pem").write_text(keys.public_pem(bytes(checkpoint.key.public_key)))
    command = [
        "openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "public_key.pem",
        "-rawin", "-in", "checkpoint.json", "-sigfile", "checkpoint.sig",
    ]  # fmt: skip
    ok = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr + ok.stdout
    assert "Signature Verified Successfully" in ok.stdout
    (tmp_path / "checkpoint.json").write_bytes(bytes(checkpoint.signed_bytes).replace(b"2", b"3"))
    bad = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert bad.returncode != 0


def test_signed_note_follows_c2sp(settings) -> None:  # type: ignore[no-untyped-def]
    entries = append_many(5)
    checkpoint = make_checkpoint()
    text = note_text(checkpoint)
    body, signatures = text.split("\n\n", 1)
    origin, size, root = body.split("\n")
    assert origin == settings.LEDGER_ORIGIN
    assert int(size) == 5
    assert base64.b64decode(root) == ref_mth(entries)
    dash, name, blob = signatures.rstrip("\n").split(" ")
    assert dash == "\u2014" and name == settings.LEDGER_ORIGIN
    raw_key = bytes(checkpoint.key.public_key)
    decoded = base64.b64decode(blob)
    expected_hash = hashlib.sha256(name.encode() + b"\n\x01" + raw_key).digest()[:4]
    assert decoded[:4] == expected_hash
    Ed25519PublicKey.from_public_bytes(raw_key).verify(decoded[4:], (body + "\n").encode())
    vkey = keys.note_verifier_key(name, raw_key)
    assert vkey.split("+")[1] == expected_hash.hex()


def test_private_key_file_is_created_owner_only(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.LEDGER_SIGNING_KEY_FILE = tmp_path / "keys" / "ledger.pem"
    record, _ = keys.current_signing_key()
    path = Path(settings.LEDGER_SIGNING_KEY_FILE)
    assert path.stat().st_mode & 0o777 == 0o600
    assert keys.current_signing_key()[0] == record  # stable across calls


def test_rotation_keeps_old_checkpoints_verifiable(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.LEDGER_SIGNING_KEY_FILE = tmp_path / "ledger.pem"
    append_many(2)
    old = make_checkpoint()
    new_key = keys.rotate()
    assert new_key.key_id != old.key_id
    append_many(1)
    new = make_checkpoint()
    assert new.key_id == new_key.key_id
    assert list(tmp_path.glob("ledger.pem.*.retired"))
    for checkpoint in (old, new):
        pem = keys.public_pem(bytes(checkpoint.key.public_key))
        load_pem_public_key(pem.encode()).verify(
            bytes(checkpoint.signature), bytes(checkpoint.signed_bytes)
        )
