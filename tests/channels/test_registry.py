"""The registry: channels built from settings, which each severity uses, what is named but
not configured; and the settings' defaults and environment form, read in a fresh process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from django.conf import settings as django_settings

from fieldvisit.channels import registry
from fieldvisit.channels.dingtalk import DingTalkChannel
from fieldvisit.channels.email import EmailChannel
from fieldvisit.channels.sms import SmsChannel
from fieldvisit.channels.webhook import WebhookChannel
from fieldvisit.channels.wecom import WeComChannel


@pytest.fixture
def nothing_configured(settings: Any) -> Any:
    for name in ("SMS", "DINGTALK", "WECOM", "WEBHOOK"):
        setattr(settings, f"ALERT_{name}_URL", "")
    return settings


def test_email_is_always_configured(nothing_configured: Any) -> None:
    have = registry.configured()
    assert list(have) == ["email"] and isinstance(have["email"], EmailChannel)


def test_channels_are_built_from_settings(nothing_configured: Any) -> None:
    s = nothing_configured
    s.ALERT_SMS_URL, s.ALERT_SMS_TOKEN, s.ALERT_SMS_SENDER = "http://sms.local/send", "tok", "FV"
    s.ALERT_DINGTALK_URL, s.ALERT_DINGTALK_SECRET = "http://ding.local/send?access_token=a", "SEC"
    s.ALERT_WECOM_URL = "http://wecom.local/send?key=k"
    s.ALERT_WEBHOOK_URL, s.ALERT_WEBHOOK_SECRET = "http://hooks.local/alerts", "whsec"
    have = registry.configured()
    assert sorted(have) == ["dingtalk", "email", "sms", "webhook", "wecom"]
    assert all(channel.name == name for name, channel in have.items())
    sms, ding, wecom, hook = have["sms"], have["dingtalk"], have["wecom"], have["webhook"]
    assert isinstance(sms, SmsChannel)
    assert (sms.gateway.url, sms.gateway.token, sms.gateway.sender) == (  # type: ignore[attr-defined]
        "http://sms.local/send",
        "tok",
        "FV",
    )
    assert isinstance(ding, DingTalkChannel) and (ding.url, ding.secret) == (
        "http://ding.local/send?access_token=a",
        "SEC",
    )
    assert isinstance(wecom, WeComChannel) and wecom.url == "http://wecom.local/send?key=k"
    assert isinstance(hook, WebhookChannel) and (hook.url, hook.secret) == (
        "http://hooks.local/alerts",
        "whsec",
    )


def test_each_severity_gets_its_configured_channels_in_order(nothing_configured: Any) -> None:
    s = nothing_configured
    s.ALERT_DINGTALK_URL = "http://robot.local/send?access_token=a"
    s.ALERT_WEBHOOK_URL, s.ALERT_WEBHOOK_SECRET = "http://hooks.local/alerts", "whsec"
    s.ALERT_SEVERITY_CHANNELS = {
        "critical": ["webhook", "email", "sms", "dingtalk", "email"],
        "high": ["dingtalk"],
        "medium": ["email", "wecom"],
        "low": ["email"],
    }
    names = {sev: [c.name for c in registry.for_severity(sev)] for sev in (40, 35, 30, 20, 10, 0)}
    assert names == {
        40: ["webhook", "email", "dingtalk"],
        35: ["dingtalk"],
        30: ["dingtalk"],
        20: ["email"],
        10: ["email"],
        0: ["email"],
    }
    assert [c.name for c in registry.for_severity(50)] == ["webhook", "email", "dingtalk"]
    assert registry.misconfigured() == ["sms", "wecom"]
    assert registry.problems() == [
        "sms (for critical alerts) is not configured",
        "wecom (for medium alerts) is not configured",
    ]


def test_misconfigured_names_unknown_channels_and_problems_note_an_unsigned_webhook(
    nothing_configured: Any,
) -> None:
    s = nothing_configured
    s.ALERT_WEBHOOK_URL, s.ALERT_WEBHOOK_SECRET = "http://hooks.local/alerts", ""
    s.ALERT_SEVERITY_CHANNELS = {
        "critical": ["email", "webhook", "pager"],
        "high": ["email", "pager"],
        "medium": ["email"],
        "low": ["email"],
    }
    assert registry.misconfigured() == ["pager"]
    assert registry.problems() == [
        "pager (for critical, high alerts) is not a channel",
        "the webhook has no ALERT_WEBHOOK_SECRET: receivers cannot check it",
    ]
    s.ALERT_SEVERITY_CHANNELS = {"critical": ["email"], "high": [], "medium": [], "low": []}
    assert registry.misconfigured() == []
    assert registry.for_severity(30) == []


def _settings_in_a_fresh_process(**env: str) -> dict[str, Any]:
    """Settings as a server reads them from its environment at start-up."""
    code = (
        "import django, json, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings'; "
        "django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.ALERT_SEVERITY_CHANNELS, s.ALERT_CHANNEL_TIMEOUT_S]))"
    )
    keep = {name: os.environ[name] for name in ("PATH", "HOME", "STATE_DIR") if name in os.environ}
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**keep, **env},
        cwd=django_settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    channels, timeout = json.loads(out)
    return {"channels": channels, "timeout": timeout}


def test_defaults_with_nothing_but_email() -> None:
    assert _settings_in_a_fresh_process() == {
        "channels": {
            "critical": ["email"],
            "high": ["email"],
            "medium": ["email"],
            "low": ["email"],
        },
        "timeout": 5,
    }


def test_defaults_follow_what_is_configured() -> None:
    found = _settings_in_a_fresh_process(
        ALERT_SMS_URL="http://sms.local/send",
        ALERT_DINGTALK_URL="http://ding.local/send?access_token=a",
        ALERT_WECOM_URL="http://wecom.local/send?key=k",
        ALERT_WEBHOOK_URL="http://hooks.local/alerts",
    )
    every = ["email", "sms", "dingtalk", "wecom", "webhook"]
    assert found["channels"] == {
        "critical": every,
        "high": every,
        "medium": ["email", "dingtalk", "wecom"],
        "low": ["email"],
    }
    only_sms_and_wecom = _settings_in_a_fresh_process(
        ALERT_SMS_URL="http://sms.local/send", ALERT_WECOM_URL="http://wecom.local/send?key=k"
    )
    assert only_sms_and_wecom["channels"]["medium"] == ["email", "wecom"]


def test_the_environment_names_each_severitys_channels() -> None:
    found = _settings_in_a_fresh_process(
        ALERT_CHANNELS_CRITICAL=" sms , email,,webhook",
        ALERT_CHANNELS_HIGH="email,dingtalk",
        ALERT_CHANNELS_MEDIUM="wecom",
        ALERT_CHANNELS_LOW="",
        ALERT_CHANNEL_TIMEOUT_S="12",
    )
    assert found == {
        "channels": {
            "critical": ["sms", "email", "webhook"],
            "high": ["email", "dingtalk"],
            "medium": ["wecom"],
            "low": [],  # set but empty: low alerts go nowhere
        },
        "timeout": 12,
    }
