"""A signed webhook for the company's own systems (its alarm receiving centre, a ticket
system): the alert as canonical JSON (RFC 8785), signed with HMAC-SHA256 over the timestamp
and the body, so a receiver knows it came from us and refuses a replay.

Headers: ``X-Fieldvisit-Timestamp`` (Unix seconds), ``X-Fieldvisit-Signature``
(``sha256=<hex of HMAC-SHA256(secret, "<timestamp>." + body)>``) and ``Idempotency-Key`` (the
notification's reference: the same step of the same alert is the same key on every retry).
A receiver checks with ``verify_signature``.
"""

from __future__ import annotations

import hashlib
import hmac
import time

import rfc8785

from fieldvisit.channels.base import Message, Outcome, Recipient
from fieldvisit.channels.http import masked, post, status_outcome

REPLAY_TOLERANCE_S = 300


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(
    secret: str,
    timestamp: str,
    body: bytes,
    signature_header: str,
    *,
    now: float,
    tolerance_s: int = REPLAY_TOLERANCE_S,
) -> bool:
    """What a receiver runs: the signature is ours over this body and timestamp, and the
    timestamp within ``tolerance_s`` of ``now`` (an old message sent again is refused)."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs(now - sent) > tolerance_s:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), signature_header)


def body_of(message: Message, recipient: Recipient) -> bytes:
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


class WebhookChannel:
    name = "webhook"

    def __init__(self, url: str, secret: str) -> None:
        self.url, self.secret = url, secret

    def target(self, recipient: Recipient) -> str:
        return f"webhook:{masked(self.url)}"

    def send(self, message: Message, recipient: Recipient) -> Outcome:
        body = body_of(message, recipient)
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Fieldvisit-Timestamp": timestamp,
            "X-Fieldvisit-Signature": signature(self.secret, timestamp, body),
            "Idempotency-Key": message.reference,
        }
        answer = post(self.url, body, headers)
        return answer if isinstance(answer, Outcome) else status_outcome(answer)
