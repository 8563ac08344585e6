"""What every channel takes and gives back: a message, a recipient, and the outcome of one
attempt (never an exception: the caller records every attempt as it went)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Message:
    subject: str  # one line, e.g. "[Critical] Panic: Team North"
    text: str  # plain text, several lines
    severity: int  # 10 low, 20 medium, 30 high, 40 critical
    reference: str  # stable id of this notification ("alert:<uuid>:step:2"): receivers dedupe
    ack_url: str = ""  # absolute link to acknowledge in one tap
    facts: Mapping[str, Any] = field(default_factory=dict)  # JSON-able, for machine receivers


@dataclass(frozen=True)
class Recipient:
    name: str
    email: str = ""
    mobile: str = ""


@dataclass(frozen=True)
class Outcome:
    ok: bool
    detail: str  # short and human: "HTTP 200, errcode 0", "timed out after 5 s"
    retryable: bool = True  # False when retrying cannot help


class Channel(Protocol):
    name: str

    def target(self, recipient: Recipient) -> str:
        """Where this channel would send to the recipient ("": it cannot reach them)."""
        ...

    def send(self, message: Message, recipient: Recipient) -> Outcome:
        """One attempt, bounded by a timeout; never raises."""
        ...
