"""Text messages through an SMS gateway. ``SmsGateway`` is what a provider implements;
``HttpSmsGateway`` speaks the plain HTTP interface most gateways (and the in-house relays in
front of the carriers' ones) offer: a JSON POST with a bearer token, any 2xx accepted."""

from __future__ import annotations

import json
from typing import Protocol

from fieldvisit.channels.base import (
    Message,
    Outcome,
    Recipient,
    failure,
    post,
    status_outcome,
    timeout_s,
)

# A long SMS is several billed parts; the subject and the link say what matters.
MAX_CHARS = 300


class SmsGateway(Protocol):
    def send_sms(self, to: str, text: str, *, reference: str = "") -> Outcome:
        """One attempt to hand ``text`` to the gateway for ``to``; never raises.
        ``reference`` lets the gateway drop a retry of a message it already took."""
        ...


class HttpSmsGateway:
    def __init__(self, url: str, token: str, sender: str) -> None:
        self.url, self.token, self.sender = url, token, sender

    def send_sms(self, to: str, text: str, *, reference: str = "") -> Outcome:
        try:
            payload = {"to": to, "from": self.sender, "text": text, "reference": reference}
            headers = {
                "Content-Type": "application/json; charset=utf-8",
                "Authorization": f"Bearer {self.token}",
            }
            answer = post(self.url, json.dumps(payload, ensure_ascii=False).encode(), headers)
            return answer if isinstance(answer, Outcome) else status_outcome(answer)
        except Exception as exc:  # never raises
            return failure(exc, timeout_s())


def sms_text(message: Message) -> str:
    """The subject and the acknowledgement link, at most ``MAX_CHARS`` characters: the
    subject is cut (with "…"), never the link."""
    link = f" {message.ack_url}" if message.ack_url else ""
    room = MAX_CHARS - len(link)
    subject = message.subject if len(message.subject) <= room else message.subject[: room - 1] + "…"
    return (subject + link)[:MAX_CHARS]


class SmsChannel:
    name = "sms"

    def __init__(self, gateway: SmsGateway) -> None:
        self.gateway = gateway

    def target(self, recipient: Recipient) -> str:
        return recipient.mobile

    def send(self, message: Message, recipient: Recipient) -> Outcome:
        if not recipient.mobile:
            return Outcome(ok=False, detail="no mobile number", retryable=False)
        try:
            return self.gateway.send_sms(
                recipient.mobile, sms_text(message), reference=message.reference
            )
        except Exception as exc:  # a gateway that raises after all
            return failure(exc, timeout_s())
