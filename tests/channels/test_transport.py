"""What every HTTP channel does when the other end fails: a server error, a receiver slower
than the timeout and a closed port are retryable outcomes; a malformed URL is not; none
raises."""

from __future__ import annotations

import socket
import time
import urllib.error
from collections.abc import Callable
from typing import Any

import pytest

from fieldvisit.channels import Channel, Message, Outcome, Recipient
from fieldvisit.channels.base import failure
from fieldvisit.channels.dingtalk import DingTalkChannel
from fieldvisit.channels.sms import HttpSmsGateway, SmsChannel
from fieldvisit.channels.webhook import WebhookChannel
from fieldvisit.channels.wecom import WeComChannel
from tests.receiver import Receiver

MAKERS: dict[str, Callable[[str], Channel]] = {
    "dingtalk": lambda base: DingTalkChannel(f"{base}/robot/send?access_token=t", "SECx"),
    "wecom": lambda base: WeComChannel(f"{base}/cgi-bin/webhook/send?key=k"),
    "webhook": lambda base: WebhookChannel(f"{base}/hooks", "s"),
    "sms": lambda base: SmsChannel(HttpSmsGateway(f"{base}/sms", "t", "f")),
}
each = pytest.mark.parametrize("name", sorted(MAKERS))


@each
def test_a_server_error_is_retryable(
    receiver: Receiver, message: Message, person: Recipient, name: str
) -> None:
    receiver.script(500, b"upstream down")
    outcome = MAKERS[name](receiver.url).send(message, person)
    assert (outcome.ok, outcome.retryable, outcome.detail) == (
        False,
        True,
        "HTTP 500: upstream down",
    )
    assert len(receiver.requests) == 1  # one attempt, no hidden retry


@each
def test_a_receiver_slower_than_the_timeout_is_retryable(
    receiver: Receiver, message: Message, person: Recipient, settings: Any, name: str
) -> None:
    settings.ALERT_CHANNEL_TIMEOUT_S = 0.2
    receiver.script(200, delay_s=1.5)
    started = time.monotonic()
    outcome = MAKERS[name](receiver.url).send(message, person)
    took = time.monotonic() - started
    assert (outcome.ok, outcome.retryable, outcome.detail) == (False, True, "timed out after 0.2 s")
    assert 0.2 <= took < 1.0
    assert len(receiver.requests) == 1


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@each
def test_a_closed_port_is_retryable(message: Message, person: Recipient, name: str) -> None:
    outcome = MAKERS[name](f"http://127.0.0.1:{_closed_port()}").send(message, person)
    assert (outcome.ok, outcome.retryable) == (False, True)
    assert outcome.detail.startswith("cannot connect: ")
    assert "refused" in outcome.detail


@each
def test_a_malformed_url_is_not_retryable(message: Message, person: Recipient, name: str) -> None:
    for url in ("robot.example/send", "file:///etc"):
        outcome = MAKERS[name](url).send(message, person)
        assert (outcome.ok, outcome.retryable) == (False, False)
        assert outcome.detail.startswith("not an http(s) URL: ")


def test_a_connect_timeout_and_a_read_timeout_read_the_same() -> None:
    # urllib wraps a timeout while connecting in URLError, not one while reading the answer.
    for error in (urllib.error.URLError(TimeoutError("timed out")), TimeoutError("timed out")):
        assert failure(error, 5) == Outcome(ok=False, detail="timed out after 5 s")
    refused = failure(urllib.error.URLError(ConnectionRefusedError(111, "Connection refused")), 5)
    assert refused == Outcome(ok=False, detail="cannot connect: [Errno 111] Connection refused")
    assert failure(KeyError("x"), 5) == Outcome(ok=False, detail="KeyError: 'x'", retryable=False)
