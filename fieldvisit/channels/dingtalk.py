"""DingTalk (钉钉) custom group robots (自定义机器人): one text message to the group,
@-mentioning the person on call by their mobile number.

With "加签" on, the robot's URL carries ``timestamp`` (milliseconds) and ``sign``: the
base64 of HMAC-SHA256 keyed with the robot's secret over ``"<timestamp>\\n<secret>"``,
URL-encoded; DingTalk refuses a timestamp more than an hour off. DingTalk answers HTTP 200
even when it refuses a message, with a non-zero ``errcode``: delivered is errcode 0.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import urllib.parse

from fieldvisit.channels.base import (
    Message,
    Outcome,
    Recipient,
    errcode_outcome,
    failure,
    masked,
    post_json,
    robot_text,
    timeout_s,
)

# Worth a retry: the server's own trouble (-1) and its rate limit (130101: more than 20
# messages a minute to one robot). The others, 300001 (bad token), 310000 (bad signature,
# keyword or IP) and the like, need a person to fix the configuration.
RETRYABLE_ERRCODES = frozenset({-1, 130101})


def sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's ``sign`` parameter, already URL-encoded."""
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), to_sign, hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest))


def signed_url(url: str, secret: str, timestamp_ms: int) -> str:
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}timestamp={timestamp_ms}&sign={sign(secret, timestamp_ms)}"


def content(message: Message, mobile: str) -> str:
    # DingTalk highlights the mention only where the number also appears in the text.
    return robot_text(message) + (f"\n@{mobile}" if mobile else "")


class DingTalkChannel:
    name = "dingtalk"

    def __init__(self, url: str, secret: str = "") -> None:
        self.url, self.secret = url, secret

    def target(self, recipient: Recipient) -> str:
        return f"dingtalk:{masked(self.url)}"

    def send(self, message: Message, recipient: Recipient) -> Outcome:
        try:
            mentions = [recipient.mobile] if recipient.mobile else []
            payload = {
                "msgtype": "text",
                "text": {"content": content(message, recipient.mobile)},
                "at": {"atMobiles": mentions, "isAtAll": False},
            }
            url = self.url
            if self.secret:
                url = signed_url(url, self.secret, int(time.time() * 1000))
            answer = post_json(url, payload)
            if isinstance(answer, Outcome):
                return answer
            return errcode_outcome(answer, RETRYABLE_ERRCODES)
        except Exception as exc:  # never raises
            return failure(exc, timeout_s())
