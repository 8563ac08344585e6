"""The channels this deployment has (from settings), and which of them each severity uses."""

from __future__ import annotations

from django.conf import settings

from fieldvisit.channels.base import Channel
from fieldvisit.channels.email import EmailChannel
from fieldvisit.channels.robots import DingTalkChannel, WeComChannel
from fieldvisit.channels.sms import HttpSmsGateway, SmsChannel
from fieldvisit.channels.webhook import WebhookChannel

SEVERITY_NAMES = {40: "critical", 30: "high", 20: "medium", 10: "low"}


def configured() -> dict[str, Channel]:
    """Every channel with what it needs to send; e-mail always."""
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


def names_for(severity: int) -> list[str]:
    level = SEVERITY_NAMES.get(severity, "low" if severity < 20 else "critical")
    return list(settings.ALERT_SEVERITY_CHANNELS.get(level, ["email"]))


def for_severity(severity: int) -> list[Channel]:
    """The configured channels an alert of ``severity`` goes through, in the order named."""
    have = configured()
    return [have[name] for name in names_for(severity) if name in have]


def misconfigured() -> list[str]:
    """Problems a system check reports: channels named for a severity but not configured,
    and a webhook without its signing secret."""
    have = configured()
    problems = sorted(
        {
            f"{name} (for {level} alerts) is not configured"
            for level, names in settings.ALERT_SEVERITY_CHANNELS.items()
            for name in names
            if name not in have
        }
    )
    if settings.ALERT_WEBHOOK_URL and not settings.ALERT_WEBHOOK_SECRET:
        problems.append("the webhook has no ALERT_WEBHOOK_SECRET: receivers cannot check it")
    return problems
