"""A signed webhook for the company's own systems (its alarm receiving centre, a ticket
system): the alert as canonical JSON (RFC 8785), signed with HMAC-SHA256 over the timestamp
and the body, so a receiver knows it came from us and refuses a replay.

Headers: ``X-Fieldvisit-Timestamp`` (Unix seconds), ``X-Fieldvisit-Signature``
(``sha256=<hex of HMAC-SHA256(secret, "<timestamp>." + body)>``) and ``Idempotency-Key`` (the
notification's reference: the same step of the same alert has the same key on every retry,
so a receiver that got the first try and lost our connection drops the second). A receiver
checks with ``verify_signature``. Any 2xx is delivered.
"""

from __future__ import annotations

import hashlib
import hmac
import time

import rfc8785

from fieldvisit.channels.base import (
    Message,
    Outcome,
    Recipient,
    failure,
    masked,
    post,
    status_outcome,
    timeout_s,
)

REPLAY_TOLERANCE_S = 300


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Fieldvisit-Signature`` header's value."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    now: float,
    tolerance_s: int = REPLAY_TOLERANCE_S,
) -> bool:
    """What a receiver runs: ``signature`` is ours over this body and timestamp (compared in
    constant time), and the timestamp within ``tolerance_s`` of ``now`` either way (an old
    message sent again, or one dated ahead, is refused)."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs(now - sent) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body).encode(), signature.encode())


def body_of(message: Message, recipient: Recipient) -> bytes:
    """The canonical JSON (RFC 8785) bytes the signature covers."""
    return rfc8785.dumps(
        {
            "reference": message.reference,
            "subject": message.subject,
            "text": message.text,
            "severity": message.severity,
            "ack_url": message.ack_url,
            "recipient": {
                "name": recipient.name,
                "email": recipient.email,
                "mobile": recipient.mobile,
            },
            "facts": dict(message.facts),
        }
    )


def headers_for(secret: str, timestamp: str, body: bytes, reference: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Fieldvisit-Timestamp": timestamp,
        "X-Fieldvisit-Signature": sign(secret, timestamp, body),
        "Idempotency-Key": reference,
    }


class WebhookChannel:
    name = "webhook"

    def __init__(self, url: str, secret: str) -> None:
        self.url, self.secret = url, secret

    def target(self, recipient: Recipient) -> str:
        return f"webhook:{masked(self.url)}"

    def send(self, message: Message, recipient: Recipient) -> Outcome:
        try:
            try:
                body = body_of(message, recipient)
            except Exception as exc:  # facts that are not JSON: the same on every retry
                detail = f"cannot encode the message: {type(exc).__name__}: {exc}"
                return Outcome(ok=False, detail=detail[:300], retryable=False)
            timestamp = str(int(time.time()))
            headers = headers_for(self.secret, timestamp, body, message.reference)
            answer = post(self.url, body, headers)
            return answer if isinstance(answer, Outcome) else status_outcome(answer)
        except Exception as exc:  # never raises
            return failure(exc, timeout_s())
