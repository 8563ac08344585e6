"""The local receiver the channels' tests stand on: it records and answers as scripted."""

from __future__ import annotations

import time
import urllib.error
import urllib.request

import pytest

from tests.receiver import Receiver


def _call(url: str, method: str = "POST", body: bytes | None = b"x") -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=5) as reply:  # noqa: S310
            return reply.status, reply.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_records_and_answers_from_its_script() -> None:
    with Receiver(script=[(500, b"busy", 0.0)]) as receiver:
        receiver.script(201, {"id": 7})
        started = time.monotonic()
        assert _call(f"{receiver.url}/a?x=1", body=b'{"k":1}') == (500, b"busy")
        assert _call(f"{receiver.url}/b") == (201, b'{"id": 7}')
        assert _call(f"{receiver.url}/c", method="GET", body=None) == (
            200,
            b'{"errcode": 0, "errmsg": "ok"}',
        )
        first, second, third = receiver.wait_for(3, timeout=1)
    assert [(r.method, r.path) for r in (first, second, third)] == [
        ("POST", "/a?x=1"),
        ("POST", "/b"),
        ("GET", "/c"),
    ]
    assert first.json() == {"k": 1} and first.header("content-length") == "7"
    assert started <= first.at <= second.at <= third.at


def test_wait_for_says_how_many_came() -> None:
    with Receiver() as receiver, pytest.raises(TimeoutError, match="0 of 1 requests arrived"):
        receiver.wait_for(1, timeout=0.05)
