"""DingTalk custom robots: signed as DingTalk documents, the person @-mentioned, and
success only with errcode 0 (DingTalk refuses with HTTP 200)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import urllib.parse

import pytest

from fieldvisit.channels import Message, Recipient
from fieldvisit.channels.dingtalk import DingTalkChannel, sign
from tests.receiver import Receiver

SECRET = "SEC0123456789abcdef+/="


def test_the_signature_matches_a_published_vector() -> None:
    # The dingding crate's known answer for timestamp 1700000000000 and secret "secret".
    assert sign("secret", 1700000000000) == "OuzzJR5%2BxZ4%2FEYwqtNt6sMYZQMTa%2FHEGvc9miJe7XzY%3D"


def test_a_signed_message_mentions_the_person(
    receiver: Receiver, message: Message, person: Recipient
) -> None:
    channel = DingTalkChannel(f"{receiver.url}/robot/send?access_token=tok123", SECRET)
    before = int(time.time() * 1000)
    outcome = channel.send(message, person)
    after = int(time.time() * 1000)
    assert outcome == type(outcome)(ok=True, detail="HTTP 200, errcode 0", retryable=True)

    [request] = receiver.requests
    assert request.method == "POST"
    path, _, query = request.path.partition("?")
    assert path == "/robot/send"
    params = urllib.parse.parse_qs(query, strict_parsing=True)
    assert sorted(params) == ["access_token", "sign", "timestamp"]
    assert params["access_token"] == ["tok123"]
    timestamp = int(params["timestamp"][0])
    assert before <= timestamp <= after  # milliseconds
    # Recomputed here from DingTalk's description, not with the module's function.
    digest = hmac.new(SECRET.encode(), f"{timestamp}\n{SECRET}".encode(), hashlib.sha256).digest()
    assert params["sign"] == [base64.b64encode(digest).decode()]
    raw_sign = query.split("sign=", 1)[1]
    assert raw_sign == urllib.parse.quote(base64.b64encode(digest).decode(), safe="")

    assert request.header("Content-Type") == "application/json; charset=utf-8"
    assert request.json() == {
        "msgtype": "text",
        "text": {
            "content": "[Critical] Panic: Huangpu\n\n"
            "Panic: Huangpu\nSeverity: Critical\n\nThreatened at the door\n\n"
            "Acknowledge: http://127.0.0.1:8000/alerts/ack/abc/\n@13800138000"
        },
        "at": {"atMobiles": ["13800138000"], "isAtAll": False},
    }


def test_without_a_secret_nothing_is_added_to_the_url(receiver: Receiver, message: Message) -> None:
    channel = DingTalkChannel(f"{receiver.url}/robot/send?access_token=tok123")
    assert channel.send(message, Recipient(name="group")).ok
    [request] = receiver.requests
    assert request.path == "/robot/send?access_token=tok123"
    assert request.json()["at"] == {"atMobiles": [], "isAtAll": False}
    assert "@" not in request.json()["text"]["content"].split("\n")[-1]


def test_the_target_masks_the_token(receiver: Receiver, person: Recipient) -> None:
    channel = DingTalkChannel(f"{receiver.url}/robot/send?access_token=tok123", SECRET)
    assert channel.target(person) == f"dingtalk:{receiver.url}/robot/send?access_token=to…"
    assert channel.target(Recipient(name="nobody")) == channel.target(person)


@pytest.mark.parametrize(
    ("errcode", "retryable"),
    [(310000, False), (300001, False), (130101, True), (-1, True)],
)
def test_refusals_come_as_http_200(
    receiver: Receiver, message: Message, person: Recipient, errcode: int, retryable: bool
) -> None:
    receiver.script(200, {"errcode": errcode, "errmsg": "sign not match"})
    channel = DingTalkChannel(f"{receiver.url}/robot/send?access_token=t", SECRET)
    outcome = channel.send(message, person)
    assert (outcome.ok, outcome.retryable) == (False, retryable)
    assert outcome.detail == f"HTTP 200, errcode {errcode}: sign not match"


def test_a_200_that_is_not_the_robots_json_is_not_delivered(
    receiver: Receiver, message: Message, person: Recipient
) -> None:
    receiver.script(200, b"<html>proxy login</html>")
    outcome = DingTalkChannel(f"{receiver.url}/robot/send").send(message, person)
    assert (outcome.ok, outcome.retryable) == (False, True)
    assert outcome.detail == "HTTP 200 without an errcode: <html>proxy login</html>"
