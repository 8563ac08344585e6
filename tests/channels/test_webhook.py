"""The company's signed webhook: canonical JSON, HMAC over timestamp and body, replay
window, idempotency key; any 2xx is delivered."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest

from fieldvisit.channels import Message, Recipient
from fieldvisit.channels.webhook import WebhookChannel, verify_signature
from tests.receiver import Receiver

SECRET = "whsec-42"


def test_signed_over_timestamp_and_body(
    receiver: Receiver, message: Message, person: Recipient
) -> None:
    before = int(time.time())
    outcome = WebhookChannel(f"{receiver.url}/hooks/alerts", SECRET).send(message, person)
    assert (outcome.ok, outcome.detail) == (True, "HTTP 200")
    [request] = receiver.requests
    assert (request.method, request.path) == ("POST", "/hooks/alerts")
    assert request.header("Content-Type") == "application/json"
    assert request.header("Idempotency-Key") == "alert:6f1c:step:1"
    timestamp = request.header("X-Fieldvisit-Timestamp")
    assert timestamp is not None and before <= int(timestamp) <= time.time()
    mac = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256)
    assert request.header("X-Fieldvisit-Signature") == "sha256=" + mac.hexdigest()

    assert request.json() == {
        "reference": "alert:6f1c:step:1",
        "subject": "[Critical] Panic: Huangpu",
        "text": "Panic: Huangpu\nSeverity: Critical\n\nThreatened at the door",
        "severity": 40,
        "ack_url": "http://127.0.0.1:8000/alerts/ack/abc/",
        "recipient": {"name": "杨军 (supervisor)", "email": "jun@corp.cn", "mobile": "13800138000"},
        "facts": {
            "alert": "6f1c",
            "kind": "panic",
            "team": "黄浦",
            "lat": 31.2311,
            "lon": 121.4742,
        },
    }
    # Canonical (RFC 8785): sorted keys, no spaces, UTF-8 as is.
    canonical = json.dumps(
        request.json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    assert request.body == canonical.encode()


def test_a_retry_keeps_its_idempotency_key(
    receiver: Receiver, message: Message, person: Recipient
) -> None:
    channel = WebhookChannel(f"{receiver.url}/hooks", SECRET)
    receiver.script(503, b"down")
    assert not channel.send(message, person).ok
    assert channel.send(message, person).ok
    keys = [r.header("Idempotency-Key") for r in receiver.requests]
    assert keys == ["alert:6f1c:step:1", "alert:6f1c:step:1"]


def _signed(body: bytes, timestamp: int) -> str:
    return (
        "sha256="
        + hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    )


def test_verify_signature_refuses_replays_tampering_and_other_secrets() -> None:
    body, sent = b'{"reference":"r"}', 1_760_000_000
    signature = _signed(body, sent)
    ts = str(sent)
    assert verify_signature(SECRET, ts, body, signature, now=sent)
    assert verify_signature(SECRET, ts, body, signature, now=sent + 300)
    assert not verify_signature(SECRET, ts, body, signature, now=sent + 301)  # a replay
    assert not verify_signature(SECRET, ts, body, signature, now=sent - 301)  # dated ahead
    assert verify_signature(SECRET, ts, body, signature, now=sent + 900, tolerance_s=1000)
    assert not verify_signature(SECRET, ts, body + b" ", signature, now=sent)  # tampered
    assert not verify_signature("whsec-43", ts, body, signature, now=sent)  # other secret
    assert not verify_signature(SECRET, str(sent + 1), body, signature, now=sent)
    assert not verify_signature(SECRET, "soon", body, signature, now=sent)
    assert not verify_signature(SECRET, ts, body, signature.removeprefix("sha256="), now=sent)
    assert not verify_signature(SECRET, ts, body, "sha256=é", now=sent)


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(500, True), (503, True), (408, True), (429, True), (404, False), (401, False)],
)
def test_statuses(
    receiver: Receiver, message: Message, person: Recipient, status: int, retryable: bool
) -> None:
    receiver.script(status, b"said the receiver")
    outcome = WebhookChannel(f"{receiver.url}/hooks", SECRET).send(message, person)
    assert outcome == type(outcome)(
        ok=False, detail=f"HTTP {status}: said the receiver", retryable=retryable
    )


def test_any_2xx_is_delivered(receiver: Receiver, message: Message, person: Recipient) -> None:
    receiver.script(202, b"")
    outcome = WebhookChannel(f"{receiver.url}/hooks", SECRET).send(message, person)
    assert (outcome.ok, outcome.detail) == (True, "HTTP 202")


def test_facts_that_are_not_json_fail_without_sending(
    receiver: Receiver, message: Message, person: Recipient
) -> None:
    odd = Message(**{**message.__dict__, "facts": {"at": object()}})
    outcome = WebhookChannel(f"{receiver.url}/hooks", SECRET).send(odd, person)
    assert (outcome.ok, outcome.retryable) == (False, False)
    assert outcome.detail.startswith("cannot encode the message")
    assert receiver.requests == []
