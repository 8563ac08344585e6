"""Witnessed checkpoints: the client side of C2SP tlog-witness (https://c2sp.org/tlog-witness).

Each witness in ``settings.LEDGER_WITNESSES`` (``{"name", "url", "key"}``: its key name, its
submission prefix and its cosignature/v1 verifier key) is sent each checkpoint with a
consistency proof from the size it last cosigned (``POST <url>/add-checkpoint``). What it
returns is checked against its key before it is kept (``WitnessCosignature``): a cosignature
line proves that someone outside the company saw this tree head and found it consistent with
every earlier one it saw. ``settings.LEDGER_WITNESS_POLICY`` is how many of them must have
cosigned a checkpoint (k of n; 0: none required).

The cosignature checks here are written apart from ``fieldvisit.witness`` on purpose: the
client must not trust the witness's own code to say its signature is good.

For callers: ``witness_checkpoint(checkpoint)`` asks every witness, ``cosignatures_for``
lists what is kept, ``cosigned_note`` is the checkpoint's signed note with the cosignatures
after the log's own signature, ``policy_met`` says whether k of n cosigned.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import logging
import re
import urllib.error
import urllib.request
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from fieldvisit.ledger import checkpoints, store
from fieldvisit.models import Checkpoint, WitnessCosignature

logger = logging.getLogger(__name__)

COSIGNATURE_V1 = 0x04
"""The signature type of timestamped Ed25519 cosignatures (c2sp.org/tlog-cosignature)."""

EM_DASH = "\u2014"
SIZE_TYPE = "text/x.tlog.size"
MAX_REPLY = 64 * 1024
FUTURE_SKEW_S = 600
"""A cosignature dated further ahead than this is refused (the spec allows refusing any)."""

DEFAULT_TIMEOUT_S = 10.0

_SIZE_REPLY = re.compile(r"(0|[1-9][0-9]{0,18})\n\Z")


class WitnessError(Exception):
    """A witness did not give a cosignature that verifies. ``status`` is its HTTP status
    (None when it could not be reached or its answer was unreadable)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class WitnessConfig:
    name: str
    url: str
    verifier_key: str
    key_id: bytes
    public: bytes
    timeout: float = DEFAULT_TIMEOUT_S

    def verify(self, body: str, line: str) -> int:
        """The time of ``line`` if it is this witness's valid cosignature of the checkpoint
        note text ``body``; raises WitnessError otherwise."""
        name, key_id, signature = parse_line(line)
        if (name, key_id) != (self.name, self.key_id):
            raise WitnessError(f"the line is not signed by witness {self.name}")
        if len(signature) != 8 + 64:
            raise WitnessError(f"{self.name}'s cosignature is not a cosignature/v1")
        timestamp = int.from_bytes(signature[:8], "big")
        if not 0 < timestamp < 2**63:
            raise WitnessError(f"{self.name}'s cosignature has no valid time")
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(
                signature[8:], cosigned_message(body, timestamp)
            )
        except InvalidSignature:
            raise WitnessError(f"{self.name}'s cosignature does not verify") from None
        return timestamp


def cosigned_message(body: str, timestamp: int) -> bytes:
    """cosignature/v1: ``cosignature/v1\\n``, ``time <POSIX seconds>\\n``, then the
    checkpoint's note text (with its final newline, no signature lines)."""
    return f"cosignature/v1\ntime {timestamp}\n{body}".encode()


