"""What every HTTP channel does when the other end fails: a server error, a receiver slower
than the timeout and a closed port are retryable outcomes; a malformed URL is not; none
raises."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import pytest

from fieldvisit.channels import Channel, Message, Recipient
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
    assert (outcome.ok, outcome.retryable, outcome.detail) == (False, True, "HTTP 500: upstream down")
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
    outcome = MAKERS[name]("robot.example/send").send(message, person)
    assert (outcome.ok, outcome.retryable) == (False, False)
    assert outcome.detail.startswith("ValueError: unknown url type")
