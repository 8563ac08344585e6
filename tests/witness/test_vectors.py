"""Against the C2SP specs' own examples and another implementation's published output.

* signed-note (c2sp.org/signed-note@v1.0.0, "Example"): the verifier key
  ``example.com/foo+530d903a+...`` verifies the example note.
* tlog-witness (c2sp.org/tlog-witness, "add-checkpoint"): the example request body parses
  into its old size, four proof hashes and a checkpoint with two signatures.
* tlog-cosignature (c2sp.org/tlog-cosignature, "Format"): the example cosignature line
  carries the time of the example signed message, 1679315147.
* Sunlight's skylight test data (github.com/FiloSottile/sunlight, cmd/skylight/testdata,
  made by gen.go with torchwood's cosigner from the seed SHA-256("skylight test witness
  key") at time 1767139200): the same key and time give byte for byte the same verifier key
  and cosignature line here (Ed25519 signatures are deterministic), and both the witness's
  and the ledger client's checks accept that line.
"""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldvisit.ledger import witnessing
from fieldvisit.witness import note
from fieldvisit.witness.service import Refusal, parse_request

SIGNED_NOTE_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SIGNED_NOTE = (
    "This is an example message.\n"
    "\n"
    "\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mF"
    "XmRKuwHjG1Yu72IneyaQM=\n"
)

ADD_CHECKPOINT_BODY = (
    "old 20852014\n"
    "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n"
    "jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n"
    "5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n"
    "/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n"
    "\n"
    "example.com/behind-the-sofa\n"
    "20852163\n"
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    "\n"
    "\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5"
    "/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
    "\u2014 example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+"
    "49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=\n"
)

COSIGNATURE_EXAMPLE_LINE = (
    "\u2014 witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrD"
    "JsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA=="
)

SKYLIGHT_CHECKPOINT = "rome2026h1.example.org\n300\nlCkHUpkmVBEms2r2T1K6Og69+wUuuN3MIEW1/ezu2v0=\n"
SKYLIGHT_WITNESSES = [
    (
        "witness.example.org",
        b"skylight test witness key",
        "witness.example.org+b8a2cf20+BFLN3yikSfFkVAJtrnh/CiY3Zozkoy7clp+P7XB28qUN",
        SKYLIGHT_CHECKPOINT,
        "\u2014 witness.example.org uKLPIAAAAABpVGeAhm2bOvKc3LaB9PFN1ruG19Y5yqslmcAAbhftnn1Zznmo0L"
        "XFZq4LGvqKqLX8jWlwLKasxEGTLIqAVusneCBmBw==",
    ),
    (
        "witness2.example.org",
        b"skylight test witness2 key",
        "witness2.example.org+2e55b896+BIZ7fpceQWd60IfqQeS9IAnmNOCZjMDne8lZuguz/bi9",
        SKYLIGHT_CHECKPOINT.replace("rome2026h1", "milan2026h1"),
        "\u2014 witness2.example.org LlW4lgAAAABpVGeAN/uFWqfjdU94rrKxFycCggM0Sa1L5tOJCJdYBwJ41CQsgK"
        "WA6B0+vywok3cPI3JIzuPeR+VotuYe/eNy0+30Dw==",
    ),
]
SKYLIGHT_TIME = 1767139200


def test_signed_note_example_verifies() -> None:
    key = note.parse_verifier_key(SIGNED_NOTE_VKEY)
    assert (key.name, key.signature_type, str(key)) == (
        "example.com/foo",
        note.ED25519,
        SIGNED_NOTE_VKEY,
    )
    parsed = note.parse_note(SIGNED_NOTE)
    assert parsed.text == "This is an example message.\n"
    assert len(note.verify_note(parsed, [key])) == 1
    with pytest.raises(note.NoteError, match="does not verify"):
        note.verify_note(note.Note("This is an example message!\n", parsed.signatures), [key])
    with pytest.raises(note.NoteError, match="no signature by a known key"):
        other = note.VerifierKey("example.com/bar", note.ED25519, key.public)
        note.verify_note(parsed, [other])


def test_add_checkpoint_example_body_parses() -> None:
    request = parse_request(ADD_CHECKPOINT_BODY.encode())
    assert request.old_size == 20852014
    assert len(request.proof) == 4 and all(len(h) == 32 for h in request.proof)
    assert request.checkpoint.origin == "example.com/behind-the-sofa"
    assert request.checkpoint.size == 20852163
    assert request.checkpoint.text == ADD_CHECKPOINT_BODY.split("\n\n")[1] + "\n"
    assert [s.name for s in request.note.signatures] == ["example.com/behind-the-sofa"] * 2
    with pytest.raises(Refusal) as malformed:
        parse_request(ADD_CHECKPOINT_BODY.replace("old 20852014", "old 020852014").encode())
    assert malformed.value.status == 400


def test_cosignature_example_carries_its_time() -> None:
    signature = note.parse_signature_line(COSIGNATURE_EXAMPLE_LINE)
    assert signature.name == "witness.example.com/w1"
    assert note.cosignature_timestamp(signature) == 1679315147


@pytest.mark.parametrize(("name", "seed", "vkey", "checkpoint", "line"), SKYLIGHT_WITNESSES)
def test_same_bytes_as_sunlight(
    name: str, seed: bytes, vkey: str, checkpoint: str, line: str
) -> None:
    private = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(seed).digest())
    assert str(note.cosigner_key(name, private)) == vkey
    assert note.cosign(name, private, checkpoint, SKYLIGHT_TIME).line == line + "\n"
    # Both independent checks accept Sunlight's line, and refuse it on another checkpoint.
    key = note.parse_verifier_key(vkey)
    signature = note.parse_signature_line(line)
    assert key.verify(checkpoint, signature.signature)
    assert not key.verify(checkpoint.replace("300", "301"), signature.signature)
    witness_name, key_id, public = witnessing.parse_verifier_key(vkey)
    config = witnessing.WitnessConfig(witness_name, "http://unused", vkey, key_id, public)
    assert config.verify(checkpoint, line) == SKYLIGHT_TIME
    with pytest.raises(witnessing.WitnessError, match="does not verify"):
        config.verify(checkpoint.replace("300", "301"), line)


def test_verifier_keys_are_read_strictly() -> None:
    good = SKYLIGHT_WITNESSES[0][2]
    name, key_id, material = good.split("+", 2)
    bad = [
        "",
        name,
        f"{name}+{key_id}",
        f"{name}+{key_id.upper()}+{material}",
        f"{name}+00000000+{material}",
        f"other.example+{key_id}+{material}",
        f"{name}+{key_id}+{material[:-1]}",
        f"na me+{key_id}+{material}",
    ]
    for vkey in bad:
        with pytest.raises(note.NoteError):
            note.parse_verifier_key(vkey)
        with pytest.raises(ValueError):
            witnessing.parse_verifier_key(vkey)
