"""The channels this deployment has, and which of them each severity uses."""

from __future__ import annotations

from django.conf import settings

from fieldvisit.channels.base import Channel
from fieldvisit.channels.email import EmailChannel


def configured() -> dict[str, Channel]:
    """Every channel with what it needs to send (e-mail always)."""
    found: dict[str, Channel] = {"email": EmailChannel()}
    return found


SEVERITY_NAMES = {40: "critical", 30: "high", 20: "medium", 10: "low"}


def for_severity(severity: int) -> list[Channel]:
    """The configured channels an alert of ``severity`` goes through."""
    have = configured()
    names = getattr(settings, "ALERT_SEVERITY_CHANNELS", {}).get(
        SEVERITY_NAMES.get(severity, "low"), ["email"]
    )
    return [have[name] for name in names if name in have]
