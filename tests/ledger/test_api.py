"""The ledger endpoints, checked the way an outside verifier would: independently."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from fieldvisit.bundles.contents import verify_script
from fieldvisit.canonical import canonical_json
from fieldvisit.ledger import merkle
from fieldvisit.models import LedgerEntry, SigningKey
from tests.ledger.helpers import append_many
from tests.ledger.reference import ref_mth, ref_proof, ref_verify_inclusion

pytestmark = pytest.mark.django_db

# Entries' bytes are for those who audit the ledger; hashes, keys and the verifier are
# public: whoever checks a bundle must be able to take them from us, not from the bundle.
ENTRIES = [
    ("/api/v1/ledger/proof/", {"entry": 0}),
    ("/api/v1/ledger/entries/0/", {}),
]
PUBLIC = [
    ("/api/v1/ledger/checkpoint/", {}),
    ("/api/v1/ledger/checkpoint.txt", {}),
    ("/api/v1/ledger/consistency/", {"first": 1, "second": 2}),
    ("/api/v1/ledger/public-key/", {}),
    ("/api/v1/ledger/keys/", {}),
    ("/api/v1/ledger/verify.py", {}),
]


@pytest.mark.parametrize(("url", "params"), ENTRIES)
@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        ("legal", 200),
        ("auditor", 200),
        ("supervisor", 200),
        ("agent_a", 403),
        ("planner", 403),
        ("outsider", 403),
    ],
)
def test_who_may_read_the_ledger(world, url, params, actor, expected) -> None:  # type: ignore[no-untyped-def]
    response = world.client(getattr(world, actor)).get(url, params)
    assert response.status_code == expected, response.content
    if expected == 403:
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == "permission_denied"


@pytest.mark.parametrize(("url", "params"), ENTRIES)
def test_anonymous_is_refused(anon, world, url, params) -> None:  # type: ignore[no-untyped-def]
    response = anon.get(url, params)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(("url", "params"), PUBLIC)
def test_hashes_keys_and_the_verifier_need_no_account(anon, world, url, params) -> None:  # type: ignore[no-untyped-def]
    response = anon.get(url, params)
    assert response.status_code == 200, response.content
    assert world.client(world.agent_a).get(url, params).status_code == 200


def test_the_published_verifier_is_the_one_bundles_carry_with_its_sha256(anon, world) -> None:  # type: ignore[no-untyped-def]
    response = anon.get("/api/v1/ledger/verify.py")
    script = b"".join(response.streaming_content) if response.streaming else response.content
    assert script == verify_script()
    assert response["X-Content-SHA256"] == hashlib.sha256(script).hexdigest()
    # The README publishes the same SHA-256 (a change to verify.py must update it).
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert hashlib.sha256(script).hexdigest() in readme


def test_keys_carry_their_full_fingerprint(anon, world) -> None:  # type: ignore[no-untyped-def]
    (key,) = anon.get("/api/v1/ledger/keys/").json()
    raw = bytes(SigningKey.objects.get(pk=key["key_id"]).public_key)
    assert key["fingerprint"] == hashlib.sha256(raw).hexdigest()
    assert key["fingerprint"].startswith(key["key_id"])


def _all_entries() -> list[bytes]:
    return [
        bytes(b)
        for b in LedgerEntry.objects.order_by("index").values_list("entry_bytes", flat=True)
    ]


def test_checkpoint_is_signed_over_its_canonical_fields(world) -> None:  # type: ignore[no-untyped-def]
    api = world.client(world.legal)
    body = api.get("/api/v1/ledger/checkpoint/").json()
    entries = _all_entries()
    assert body["tree_size"] == len(entries)
    assert body["root_hash"] == ref_mth(entries).hex()
    signed = canonical_json({k: body[k] for k in ("key_id", "root_hash", "tree_size", "timestamp")})
    assert base64.b64decode(body["signed_b64"]) == signed
    pem = api.get("/api/v1/ledger/public-key/", {"key_id": body["key_id"]}).content
    load_pem_public_key(pem).verify(base64.b64decode(body["signature"]), signed)


def test_checkpoint_at_an_earlier_size(world) -> None:  # type: ignore[no-untyped-def]
    api = world.client(world.legal)
    first = api.get("/api/v1/ledger/checkpoint/").json()
    append_many(3)
    latest = api.get("/api/v1/ledger/checkpoint/").json()
    assert latest["tree_size"] == first["tree_size"] + 3
    again = api.get("/api/v1/ledger/checkpoint/", {"tree_size": first["tree_size"]}).json()
    assert again == first
    missing = api.get("/api/v1/ledger/checkpoint/", {"tree_size": first["tree_size"] + 1})
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"


def test_every_inclusion_proof_verifies_independently(world) -> None:  # type: ignore[no-untyped-def]
    append_many(9)
    api = world.client(world.auditor)
    entries = _all_entries()
    size = len(entries)
    for index in range(size):
        body = api.get("/api/v1/ledger/proof/", {"entry": index, "tree_size": size}).json()
        raw = base64.b64decode(body["entry_b64"])
        assert raw == entries[index]
        leaf = bytes.fromhex(body["leaf_hash"])
        assert leaf == merkle.leaf_hash(raw)
        path = [bytes.fromhex(h) for h in body["path"]]
        assert ref_verify_inclusion(index, size, leaf, path, ref_mth(entries))
        assert body["root_hash"] == ref_mth(entries).hex()


def test_proof_defaults_to_the_latest_checkpoint(world) -> None:  # type: ignore[no-untyped-def]
    api = world.client(world.legal)
    body = api.get("/api/v1/ledger/proof/", {"entry": 0}).json()
    checkpoint = api.get("/api/v1/ledger/checkpoint/").json()
    assert body["tree_size"] == checkpoint["tree_size"]
    assert body["root_hash"] == checkpoint["root_hash"]


def test_consistency_proofs_verify_independently(world) -> None:  # type: ignore[no-untyped-def]
    append_many(12)
    api = world.client(world.legal)
    entries = _all_entries()
    n = len(entries)
    for first in (1, 3, 8, n - 1, n):
        body = api.get("/api/v1/ledger/consistency/", {"first": first, "second": n}).json()
        assert body["first_root"] == ref_mth(entries[:first]).hex()
        assert body["second_root"] == ref_mth(entries).hex()
        path = [bytes.fromhex(h) for h in body["path"]]
        assert path == (ref_proof(first, entries) if first < n else [])
        merkle.verify_consistency(
            first, n, path, bytes.fromhex(body["first_root"]), bytes.fromhex(body["second_root"])
        )


def test_entry_by_index(world) -> None:  # type: ignore[no-untyped-def]
    body = world.client(world.legal).get("/api/v1/ledger/entries/1/").json()
    raw = base64.b64decode(body["entry_b64"])
    assert body["entry"] == json.loads(raw)
    assert body["entry"]["kind"] == "route.approved"
    assert body["leaf_hash"] == merkle.leaf_hash(raw).hex()
    missing = world.client(world.legal).get("/api/v1/ledger/entries/999999/")
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("url", "params", "status", "code"),
    [
        ("/api/v1/ledger/proof/", {}, 422, "validation_error"),
        ("/api/v1/ledger/proof/", {"entry": "x"}, 422, "validation_error"),
        ("/api/v1/ledger/proof/", {"entry": -1}, 422, "validation_error"),
        ("/api/v1/ledger/proof/", {"entry": 10**30}, 422, "validation_error"),
        ("/api/v1/ledger/proof/", {"entry": 0, "tree_size": 0}, 422, "validation_error"),
        ("/api/v1/ledger/proof/", {"entry": 500, "tree_size": 2}, 422, "ledger_range"),
        ("/api/v1/ledger/proof/", {"entry": 0, "tree_size": 10**6}, 422, "ledger_range"),
        ("/api/v1/ledger/consistency/", {"first": 3, "second": 2}, 422, "validation_error"),
        ("/api/v1/ledger/consistency/", {"first": 0, "second": 2}, 422, "validation_error"),
        ("/api/v1/ledger/consistency/", {"first": "a", "second": 2}, 422, "validation_error"),
        ("/api/v1/ledger/consistency/", {"first": 1, "second": 10**6}, 422, "ledger_range"),
        ("/api/v1/ledger/checkpoint/", {"tree_size": "-3"}, 422, "validation_error"),
        ("/api/v1/ledger/public-key/", {"key_id": "nothex"}, 422, "validation_error"),
        ("/api/v1/ledger/public-key/", {"key_id": "0" * 16}, 404, "not_found"),
        ("/api/v1/ledger/entries/-1/", {}, 404, "not_found"),
        ("/api/v1/ledger/entries/abc/", {}, 404, "not_found"),
        ("/api/v1/ledger/entries/99999999999999999999999/", {}, 404, "not_found"),
    ],
)
def test_bad_parameters_are_problems(world, url, params, status, code) -> None:  # type: ignore[no-untyped-def]
    response = world.client(world.legal).get(url, params)
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == code


def test_signed_note_and_key_list(world, settings) -> None:  # type: ignore[no-untyped-def]
    api = world.client(world.legal)
    note = api.get("/api/v1/ledger/checkpoint.txt")
    assert note["Content-Type"].startswith("text/plain")
    origin, size, root, blank, signature, end = note.content.decode().split("\n")
    assert (origin, blank, end) == (settings.LEDGER_ORIGIN, "", "")
    checkpoint = api.get("/api/v1/ledger/checkpoint/").json()
    assert int(size) == checkpoint["tree_size"]
    assert base64.b64decode(root).hex() == checkpoint["root_hash"]
    assert signature.startswith("\u2014 " + settings.LEDGER_ORIGIN + " ")
    keys = api.get("/api/v1/ledger/keys/").json()
    assert [k["key_id"] for k in keys] == [checkpoint["key_id"]]
    assert keys[0]["valid_until"] is None
    assert keys[0]["note_verifier_key"].startswith(settings.LEDGER_ORIGIN + "+")
