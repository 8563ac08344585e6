"""E-mail through Django's mail framework, never with ``fail_silently``: an SMTP error is
an attempt that failed, recorded as such."""

from __future__ import annotations

from django.core.mail import EmailMessage

from fieldvisit.channels.base import Message, Outcome, Recipient


class EmailChannel:
    name = "email"

    def target(self, recipient: Recipient) -> str:
        return recipient.email

    def send(self, message: Message, recipient: Recipient) -> Outcome:
        if not recipient.email:
            return Outcome(ok=False, detail="no e-mail address", retryable=False)
        mail = EmailMessage(
            subject=message.subject,
            body=message.text,
            to=[recipient.email],
            headers={"X-Fieldvisit-Reference": message.reference},
        )
        try:
            sent = mail.send(fail_silently=False)
        except Exception as exc:  # SMTP, DNS, TLS: every failure is an outcome
            return Outcome(ok=False, detail=f"{type(exc).__name__}: {exc}"[:300])
        if not sent:
            return Outcome(ok=False, detail="the mail backend sent nothing")
        return Outcome(ok=True, detail=f"handed to the mail server for {recipient.email}")
