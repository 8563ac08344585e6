"""The tlog-witness protocol (https://c2sp.org/tlog-witness), apart from HTTP.

``Witness.add_checkpoint`` takes the request body of ``POST <prefix>/add-checkpoint`` and
returns the status, content type and body to answer with:

* 400 Bad Request: a body that is not ``old <size>\\n``, at most 63 base64 hash lines, a
  blank line and a signed checkpoint note; or an old size above the checkpoint's size;
* 404 Not Found: a checkpoint whose origin is no log the witness is configured with;
* 403 Forbidden: no signature by a configured key of that log, or one that does not verify;
* 409 Conflict: the old size is not the size of the latest checkpoint cosigned for that log
  (zero for none); the body is that size and a newline, as ``text/x.tlog.size``;
* 422 Unprocessable Entity: the consistency proof does not prove the new tree extends the
  one last cosigned (a fork, or a rolled-back history), a proof sent from size zero, equal
  sizes with different roots, or a size-zero checkpoint whose root is not the empty tree's;
* 200: the new checkpoint is recorded (durably, before answering) and the body is the
  witness's cosignature line.

Checking the old size and recording the new checkpoint happen under one lock, so two
requests can never roll the recorded size back (the race the spec describes).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldvisit.ledger import merkle
from fieldvisit.witness import note
from fieldvisit.witness.state import StateFile

logger = logging.getLogger(__name__)

MAX_PROOF_LINES = 63
SIZE_TYPE = "text/x.tlog.size"
TEXT = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    content_type: str = TEXT

    @classmethod
    def text(cls, status: int, message: str) -> Reply:
        return cls(status, (message + "\n").encode())


class Refusal(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Request:
    old_size: int
    proof: list[bytes]
    note: note.Note
    checkpoint: note.Checkpoint


def parse_request(body: bytes) -> Request:
    """The add-checkpoint body, strictly; raises Refusal(400) when malformed."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refusal(400, "the body is not UTF-8") from None
    head, sep, signed = text.partition("\n\n")
    if not sep:
        raise Refusal(400, "no blank line between the consistency proof and the checkpoint")
    lines = head.split("\n")
    if not lines[0].startswith("old "):
        raise Refusal(400, "the first line must be 'old <size>'")
    try:
        old_size = note.decimal(lines[0][4:], "old size")
        if len(lines) - 1 > MAX_PROOF_LINES:
            raise Refusal(400, f"more than {MAX_PROOF_LINES} consistency proof lines")
        proof = [note.b64decode(line) for line in lines[1:]]
        if any(len(h) != merkle.HASH_SIZE for h in proof):
            raise Refusal(400, "a consistency proof line is not a 32-byte hash")
        signed_note = note.parse_note(signed)
        checkpoint = note.parse_checkpoint(signed_note.text)
    except note.NoteError as exc:
        raise Refusal(400, str(exc)) from None
    return Request(old_size=old_size, proof=proof, note=signed_note, checkpoint=checkpoint)


