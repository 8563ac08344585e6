"""Signed checkpoints (tree heads): what a proof leads to and a court checks a signature on.

Two forms of the same tree head are signed: the canonical JSON of
``{key_id, root_hash, tree_size, timestamp}`` (the API's and the bundles' form, checkable
with ``openssl pkeyutl -verify``), and the C2SP tlog-checkpoint signed note, which standard
transparency-log tooling and witnesses read.
"""

from __future__ import annotations

import base64
import datetime as dt
import json

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Value
from django.utils import timezone

from fieldvisit.canonical import canonical_json, iso
from fieldvisit.ledger import keys, store
from fieldvisit.models import Checkpoint, CheckpointTimestamp, WitnessCosignature


def signed_payload(key_id: str, root_hash: bytes, tree_size: int, timestamp: dt.datetime) -> bytes:
    return canonical_json(
        {
            "key_id": key_id,
            "root_hash": root_hash.hex(),
            "tree_size": tree_size,
            "timestamp": iso(timestamp),
        }
    )


def note_body(tree_size: int, root_hash: bytes, origin: str) -> str:
    """The C2SP tlog-checkpoint body: origin, size, base64 root, each on its own line."""
    return f"{origin}\n{tree_size}\n{base64.b64encode(root_hash).decode()}\n"


def note_text(checkpoint: Checkpoint) -> str:
    """The full signed note: body, blank line, one signature line. The origin is the one the
    checkpoint was signed under (stored with it), so renaming the log later breaks nothing."""
    origin = checkpoint.origin
    raw = bytes(checkpoint.key.public_key)
    signature = base64.b64encode(
        keys.note_key_hash(origin, raw) + bytes(checkpoint.note_signature)
    ).decode()
    body = note_body(checkpoint.tree_size, bytes(checkpoint.root_hash), origin)
    return f"{body}\n\u2014 {origin} {signature}\n"


def make_checkpoint(now: dt.datetime | None = None) -> Checkpoint | None:
    """Sign the current tree head, unless the current key already signed this size.

    Under the ledger head's lock: a key rotation (an append) is either wholly before, and
    the new key signs, or wholly after, and its validity starts after this checkpoint's
    time; a checkpoint is never signed by a key already retired at its own time."""
    with transaction.atomic():
        size, root = store.locked_root()
        if size == 0:
            return None
        record, private = keys.current_signing_key()
        existing = Checkpoint.objects.filter(tree_size=size, key=record).first()
        if existing:
            return existing
        timestamp = now or timezone.now()
        signed = signed_payload(record.key_id, root, size, timestamp)
        origin = settings.LEDGER_ORIGIN
        checkpoint = Checkpoint(
            tree_size=size,
            root_hash=root,
            timestamp=timestamp,
            origin=origin,
            key=record,
            signed_bytes=signed,
            signature=private.sign(signed),
            note_signature=private.sign(note_body(size, root, origin).encode()),
        )
        try:
            with transaction.atomic():
                checkpoint.save()
        except IntegrityError:
            # Another worker signed the same size at the same moment: theirs is as good.
            return Checkpoint.objects.get(tree_size=size, key=record)
    return checkpoint


def latest_checkpoint() -> Checkpoint | None:
    """The newest checkpoint, signing a fresh one first when the tree has grown since."""
    latest = Checkpoint.objects.select_related("key").order_by("-tree_size", "-id").first()
    if latest is None or latest.tree_size < store.tree_size():
        latest = make_checkpoint() or latest
    return latest


def first_checkpoint_covering(size: int) -> Checkpoint | None:
    """The earliest checkpoint that covers an entry count, preferring one the configured
    witnesses cosigned (k of the policy), then one the time-stamp authority stamped: bundles
    cite it, so the same evidence leads to the same checkpoint (a checkpoint the witnesses
    or the authority never saw, say while they were down, gives way to a later one they
    did). The cosignatures were verified before they were kept (``witnessing``)."""
    granted = CheckpointTimestamp.objects.filter(checkpoint=OuterRef("pk"), gen_time__isnull=False)
    wanted = settings.LEDGER_WITNESS_POLICY
    witnessed: Exists | Value = Value(True)
    if wanted:
        witnessed = Exists(
            WitnessCosignature.objects.filter(
                checkpoint=OuterRef("pk"),
                verifier_key__in=[w["key"].strip() for w in settings.LEDGER_WITNESSES],
            )
            .order_by()
            .values("checkpoint")
            .annotate(n=Count("verifier_key", distinct=True))
            .filter(n__gte=wanted)
        )
    return (
        Checkpoint.objects.select_related("key")
        .filter(tree_size__gte=size)
        .annotate(witnessed=witnessed, stamped=Exists(granted))
        .order_by("-witnessed", "-stamped", "tree_size", "id")
        .first()
    )


def verify_checkpoint(checkpoint: Checkpoint) -> list[str]:
    """Problems with a stored checkpoint's signatures and fields (empty when sound)."""
    problems = []
    public = Ed25519PublicKey.from_public_bytes(bytes(checkpoint.key.public_key))
    signed = bytes(checkpoint.signed_bytes)
    try:
        public.verify(bytes(checkpoint.signature), signed)
    except InvalidSignature:
        problems.append("JSON signature does not verify")
    try:
        public.verify(
            bytes(checkpoint.note_signature),
            note_body(
                checkpoint.tree_size, bytes(checkpoint.root_hash), checkpoint.origin
            ).encode(),
        )
    except InvalidSignature:
        problems.append("signed-note signature does not verify")
    fields = json.loads(signed)
    if (
        fields.get("tree_size") != checkpoint.tree_size
        or fields.get("root_hash") != bytes(checkpoint.root_hash).hex()
        or fields.get("key_id") != checkpoint.key_id
        or fields.get("timestamp") != iso(checkpoint.timestamp)
    ):
        problems.append("signed fields differ from the stored columns")
    return problems
