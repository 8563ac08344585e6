"""The channels' fixtures: a local HTTP receiver, and one message to one person."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fieldvisit.channels import Message, Recipient
from tests.receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


@pytest.fixture
def message() -> Message:
    return Message(
        subject="[Critical] Panic: Huangpu",
        text="Panic: Huangpu\nSeverity: Critical\n\nThreatened at the door",
        severity=40,
        reference="alert:6f1c:step:1",
        ack_url="http://127.0.0.1:8000/alerts/ack/abc/",
        facts={"alert": "6f1c", "kind": "panic", "team": "黄浦", "lat": 31.2311, "lon": 121.4742},
    )


@pytest.fixture
def person() -> Recipient:
    return Recipient(name="杨军 (supervisor)", email="jun@corp.cn", mobile="13800138000")
