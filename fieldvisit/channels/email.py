"""E-mail through Django's mail framework, never with ``fail_silently``: an SMTP error is an
attempt that failed, recorded as such. The connection gets ``EMAIL_TIMEOUT``, or
``ALERT_CHANNEL_TIMEOUT_S`` when that is not set (Django's default is to wait forever)."""

from __future__ import annotations

import smtplib

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.utils.translation import gettext

from fieldvisit.channels.base import Message, Outcome, Recipient, failure, timeout_s


def body_of(message: Message) -> str:
    if not message.ack_url:
        return message.text
    # In the language active as it is sent (the caller's: its recipient's).
    ack = gettext("Acknowledge in one tap: {url}").format(url=message.ack_url)
    return f"{message.text}\n\n{ack}\n"


def _smtp_outcome(exc: smtplib.SMTPException) -> Outcome:
    """A permanent (5xx) answer, such as a refused recipient or failed authentication, is
    the same on every retry; a 4xx answer or a dropped connection is not."""
    codes: list[int] = []
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
    elif isinstance(exc, smtplib.SMTPResponseException):
        codes = [exc.smtp_code]
    permanent = bool(codes) and all(500 <= code < 600 for code in codes)
    detail = f"{type(exc).__name__}: {exc}"[:300]
    return Outcome(ok=False, detail=detail, retryable=not permanent)


class EmailChannel:
    name = "email"

    def target(self, recipient: Recipient) -> str:
        return recipient.email

    def send(self, message: Message, recipient: Recipient) -> Outcome:
        if not recipient.email:
            return Outcome(ok=False, detail="no e-mail address", retryable=False)
        timeout = settings.EMAIL_TIMEOUT or timeout_s()
        try:
            connection = get_connection(fail_silently=False, timeout=timeout)
            mail = EmailMessage(
                subject=message.subject,
                body=body_of(message),
                to=[recipient.email],
                headers={"X-Fieldvisit-Reference": message.reference},
                connection=connection,
            )
            sent = mail.send(fail_silently=False)
        except smtplib.SMTPException as exc:
            return _smtp_outcome(exc)
        except Exception as exc:  # DNS, TLS, a refused connection: every failure is an outcome
            return failure(exc, timeout)
        if not sent:
            return Outcome(ok=False, detail="the mail backend sent nothing")
        return Outcome(ok=True, detail=f"handed to the mail backend for {recipient.email}")