def _b64(text: str) -> bytes:
    """Strict standard base64: only its one canonical spelling."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise ValueError("not base64") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise ValueError("not canonical base64")
    return raw


def parse_line(line: str) -> tuple[str, bytes, bytes]:
    """``— <name> base64(key ID || signature)`` → (name, key ID, signature)."""
    prefix = EM_DASH + " "
    name, sep, blob = line.removeprefix(prefix).partition(" ")
    try:
        if not line.startswith(prefix) or not sep or not name:
            raise ValueError("not a signature line")
        raw = _b64(blob)
    except ValueError as exc:
        raise WitnessError(f"unreadable signature line: {exc}") from None
    if len(raw) < 5:
        raise WitnessError("unreadable signature line: too short")
    return name, raw[:4], raw[4:]


def parse_verifier_key(vkey: str) -> tuple[str, bytes, bytes]:
    """A cosigner's vkey ``name+hex(key ID)+base64(0x04 || Ed25519 key)`` → (name, key ID,
    public key); the key ID must be SHA-256(name || 0x0A || 0x04 || key)[:4]."""
    parts = vkey.strip().split("+", 2)
    if len(parts) != 3 or not parts[0] or any(ch.isspace() for ch in parts[0]):
        raise ValueError("a verifier key is name+keyid+base64(type||key)")
    name, hex_id, material = parts
    raw = _b64(material)
    if len(raw) != 33 or raw[0] != COSIGNATURE_V1:
        raise ValueError("a witness key must be an Ed25519 cosignature/v1 key (type 0x04)")
    key_id = hashlib.sha256(name.encode() + b"\n" + raw[:1] + raw[1:]).digest()[:4]
    if key_id.hex() != hex_id:
        raise ValueError("the key ID does not match the key's name and public key")
    return name, key_id, raw[1:]


def witnesses() -> list[WitnessConfig]:
    """The configured witnesses; ImproperlyConfigured when one is malformed."""
    configured = []
    for item in settings.LEDGER_WITNESSES:
        try:
            vkey = item["key"]
            name, key_id, public = parse_verifier_key(vkey)
            url = item["url"]
        except (KeyError, TypeError, ValueError) as exc:
            raise ImproperlyConfigured(f"LEDGER_WITNESSES: {item!r}: {exc}") from None
        if item.get("name", name) != name:
            raise ImproperlyConfigured(
                f"LEDGER_WITNESSES: the name {item['name']!r} is not its key's name {name!r}"
            )
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ImproperlyConfigured(f"LEDGER_WITNESSES: {name}: the url must be http(s)")
        configured.append(
            WitnessConfig(
                name=name,
                url=url.rstrip("/"),
                verifier_key=vkey.strip(),
                key_id=key_id,
                public=public,
                timeout=float(item.get("timeout", DEFAULT_TIMEOUT_S)),
            )
        )
    if len({w.verifier_key for w in configured}) != len(configured):
        raise ImproperlyConfigured("LEDGER_WITNESSES names a witness key twice")
    return configured


def required() -> int:
    """k of the k-of-n policy."""
    k = settings.LEDGER_WITNESS_POLICY
    n = len(settings.LEDGER_WITNESSES)
    if not isinstance(k, int) or not 0 <= k <= n:
        raise ImproperlyConfigured(
            f"LEDGER_WITNESS_POLICY must be between 0 and the {n} configured witnesses"
        )
    return k


# --------------------------------------------------------------------------------------------
# Asking
# --------------------------------------------------------------------------------------------


def request_body(old_size: int, proof: list[bytes], note: str) -> bytes:
    """The add-checkpoint body: ``old <size>``, one base64 hash a line, a blank line, the
    signed checkpoint note."""
    lines = [f"old {old_size}\n"] + [base64.b64encode(h).decode() + "\n" for h in proof]
    return ("".join(lines) + "\n" + note).encode()


def last_cosigned_size(witness: WitnessConfig, origin: str) -> int:
    """The largest checkpoint of this log the witness cosigned, as far as we kept (0: none)."""
    size = WitnessCosignature.objects.filter(
        verifier_key=witness.verifier_key, checkpoint__origin=origin
    ).aggregate(size=Max("checkpoint__tree_size"))["size"]
    return size or 0


def _proof(old_size: int, size: int) -> list[bytes]:
    if old_size in (0, size):
        return []
    return store.consistency_proof(old_size, size).path


def _post(witness: WitnessConfig, body: bytes) -> tuple[int, str, bytes]:
    request = urllib.request.Request(  # noqa: S310 - http(s) only, checked in witnesses()
        witness.url + "/add-checkpoint",
        data=body,
        method="POST",
        headers={"Content-Type": "text/plain; charset=utf-8"},
    )
    try:
        with urllib.request.urlopen(request, timeout=witness.timeout) as reply:  # noqa: S310
            return reply.status, reply.headers.get("Content-Type", ""), reply.read(MAX_REPLY)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers.get("Content-Type", ""), error.read(MAX_REPLY)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise WitnessError(f"{witness.name} cannot be reached: {exc}") from None


REFUSALS = {
    400: "refused the request as malformed",
    403: "does not accept the log's signature (is the log key configured there?)",
    404: "does not know this log's origin",
    422: "refused the checkpoint as inconsistent with what it cosigned before (a fork?)",
}


def ask(checkpoint: Checkpoint, witness: WitnessConfig) -> WitnessCosignature:
    """The witness's cosignature of ``checkpoint``: kept already, or asked for, verified and
    kept now. A 409 (the witness last cosigned another size than we know of) is retried
    once from the size it names. Raises WitnessError."""
    kept = WitnessCosignature.objects.filter(
        checkpoint=checkpoint, verifier_key=witness.verifier_key
    ).first()
    if kept:
        return kept
    size = checkpoint.tree_size
    old_size = last_cosigned_size(witness, checkpoint.origin)
    note = checkpoints.note_text(checkpoint)
    for attempt in (1, 2):
        if old_size > size:
            raise WitnessError(
                f"{witness.name} already cosigned size {old_size}, beyond this checkpoint's {size}"
            )
        status, content_type, reply = _post(
            witness, request_body(old_size, _proof(old_size, size), note)
        )
        if status == 409 and attempt == 1:
            old_size = _conflict_size(witness, content_type, reply)
            continue
        if status != 200:
            reason = REFUSALS.get(status, "answered unexpectedly")
            raise WitnessError(f"{witness.name} {reason} (HTTP {status})", status)
        return _keep(checkpoint, witness, reply)
    raise WitnessError(f"{witness.name} answered 409 twice", 409)


def _conflict_size(witness: WitnessConfig, content_type: str, reply: bytes) -> int:
    """The size a 409 names: its body is the decimal size and a newline, text/x.tlog.size."""
    match = _SIZE_REPLY.match(reply.decode("ascii", "replace"))
    if content_type.split(";")[0].strip() != SIZE_TYPE or not match:
        raise WitnessError(f"{witness.name} answered 409 without a tree size", 409)
    return int(match.group(1))


def _keep(checkpoint: Checkpoint, witness: WitnessConfig, reply: bytes) -> WitnessCosignature:
    """Find the witness's own line among the returned ones (lines of unknown keys are
    ignored), verify it against the checkpoint and keep it."""
    try:
        text = reply.decode("utf-8")
    except UnicodeDecodeError:
        raise WitnessError(f"{witness.name} answered with bytes that are not UTF-8") from None
    if not text.endswith("\n"):
        raise WitnessError(f"{witness.name} answered without newline-terminated lines")
    body = checkpoints.note_body(
        checkpoint.tree_size, bytes(checkpoint.root_hash), checkpoint.origin
    )
    ours = []
    for line in text[:-1].split("\n"):
        name, key_id, _signature = parse_line(line)
        if (name, key_id) == (witness.name, witness.key_id):
            ours.append((witness.verify(body, line), line))
    if not ours:
        raise WitnessError(f"{witness.name} returned no cosignature by its configured key")
    timestamp, line = ours[0]
    if timestamp > timezone.now().timestamp() + FUTURE_SKEW_S:
        raise WitnessError(f"{witness.name}'s cosignature is dated in the future")
    row = WitnessCosignature(
        checkpoint=checkpoint,
        witness_name=witness.name,
        verifier_key=witness.verifier_key,
        key_id=witness.key_id.hex(),
        line=line,
        cosigned_at=dt.datetime.fromtimestamp(timestamp, dt.UTC),
        created_at=timezone.now(),
    )
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        # Another worker kept this witness's cosignature of this checkpoint first.
        return WitnessCosignature.objects.get(
            checkpoint=checkpoint, verifier_key=witness.verifier_key
        )
    return row


@dataclass(frozen=True)
class Outcome:
    witness: str
    cosignature: WitnessCosignature | None = None
    error: str = ""
    status: int | None = None


def witness_checkpoint(checkpoint: Checkpoint) -> list[Outcome]:
    """Ask every configured witness to cosign ``checkpoint``; one witness's failure does not
    stop the others."""
    outcomes = []
    for witness in witnesses():
        try:
            outcomes.append(Outcome(witness.name, cosignature=ask(checkpoint, witness)))
        except WitnessError as exc:
            # A 422 means the witness holds a history ours does not extend: a split view
            # (someone was shown another ledger under our key) or our own rollback.
            level = logging.ERROR if exc.status == 422 else logging.WARNING
            logger.log(level, "witness %s: %s", witness.name, exc)
            outcomes.append(Outcome(witness.name, error=str(exc), status=exc.status))
    return outcomes


# --------------------------------------------------------------------------------------------
# Reading what was kept
# --------------------------------------------------------------------------------------------


def cosignatures_for(checkpoint: Checkpoint) -> list[WitnessCosignature]:
    """The cosignatures kept for a checkpoint, by witness name."""
    return list(
        WitnessCosignature.objects.filter(checkpoint=checkpoint).order_by("witness_name", "id")
    )


def cosigned_note(checkpoint: Checkpoint) -> str:
    """The checkpoint's signed note with the witnesses' cosignature lines after the log's
    own signature: one note that signed-note tooling verifies with the log's key and each
    witness's key."""
    lines = "".join(c.line + "\n" for c in cosignatures_for(checkpoint))
    return checkpoints.note_text(checkpoint) + lines


@dataclass(frozen=True)
class PolicyStatus:
    required: int
    configured: int
    cosigned_by: list[str]

    @property
    def met(self) -> bool:
        return len(self.cosigned_by) >= self.required


def policy_status(checkpoint: Checkpoint) -> PolicyStatus:
    """Which configured witnesses have a kept cosignature of ``checkpoint`` that verifies
    against their configured key now (each counts once), against the k of the policy."""
    configured = witnesses()
    body = checkpoints.note_body(
        checkpoint.tree_size, bytes(checkpoint.root_hash), checkpoint.origin
    )
    kept = {c.verifier_key: c for c in cosignatures_for(checkpoint)}
    cosigned = []
    for witness in configured:
        row = kept.get(witness.verifier_key)
        if row is None:
            continue
        try:
            witness.verify(body, row.line)
        except WitnessError:
            continue
        cosigned.append(witness.name)
    return PolicyStatus(required=required(), configured=len(configured), cosigned_by=cosigned)


def policy_met(checkpoint: Checkpoint) -> bool:
    """Whether at least k of the n configured witnesses cosigned the checkpoint."""
    return policy_status(checkpoint).met
