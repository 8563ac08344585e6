"""E-mail through Django's mail framework, never silently: a backend that raises is an
outcome, retryable unless the server's answer is permanent."""

from __future__ import annotations

import smtplib
from typing import Any, ClassVar

import pytest
from django.core.mail.backends.base import BaseEmailBackend

from fieldvisit.channels import Message, Outcome, Recipient
from fieldvisit.channels.email import EmailChannel


def test_sent_with_the_ack_link(mailoutbox: list[Any], message: Message, person: Recipient) -> None:
    outcome = EmailChannel().send(message, person)
    assert outcome == Outcome(ok=True, detail="handed to the mail backend for jun@corp.cn")
    [sent] = mailoutbox
    assert (sent.to, sent.subject) == (["jun@corp.cn"], "[Critical] Panic: Huangpu")
    assert sent.body == (
        "Panic: Huangpu\nSeverity: Critical\n\nThreatened at the door\n\n"
        "Acknowledge in one tap: http://127.0.0.1:8000/alerts/ack/abc/\n"
    )
    assert sent.extra_headers["X-Fieldvisit-Reference"] == "alert:6f1c:step:1"
    assert EmailChannel().target(person) == "jun@corp.cn"


def test_no_address_is_not_retried(mailoutbox: list[Any], message: Message) -> None:
    nobody = Recipient(name="x", mobile="13800138000")
    assert EmailChannel().target(nobody) == ""
    assert EmailChannel().send(message, nobody) == Outcome(
        ok=False, detail="no e-mail address", retryable=False
    )
    assert mailoutbox == []


class Raising(BaseEmailBackend):
    error: ClassVar[BaseException] = OSError("SMTP server closed the connection")
    opened_with: ClassVar[dict[str, Any]] = {}

    def __init__(self, fail_silently: bool = False, **kwargs: Any) -> None:
        super().__init__(fail_silently=fail_silently)
        Raising.opened_with = {"fail_silently": fail_silently, **kwargs}

    def send_messages(self, messages: Any) -> int:
        if self.fail_silently:  # as Django's SMTP backend does
            return 0
        raise self.error


@pytest.mark.parametrize(
    ("error", "retryable", "detail"),
    [
        (OSError("SMTP server closed the connection"), True, "OSError: SMTP server closed"),
        (TimeoutError("timed out"), True, "timed out after 5 s"),
        (smtplib.SMTPServerDisconnected("gone"), True, "SMTPServerDisconnected: gone"),
        (smtplib.SMTPResponseException(451, b"try later"), True, "SMTPResponseException"),
        (smtplib.SMTPAuthenticationError(535, b"bad login"), False, "SMTPAuthenticationError"),
        (
            smtplib.SMTPRecipientsRefused({"jun@corp.cn": (550, b"no such user")}),
            False,
            "SMTPRecipientsRefused",
        ),
    ],
)
def test_a_backend_that_raises_is_an_outcome(
    settings: Any,
    message: Message,
    person: Recipient,
    error: BaseException,
    retryable: bool,
    detail: str,
) -> None:
    settings.EMAIL_BACKEND = f"{__name__}.Raising"
    settings.EMAIL_TIMEOUT = None
    settings.ALERT_CHANNEL_TIMEOUT_S = 5
    Raising.error = error
    outcome = EmailChannel().send(message, person)
    assert (outcome.ok, outcome.retryable) == (False, retryable)
    assert outcome.detail.startswith(detail)
    assert Raising.opened_with == {"fail_silently": False, "timeout": 5}


def test_email_timeout_wins_when_set(settings: Any, message: Message, person: Recipient) -> None:
    settings.EMAIL_BACKEND = f"{__name__}.Raising"
    settings.EMAIL_TIMEOUT = 20
    Raising.error = OSError("x")
    EmailChannel().send(message, person)
    assert Raising.opened_with["timeout"] == 20