class Witness:
    """One witness: a name, a key, the logs it follows and the state it keeps.

    ``log_keys`` are the logs' verifier keys; a log's origin is its key's name (the ledger
    signs its notes under its origin). Several keys of one origin are all trusted (a key
    rotation). ``clock`` gives the cosignatures' POSIX time.
    """

    def __init__(
        self,
        name: str,
        private: Ed25519PrivateKey,
        log_keys: Iterable[note.VerifierKey],
        state: StateFile,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = note.check_name(name)
        self.private = private
        self.verifier_key = note.cosigner_key(name, private)
        self.state = state
        self.clock = clock
        self.logs: dict[str, list[note.VerifierKey]] = {}
        for key in log_keys:
            if key.signature_type != note.ED25519:
                raise ValueError(f"log key {key} is not an Ed25519 (type 0x01) key")
            self.logs.setdefault(key.name, []).append(key)
        self._lock = threading.Lock()

    def add_checkpoint(self, body: bytes) -> Reply:
        try:
            request = parse_request(body)
            return self._add(request)
        except Refusal as refusal:
            return Reply.text(refusal.status, refusal.message)

    def _add(self, request: Request) -> Reply:
        checkpoint = request.checkpoint
        trusted = self.logs.get(checkpoint.origin)
        if not trusted:
            raise Refusal(404, "unknown log origin")
        try:
            verified = note.verify_note(request.note, trusted)
        except note.NoteError as exc:
            raise Refusal(403, f"the checkpoint is not signed by the log: {exc}") from None
        if request.old_size > checkpoint.size:
            raise Refusal(400, "the old size is larger than the checkpoint's size")
        with self._lock:
            latest = self.state.log(checkpoint.origin)
            latest_size = latest["size"] if latest else 0
            if request.old_size != latest_size:
                return Reply(409, f"{latest_size}\n".encode(), SIZE_TYPE)
            try:
                self._check_consistency(request, latest)
            except Refusal as refusal:
                self._keep_evidence(request, verified, refusal.message)
                raise
            timestamp = int(self.clock())
            cosignature = note.cosign(self.name, self.private, checkpoint.text, timestamp)
            kept = "".join(signature.line for _key, signature in verified)
            self.state.record_log(
                checkpoint.origin,
                {
                    "size": checkpoint.size,
                    "root": note.b64encode(checkpoint.root),
                    "note": f"{checkpoint.text}\n{kept}{cosignature.line}",
                    "cosigned_at": timestamp,
                },
            )
        logger.info("cosigned %s at size %d", checkpoint.origin, checkpoint.size)
        return Reply(200, cosignature.line.encode())

    def _check_consistency(self, request: Request, latest: dict[str, Any] | None) -> None:
        checkpoint = request.checkpoint
        if checkpoint.size == 0 and checkpoint.root != merkle.EMPTY_ROOT:
            raise Refusal(422, "a checkpoint of size zero must have the empty tree's root")
        if request.old_size == 0:
            if request.proof:
                raise Refusal(422, "a consistency proof from size zero must be empty")
            return
        assert latest is not None  # old size == the recorded size, which is not zero
        try:
            merkle.verify_consistency(
                request.old_size,
                checkpoint.size,
                request.proof,
                note.b64decode(latest["root"]),
                checkpoint.root,
            )
        except merkle.ProofError as exc:
            raise Refusal(
                422, f"the checkpoint is not consistent with size {request.old_size}: {exc}"
            ) from None

    def _keep_evidence(
        self,
        request: Request,
        verified: list[tuple[note.VerifierKey, note.Signature]],
        reason: str,
    ) -> None:
        """A log-signed checkpoint that fails the consistency checks may prove a fork."""
        kept = "".join(signature.line for _key, signature in verified)
        try:
            self.state.record_refusal(
                {
                    "at": int(self.clock()),
                    "origin": request.checkpoint.origin,
                    "old_size": request.old_size,
                    "proof": [note.b64encode(h) for h in request.proof],
                    "note": f"{request.checkpoint.text}\n{kept}",
                    "reason": reason,
                }
            )
        except OSError:
            logger.exception(
                "could not keep the refused checkpoint of %s", request.checkpoint.origin
            )
        logger.warning(
            "refused %s at size %d: %s", request.checkpoint.origin, request.checkpoint.size, reason
        )

    def latest_checkpoint(self, origin_hash: str) -> Reply:
        """``GET <prefix>/<hex SHA-256 of the origin>/checkpoint``: the latest cosigned
        checkpoint with the log's verified signature(s) and the witness's cosignature."""
        with self._lock:
            for origin, record in self.state.data["logs"].items():
                if hashlib.sha256(origin.encode()).hexdigest() == origin_hash:
                    return Reply(200, record["note"].encode())
        return Reply.text(404, "no checkpoint cosigned for that log")
