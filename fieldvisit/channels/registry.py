"""The channels this deployment has (from settings), and which of them each severity uses.

``ALERT_SEVERITY_CHANNELS`` maps a severity's name to channel names in the order they are
tried; a name whose channel is not configured (no URL) is left out of ``for_severity`` and
reported by ``misconfigured`` for a system check to show."""

from __future__ import annotations

from django.conf import settings

from fieldvisit.channels.base import CRITICAL, HIGH, MEDIUM, Channel
from fieldvisit.channels.dingtalk import DingTalkChannel
from fieldvisit.channels.email import EmailChannel
from fieldvisit.channels.sms import HttpSmsGateway, SmsChannel
from fieldvisit.channels.webhook import WebhookChannel
from fieldvisit.channels.wecom import WeComChannel

NAMES = ("email", "sms", "dingtalk", "wecom", "webhook")


def configured() -> dict[str, Channel]:
    """Every channel with what it needs to send, by name; e-mail always."""
    found: dict[str, Channel] = {"email": EmailChannel()}
    if settings.ALERT_SMS_URL:
        gateway = HttpSmsGateway(
            settings.ALERT_SMS_URL, settings.ALERT_SMS_TOKEN, settings.ALERT_SMS_SENDER
        )
        found["sms"] = SmsChannel(gateway)
    if settings.ALERT_DINGTALK_URL:
        found["dingtalk"] = DingTalkChannel(
            settings.ALERT_DINGTALK_URL, settings.ALERT_DINGTALK_SECRET
        )
    if settings.ALERT_WECOM_URL:
        found["wecom"] = WeComChannel(settings.ALERT_WECOM_URL)
    if settings.ALERT_WEBHOOK_URL:
        found["webhook"] = WebhookChannel(settings.ALERT_WEBHOOK_URL, settings.ALERT_WEBHOOK_SECRET)
    return found


def severity_name(severity: int) -> str:
    """ "critical" (40 and above), "high" (30-39), "medium" (20-29) or "low"."""
    if severity >= CRITICAL:
        return "critical"
    if severity >= HIGH:
        return "high"
    if severity >= MEDIUM:
        return "medium"
    return "low"


def names_for(severity: int) -> list[str]:
    """The channel names settings list for ``severity`` (configured or not)."""
    return list(settings.ALERT_SEVERITY_CHANNELS.get(severity_name(severity), ["email"]))


def for_severity(severity: int) -> list[Channel]:
    """The configured channels an alert of ``severity`` goes through, in the order named,
    each once."""
    have = configured()
    return [have[name] for name in dict.fromkeys(names_for(severity)) if name in have]


def misconfigured() -> list[str]:
    """Channel names listed for some severity but not configured (sorted, each once); an
    unknown name counts too."""
    have = configured()
    return sorted(
        {
            name
            for names in settings.ALERT_SEVERITY_CHANNELS.values()
            for name in names
            if name not in have
        }
    )


def problems() -> list[str]:
    """``misconfigured`` in sentences, and a webhook without its signing secret (sent, but
    no receiver can check it): what a system check shows."""
    found = []
    for name in misconfigured():
        levels = [
            level for level, names in settings.ALERT_SEVERITY_CHANNELS.items() if name in names
        ]
        what = "is not configured" if name in NAMES else "is not a channel"
        found.append(f"{name} (for {', '.join(levels)} alerts) {what}")
    if settings.ALERT_WEBHOOK_URL and not settings.ALERT_WEBHOOK_SECRET:
        found.append("the webhook has no ALERT_WEBHOOK_SECRET: receivers cannot check it")
    return found
