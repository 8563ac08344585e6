"""SMS: the subject and the acknowledgement link through the gateway, with its token."""

from __future__ import annotations

from fieldvisit.channels import Message, Outcome, Recipient
from fieldvisit.channels.sms import MAX_CHARS, HttpSmsGateway, SmsChannel, sms_text
from tests.receiver import Receiver


def test_goes_to_the_gateway_with_its_token(
    receiver: Receiver, message: Message, person: Recipient
) -> None:
    channel = SmsChannel(HttpSmsGateway(f"{receiver.url}/sms/send", "gw-token", "FieldVisit"))
    outcome = channel.send(message, person)
    assert (outcome.ok, outcome.detail) == (True, "HTTP 200")
    [request] = receiver.requests
    assert (request.method, request.path) == ("POST", "/sms/send")
    assert request.header("Authorization") == "Bearer gw-token"
    assert request.header("Content-Type") == "application/json; charset=utf-8"
    assert request.json() == {
        "to": "13800138000",
        "from": "FieldVisit",
        "text": "[Critical] Panic: Huangpu http://127.0.0.1:8000/alerts/ack/abc/",
        "reference": "alert:6f1c:step:1",
    }
    assert channel.target(person) == "13800138000"


def test_no_mobile_is_not_retried_and_sends_nothing(receiver: Receiver, message: Message) -> None:
    channel = SmsChannel(HttpSmsGateway(f"{receiver.url}/sms", "t", "f"))
    nobody = Recipient(name="x", email="x@corp.cn")
    assert channel.target(nobody) == ""
    assert channel.send(message, nobody) == Outcome(
        ok=False, detail="no mobile number", retryable=False
    )
    assert receiver.requests == []


def test_a_gateway_refusal_is_not_retried(
    receiver: Receiver, message: Message, person: Recipient
) -> None:
    receiver.script(400, b'{"error":"invalid number"}')
    outcome = SmsChannel(HttpSmsGateway(f"{receiver.url}/sms", "t", "f")).send(message, person)
    assert outcome == Outcome(
        ok=False, detail='HTTP 400: {"error":"invalid number"}', retryable=False
    )


def test_a_long_subject_is_cut_never_the_link() -> None:
    long = Message(subject="x" * 400, text="", severity=40, reference="r", ack_url="http://a/b")
    text = sms_text(long)
    assert len(text) == MAX_CHARS == 300
    assert text.endswith("x… http://a/b")
    short = Message(subject="Panic", text="t", severity=40, reference="r")
    assert sms_text(short) == "Panic"


class Recording:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []

    def send_sms(self, to: str, text: str, *, reference: str = "") -> Outcome:
        self.calls.append((to, text, reference))
        return Outcome(ok=True, detail="queued")


class Raising:
    def send_sms(self, to: str, text: str, *, reference: str = "") -> Outcome:
        raise RuntimeError("gateway SDK bug")


def test_any_gateway_will_do_and_one_that_raises_is_an_outcome(
    message: Message, person: Recipient
) -> None:
    gateway = Recording()
    assert SmsChannel(gateway).send(message, person) == Outcome(ok=True, detail="queued")
    assert gateway.calls == [("13800138000", sms_text(message), "alert:6f1c:step:1")]
    outcome = SmsChannel(Raising()).send(message, person)
    assert (outcome.ok, outcome.detail) == (False, "RuntimeError: gateway SDK bug")
