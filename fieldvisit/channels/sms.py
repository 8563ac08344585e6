"""Text messages through an SMS gateway. ``SmsGateway`` is what a provider implements;
``HttpSmsGateway`` speaks the plain HTTP interface most gateways (and the in-house relays in
front of the Chinese carriers' ones) offer: a JSON POST with a bearer token."""

from __future__ import annotations

import json
from typing import Protocol

from fieldvisit.channels.base import Message, Outcome, Recipient
from fieldvisit.channels.http import post, status_outcome

# A long SMS is several billed parts; the subject and the link say what matters.
MAX_CHARS = 300


class SmsGateway(Protocol):
    def send_sms(self, to: str, text: str, reference: str) -> Outcome: ...


class HttpSmsGateway:
    def __init__(self, url: str, token: str, sender: str) -> None:
        self.url, self.token, self.sender = url, token, sender

    def send_sms(self, to: str, text: str, reference: str) -> Outcome:
        body = {"to": to, "from": self.sender, "text": text, "reference": reference}
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Authorization": f"Bearer {self.token}",
        }
        answer = post(self.url, json.dumps(body, ensure_ascii=False).encode(), headers)
        return answer if isinstance(answer, Outcome) else status_outcome(answer)


def sms_text(message: Message) -> str:
    link = f" {message.ack_url}" if message.ack_url else ""
    room = MAX_CHARS - len(link)
    subject = message.subject if len(message.subject) <= room else message.subject[: room - 1] + "…"
    return subject + link


class SmsChannel:
    name = "sms"

    def __init__(self, gateway: SmsGateway) -> None:
        self.gateway = gateway

    def target(self, recipient: Recipient) -> str:
        return recipient.mobile

    def send(self, message: Message, recipient: Recipient) -> Outcome:
        if not recipient.mobile:
            return Outcome(ok=False, detail="no mobile number", retryable=False)
        return self.gateway.send_sms(recipient.mobile, sms_text(message), message.reference)
