"""WeCom group robots: the text with the person's mobile mentioned; errcode 0 only."""

from __future__ import annotations

import pytest

from fieldvisit.channels import Message, Recipient
from fieldvisit.channels.wecom import WeComChannel
from tests.receiver import Receiver


def test_posts_text_mentioning_the_mobile(
    receiver: Receiver, message: Message, person: Recipient
) -> None:
    channel = WeComChannel(f"{receiver.url}/cgi-bin/webhook/send?key=k-1")
    outcome = channel.send(message, person)
    assert (outcome.ok, outcome.detail) == (True, "HTTP 200, errcode 0")
    [request] = receiver.requests
    assert request.path == "/cgi-bin/webhook/send?key=k-1"
    assert request.json() == {
        "msgtype": "text",
        "text": {
            "content": f"{message.subject}\n\n{message.text}\n\nAcknowledge: {message.ack_url}",
            "mentioned_mobile_list": ["13800138000"],
        },
    }
    assert channel.target(person) == f"wecom:{receiver.url}/cgi-bin/webhook/send?key=k-…"


@pytest.mark.parametrize(("errcode", "retryable"), [(93000, False), (45009, True)])
def test_refusals(
    receiver: Receiver, message: Message, person: Recipient, errcode: int, retryable: bool
) -> None:
    receiver.script(200, {"errcode": errcode, "errmsg": "no"})
    outcome = WeComChannel(f"{receiver.url}/send?key=k").send(message, person)
    assert (outcome.ok, outcome.retryable, outcome.detail) == (
        False,
        retryable,
        f"HTTP 200, errcode {errcode}: no",
    )
