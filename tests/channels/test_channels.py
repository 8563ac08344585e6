"""Each alert channel against a local HTTP receiver: the right URL, body and signature; a
failure is an outcome (retryable or not), never an exception."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend

from fieldvisit.channels import Message, Recipient, registry
from fieldvisit.channels.email import EmailChannel
from fieldvisit.channels.robots import DingTalkChannel, WeComChannel
from fieldvisit.channels.sms import HttpSmsGateway, SmsChannel, sms_text
from fieldvisit.channels.webhook import WebhookChannel, verify_signature
from tests.receiver import Receiver

MESSAGE = Message(
    subject="[Critical] Panic: Huangpu",
    text="Panic: Huangpu\nSeverity: Critical\n\nThreatened at the door",
    severity=40,
    reference="alert:6f1c:step:1",
    ack_url="http://127.0.0.1:8000/alerts/ack/abc/",
    facts={"alert": "6f1c", "kind": "panic", "lat": 31.2311, "lon": 121.4742},
)
PERSON = Recipient(name="Jun Yang (supervisor)", email="jun@corp.cn", mobile="13800138000")


# --- DingTalk ------------------------------------------------------------------------------


def test_dingtalk_signs_as_documented_and_mentions_the_person(receiver: Receiver) -> None:
    secret = "SEC0123456789abcdef"
    channel = DingTalkChannel(f"{receiver.url}/robot/send?access_token=tok123", secret)
    before = int(time.time() * 1000)
    outcome = channel.send(MESSAGE, PERSON)
    after = int(time.time() * 1000)
    assert (outcome.ok, outcome.detail) == (True, "HTTP 200, errcode 0")

    [request] = receiver.received
    path, _, query = request.path.partition("?")
    params = dict(urllib.parse.parse_qsl(query))
    assert path == "/robot/send" and params["access_token"] == "tok123"
    timestamp = int(params["timestamp"])
    assert before <= timestamp <= after  # milliseconds
    expected = base64.b64encode(
        hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    ).decode()
    assert params["sign"] == expected
    body = request.json()
    assert body["msgtype"] == "text"
    assert body["at"] == {"atMobiles": ["13800138000"], "isAtAll": False}
    assert body["text"]["content"].startswith("[Critical] Panic: Huangpu\n")
    assert "@13800138000" in body["text"]["content"]
    assert channel.target(PERSON) == f"dingtalk:{receiver.url}/robot/send?access_token=tok1…"


@pytest.mark.parametrize(
    ("errcode", "retryable"), [(310000, False), (300001, False), (130101, True)]
)
def test_dingtalk_refusals_come_as_http_200(
    receiver: Receiver, errcode: int, retryable: bool
) -> None:
    receiver.script(200, {"errcode": errcode, "errmsg": "sign not match"})
    outcome = DingTalkChannel(f"{receiver.url}/robot/send?access_token=t").send(MESSAGE, PERSON)
    assert (outcome.ok, outcome.retryable) == (False, retryable)
    assert f"errcode {errcode}" in outcome.detail


# --- WeCom ---------------------------------------------------------------------------------


def test_wecom_posts_text_mentioning_the_mobile(receiver: Receiver) -> None:
    channel = WeComChannel(f"{receiver.url}/cgi-bin/webhook/send?key=k-1")
    assert channel.send(MESSAGE, PERSON).ok
    [request] = receiver.received
    assert request.path == "/cgi-bin/webhook/send?key=k-1"
    assert request.json() == {
        "msgtype": "text",
        "text": {
            "content": f"{MESSAGE.subject}\n\n{MESSAGE.text}",
            "mentioned_mobile_list": ["13800138000"],
        },
    }
    receiver.script(200, {"errcode": 93000, "errmsg": "invalid webhook url"})
    refused = channel.send(MESSAGE, PERSON)
    assert (refused.ok, refused.retryable) == (False, False)


# --- the signed webhook ---------------------------------------------------------------------


def test_the_webhook_is_signed_over_timestamp_and_body(receiver: Receiver) -> None:
    secret = "whsec-42"
    assert WebhookChannel(f"{receiver.url}/hooks/alerts", secret).send(MESSAGE, PERSON).ok
    [request] = receiver.received
    headers = {k.lower(): v for k, v in request.headers.items()}
    timestamp = headers["x-fieldvisit-timestamp"]
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256)
    assert headers["x-fieldvisit-signature"] == "sha256=" + mac.hexdigest()
    assert headers["idempotency-key"] == "alert:6f1c:step:1"
    body = request.json()
    assert body["facts"] == {"alert": "6f1c", "kind": "panic", "lat": 31.2311, "lon": 121.4742}
    assert body["recipient"]["mobile"] == "13800138000"
    assert request.body == json.dumps(body, sort_keys=True, separators=(",", ":")).encode()

    now = int(timestamp)
    sig = headers["x-fieldvisit-signature"]
    assert verify_signature(secret, timestamp, request.body, sig, now=now)
    assert not verify_signature(secret, timestamp, request.body, sig, now=now + 301)  # replay
    assert not verify_signature(secret, timestamp, request.body + b" ", sig, now=now)
    assert not verify_signature("other", timestamp, request.body, sig, now=now)
    assert not verify_signature(secret, "soon", request.body, sig, now=now)


def test_a_server_error_is_retried_a_client_error_is_not(receiver: Receiver) -> None:
    channel = WebhookChannel(f"{receiver.url}/hooks", "s")
    receiver.script(500, b"upstream down")
    receiver.script(404, b"no such hook")
    receiver.script(429, b"slow down")
    first, second, third = (channel.send(MESSAGE, PERSON) for _ in range(3))
    assert (first.ok, first.retryable, first.detail) == (False, True, "HTTP 500: upstream down")
    assert (second.ok, second.retryable) == (False, False)
    assert (third.ok, third.retryable) == (False, True)


def test_a_receiver_slower_than_the_timeout_is_a_retryable_failure(
    receiver: Receiver, settings: Any
) -> None:
    settings.ALERT_CHANNEL_TIMEOUT_S = 0.2
    receiver.script(200, delay_s=1.0)
    started = time.monotonic()
    outcome = WebhookChannel(f"{receiver.url}/hooks", "s").send(MESSAGE, PERSON)
    assert time.monotonic() - started < 0.9
    assert (outcome.ok, outcome.retryable) == (False, True)
    assert "timed out after 0.2 s" in outcome.detail


def test_a_closed_port_is_a_retryable_failure() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    outcome = WebhookChannel(f"http://127.0.0.1:{port}/hooks", "s").send(MESSAGE, PERSON)
    assert (outcome.ok, outcome.retryable) == (False, True)
    assert outcome.detail.startswith("cannot connect")


# --- SMS and e-mail ------------------------------------------------------------------------


def test_sms_goes_to_the_gateway_with_its_token(receiver: Receiver) -> None:
    channel = SmsChannel(HttpSmsGateway(f"{receiver.url}/sms", "gw-token", "FieldVisit"))
    assert channel.send(MESSAGE, PERSON).ok
    [request] = receiver.received
    assert request.headers["Authorization"] == "Bearer gw-token"
    assert request.json() == {
        "to": "13800138000",
        "from": "FieldVisit",
        "text": "[Critical] Panic: Huangpu http://127.0.0.1:8000/alerts/ack/abc/",
        "reference": "alert:6f1c:step:1",
    }
    nobody = channel.send(MESSAGE, Recipient(name="x"))
    assert (nobody.ok, nobody.retryable, nobody.detail) == (False, False, "no mobile number")
    assert len(receiver.received) == 1
    long = Message(subject="x" * 400, text="", severity=40, reference="r", ack_url="http://a/b")
    assert len(sms_text(long)) == 300 and sms_text(long).endswith(" http://a/b")


class Refusing(BaseEmailBackend):
    def send_messages(self, messages: Any) -> int:
        raise OSError("SMTP server closed the connection")


def test_email_is_never_sent_silently(settings: Any) -> None:
    outcome = EmailChannel().send(MESSAGE, PERSON)
    assert outcome.ok
    [sent] = mail.outbox
    assert (sent.to, sent.subject) == (["jun@corp.cn"], MESSAGE.subject)
    assert sent.extra_headers["X-Fieldvisit-Reference"] == "alert:6f1c:step:1"
    settings.EMAIL_BACKEND = f"{__name__}.Refusing"
    failed = EmailChannel().send(MESSAGE, PERSON)
    assert (failed.ok, failed.retryable) == (False, True)
    assert "SMTP server closed" in failed.detail
    assert EmailChannel().send(MESSAGE, Recipient(name="x")).retryable is False


# --- the registry --------------------------------------------------------------------------


def test_the_registry_builds_what_is_configured(settings: Any) -> None:
    settings.ALERT_DINGTALK_URL = "http://robot.local/send?access_token=a"
    settings.ALERT_WEBHOOK_URL = "http://hooks.local/alerts"
    settings.ALERT_WEBHOOK_SECRET = ""
    settings.ALERT_SEVERITY_CHANNELS = {
        "critical": ["email", "dingtalk", "webhook", "sms"],
        "high": ["email"],
        "medium": ["email"],
        "low": ["email"],
    }
    assert sorted(registry.configured()) == ["dingtalk", "email", "webhook"]
    assert [c.name for c in registry.for_severity(40)] == ["email", "dingtalk", "webhook"]
    assert [c.name for c in registry.for_severity(30)] == ["email"]
    assert registry.misconfigured() == [
        "sms (for critical alerts) is not configured",
        "the webhook has no ALERT_WEBHOOK_SECRET: receivers cannot check it",
    ]


def test_the_default_severity_channels_follow_what_is_configured() -> None:
    """Read in a fresh process, as a server reads its environment at start-up."""
    code = (
        "import django, json, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings'; "
        "django.setup(); from django.conf import settings as s; "
        "print(json.dumps(s.ALERT_SEVERITY_CHANNELS))"
    )
    env = {
        "PATH": os.environ["PATH"],
        **{name: os.environ[name] for name in ("HOME", "STATE_DIR") if name in os.environ},
        "ALERT_SMS_URL": "http://sms.local/send",
        "ALERT_WECOM_URL": "http://wecom.local/send?key=k",
    }
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(out) == {
        "critical": ["email", "sms", "wecom"],
        "high": ["email", "sms", "wecom"],
        "medium": ["email", "wecom"],
        "low": ["email"],
    }
