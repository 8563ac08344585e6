"""The ledger asks two independent witnesses, each on its own port with its own key and
state, to cosign its checkpoints (fieldvisit.ledger.witnessing); one is shown a fork."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import logging
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command

from fieldvisit.ledger import checkpoints, keys, merkle, store, witnessing
from fieldvisit.models import Checkpoint, WitnessCosignature
from fieldvisit.witness import note
from tests.ledger.helpers import append_many
from tests.witness.helpers import RunningWitness, body, post, signed_checkpoint

pytestmark = pytest.mark.django_db


def checkpoint_after(count: int) -> Checkpoint:
    append_many(count)
    checkpoint = checkpoints.make_checkpoint()
    assert checkpoint is not None
    return checkpoint


def check_cosignature_bytes(row: WitnessCosignature, witness: RunningWitness) -> None:
    """The line is ``— <name> base64(key ID || u64 time || Ed25519 signature)``; the signature
    is over ``cosignature/v1\\ntime <time>\\n`` + the checkpoint's note text, checked here with
    nothing but ``cryptography``."""
    assert row.line.startswith(f"\u2014 {witness.name} ")
    raw = base64.b64decode(row.line.split(" ")[2], validate=True)
    public = note.public_raw(witness.private)
    key_id = hashlib.sha256(witness.name.encode() + b"\n\x04" + public).digest()[:4]
    assert raw[:4] == key_id
    assert raw[:4].hex() == row.key_id
    timestamp = int.from_bytes(raw[4:12], "big")
    assert row.cosigned_at == dt.datetime.fromtimestamp(timestamp, dt.UTC)
    checkpoint = row.checkpoint
    text = (
        f"{checkpoint.origin}\n{checkpoint.tree_size}\n"
        f"{base64.b64encode(bytes(checkpoint.root_hash)).decode()}\n"
    )
    message = f"cosignature/v1\ntime {timestamp}\n{text}".encode()
    Ed25519PublicKey.from_public_bytes(public).verify(raw[12:], message)  # raises if not
    with pytest.raises(InvalidSignature):  # the header and time lines are part of it
        Ed25519PublicKey.from_public_bytes(public).verify(raw[12:], text.encode())


def test_both_witnesses_cosign_successive_checkpoints(both: list[RunningWitness]) -> None:
    first = checkpoint_after(3)
    outcomes = witnessing.witness_checkpoint(first)
    assert [(o.witness, o.error) for o in outcomes] == [(w.name, "") for w in both]
    assert [w.recorded()["size"] for w in both] == [3, 3]

    second = checkpoint_after(5)
    assert witnessing.last_cosigned_size(witnessing.witnesses()[0], second.origin) == 3
    outcomes = witnessing.witness_checkpoint(second)
    assert all(o.cosignature is not None for o in outcomes), outcomes
    for witness in both:
        recorded = witness.recorded()
        assert recorded["size"] == 8
        assert recorded["root"] == base64.b64encode(bytes(second.root_hash)).decode()

    for checkpoint in (first, second):
        rows = witnessing.cosignatures_for(checkpoint)
        assert sorted(r.witness_name for r in rows) == sorted(w.name for w in both)
        for row, witness in zip(rows, sorted(both, key=lambda w: w.name), strict=True):
            check_cosignature_bytes(row, witness)
        assert witnessing.policy_met(checkpoint)

    # The cosigned note is one signed note: the log's signature first, then the witnesses'.
    cosigned = witnessing.cosigned_note(second)
    assert cosigned.startswith(checkpoints.note_text(second))
    parsed = note.parse_note(cosigned)
    assert parsed.signatures[0].name == second.origin
    verifiers = [note.parse_verifier_key(w.vkey) for w in both]
    log_key = note.parse_verifier_key(
        keys.note_verifier_key(second.origin, bytes(second.key.public_key))
    )
    verified = note.verify_note(parsed, [log_key, *verifiers])
    assert len(verified) == 3

    # Asking again keeps what is kept: no second request, no second row.
    for witness in both:
        witness.stop()
    assert [o.error for o in witnessing.witness_checkpoint(second)] == ["", ""]
    assert WitnessCosignature.objects.count() == 4


def test_a_fork_is_refused_and_nothing_is_kept(
    both: list[RunningWitness], caplog: pytest.LogCaptureFixture
) -> None:
    notary, creditor = both
    genuine = checkpoint_after(3)
    witnessing.witness_checkpoint(genuine)
    append_many(3)
    size, real_root = store.current_root()
    assert size == 6

    # The log key signs a different tree head at size 6 (e.g. one shown to the court while
    # the witnesses were sent the genuine ledger): its root is not the real one, so the
    # consistency proof from the cosigned size 3 cannot lead to it.
    forged_root = merkle.node_hash(real_root, b"\x00" * 32)
    record, private = keys.current_signing_key()
    forged = Checkpoint.objects.create(
        tree_size=6,
        root_hash=forged_root,
        timestamp=genuine.timestamp,
        origin=genuine.origin,
        key=record,
        signed_bytes=checkpoints.signed_payload(record.key_id, forged_root, 6, genuine.timestamp),
        signature=private.sign(
            checkpoints.signed_payload(record.key_id, forged_root, 6, genuine.timestamp)
        ),
        note_signature=private.sign(checkpoints.note_body(6, forged_root, genuine.origin).encode()),
    )
    assert not checkpoints.verify_checkpoint(forged)  # the log's signatures are genuine

    config = next(w for w in witnessing.witnesses() if w.name == creditor.name)
    with pytest.raises(witnessing.WitnessError) as refused:
        witnessing.ask(forged, config)
    assert refused.value.status == 422
    assert "inconsistent" in str(refused.value)
    assert not WitnessCosignature.objects.filter(checkpoint=forged).exists()
    assert creditor.recorded()["size"] == 3  # its record is untouched
    # Asked through the job's entry point, both refuse it, and that is logged as an error.
    with caplog.at_level(logging.WARNING, logger="fieldvisit.ledger.witnessing"):
        outcomes = witnessing.witness_checkpoint(forged)
    assert [(o.cosignature, o.status) for o in outcomes] == [(None, 422), (None, 422)]
    ours = [r.levelno for r in caplog.records if r.name == "fieldvisit.ledger.witnessing"]
    assert ours == [logging.ERROR, logging.ERROR]
    assert not WitnessCosignature.objects.filter(checkpoint=forged).exists()
    assert not witnessing.policy_met(forged)
    assert witnessing.cosigned_note(forged) == checkpoints.note_text(forged)
    # The witness keeps the log-signed fork: it may prove the log misbehaved.
    [evidence, _again] = creditor.state.refusals()
    assert evidence["note"].startswith(checkpoints.note_body(6, forged_root, genuine.origin))
    assert evidence["old_size"] == 3

    # A fork built apart from the ledger from its first entry, with its own valid proof.
    fork = merkle.MemoryTree()
    for n in range(6):
        fork.append(f"forked {n}".encode())
    reply = post(
        notary.url,
        body(3, fork.consistency_proof(3), signed_checkpoint(6, fork.root())),
    )
    assert reply.status == 422
    assert notary.recorded()["size"] == 3

    # Neither witness was poisoned: the genuine next checkpoint is cosigned by both.
    append_many(1)
    genuine_next = checkpoints.make_checkpoint()
    assert [o.error for o in witnessing.witness_checkpoint(genuine_next)] == ["", ""]
    assert witnessing.policy_met(genuine_next)
    assert [w.recorded()["size"] for w in both] == [7, 7]


def test_a_witness_that_cosigned_more_than_we_kept_is_retried_from_its_size(
    both: list[RunningWitness],
) -> None:
    notary = both[0]
    first = checkpoint_after(3)
    # The witness cosigned size 3 but the answer never reached the database (a crash).
    assert post(notary.url, body(0, [], checkpoints.note_text(first))).status == 200
    second = checkpoint_after(4)
    config = witnessing.witnesses()[0]
    assert witnessing.last_cosigned_size(config, second.origin) == 0
    row = witnessing.ask(second, config)  # old 0 -> 409 "3" -> old 3 with a proof -> 200
    assert row.checkpoint == second
    assert notary.recorded()["size"] == 7
    check_cosignature_bytes(row, notary)


def test_a_witness_refusal_or_absence_leaves_the_policy_unmet(
    both: list[RunningWitness], settings: Any
) -> None:
    notary, creditor = both
    creditor.stop()
    checkpoint = checkpoint_after(2)
    outcomes = witnessing.witness_checkpoint(checkpoint)
    assert outcomes[0].cosignature is not None
    assert outcomes[1].cosignature is None and "cannot be reached" in outcomes[1].error
    status = witnessing.policy_status(checkpoint)
    assert (status.cosigned_by, status.required, status.met) == ([notary.name], 2, False)
    settings.LEDGER_WITNESS_POLICY = 1
    assert witnessing.policy_met(checkpoint)


def test_bundles_cite_the_first_checkpoint_the_witnesses_cosigned(
    both: list[RunningWitness], settings: Any
) -> None:
    """A checkpoint signed while a witness was down does not meet the policy: the evidence it
    covers is cited under the next checkpoint that both witnesses cosigned."""
    notary, creditor = both
    creditor.stop()
    alone = checkpoint_after(2)
    witnessing.witness_checkpoint(alone)
    creditor.start()  # on a new port
    settings.LEDGER_WITNESSES = [notary.config, creditor.config]
    later = checkpoint_after(1)
    witnessing.witness_checkpoint(later)
    assert not witnessing.policy_met(alone) and witnessing.policy_met(later)
    assert checkpoints.first_checkpoint_covering(1) == later
    settings.LEDGER_WITNESS_POLICY = 1  # one witness is enough: the earlier one serves again
    assert checkpoints.first_checkpoint_covering(1) == alone
    settings.LEDGER_WITNESS_POLICY = 0
    assert checkpoints.first_checkpoint_covering(1) == alone


def test_a_cosignature_by_another_key_is_not_kept(
    both: list[RunningWitness], settings: Any
) -> None:
    """The configured key is what counts: a witness answering with a different key (same
    name) gives nothing to keep."""
    notary = both[0]
    impostor = note.cosigner_key(notary.name, Ed25519PrivateKey.generate())
    settings.LEDGER_WITNESSES = [{"name": notary.name, "url": notary.url, "key": str(impostor)}]
    checkpoint = checkpoint_after(2)
    [outcome] = witnessing.witness_checkpoint(checkpoint)
    assert "no cosignature by its configured key" in outcome.error
    assert not WitnessCosignature.objects.exists()


def test_the_configuration_is_checked(settings: Any, notary: RunningWitness) -> None:
    settings.LEDGER_WITNESSES = [{"name": "other", "url": notary.url, "key": notary.vkey}]
    with pytest.raises(ImproperlyConfigured, match="not its key's name"):
        witnessing.witnesses()
    settings.LEDGER_WITNESSES = [{"url": notary.url, "key": notary.vkey[:-2] + "AA"}]
    with pytest.raises(ImproperlyConfigured):
        witnessing.witnesses()
    # A log key (type 0x01) is not a cosigner key (type 0x04).
    log_key = keys.note_verifier_key("notary.example/witness", note.public_raw(notary.private))
    settings.LEDGER_WITNESSES = [{"url": notary.url, "key": log_key}]
    with pytest.raises(ImproperlyConfigured, match="type 0x04"):
        witnessing.witnesses()
    settings.LEDGER_WITNESSES = [notary.config]
    settings.LEDGER_WITNESS_POLICY = 2
    with pytest.raises(ImproperlyConfigured, match="LEDGER_WITNESS_POLICY"):
        witnessing.required()


def test_witness_checkpoint_command(both: list[RunningWitness], settings: Any) -> None:
    append_many(4)
    out = io.StringIO()
    call_command("witness_checkpoint", "--print-note", stdout=out)
    text = out.getvalue()
    assert "Checkpoint @ 4" in text
    assert "2 of 2 witnesses cosigned; the policy needs 2: met." in text
    for witness in both:
        assert f"\u2014 {witness.name} " in text
    both[1].stop()
    append_many(1)
    with pytest.raises(
        CommandError, match="1 of 2 witnesses cosigned; the policy needs 2: NOT met"
    ):
        call_command("witness_checkpoint", stdout=io.StringIO())
    settings.LEDGER_WITNESSES = []
    with pytest.raises(CommandError, match="No witnesses configured"):
        call_command("witness_checkpoint", stdout=io.StringIO())
