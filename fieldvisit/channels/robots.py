"""Group robots of the chat tools Chinese offices live in: DingTalk (钉钉) custom robots and
WeCom (企业微信) group robots. One message to the group, @-mentioning the person on call by
their mobile number.

Both answer HTTP 200 even when they refuse a message, with a non-zero ``errcode`` in the
JSON body, so success is HTTP 200 *and* ``errcode`` 0. (apprise 2.3.0's DingTalk and WeCom
plugins, checked before writing these, take any HTTP 200 as delivered, hard-code the vendors'
hosts, and answer only True or False: a refused message would pass as sent, and no attempt's
outcome could be recorded.)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.parse

from fieldvisit.channels.base import Message, Outcome, Recipient
from fieldvisit.channels.http import Answer, masked, post, status_outcome

# DingTalk errcodes worth a retry: rate limited (130101: more than 20 messages a minute),
# and the server's own trouble (-1). The others (300001 bad token, 310000 bad signature,
# keyword or IP) need a person to fix the configuration.
DINGTALK_RETRYABLE = {-1, 130101}
# WeCom: -1 busy, 45009 rate limited.
WECOM_RETRYABLE = {-1, 45009}


def dingtalk_signed(url: str, secret: str, now_ms: int) -> str:
    """The robot URL with DingTalk's signature: HMAC-SHA256 keyed with the robot's secret
    over "<timestamp>\\n<secret>", base64, URL-encoded, with the timestamp in milliseconds
    (DingTalk refuses one more than an hour off)."""
    to_sign = f"{now_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), to_sign, hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest))
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}timestamp={now_ms}&sign={sign}"


def _errcode_outcome(answer: Answer, retryable_codes: set[int]) -> Outcome:
    if answer.status != 200:
        return status_outcome(answer)
    try:
        reply = json.loads(answer.body)
        code = int(reply.get("errcode", -1))
    except (ValueError, TypeError, AttributeError):
        return Outcome(ok=False, detail="HTTP 200 with an answer that is not the robot's JSON")
    if code == 0:
        return Outcome(ok=True, detail="HTTP 200, errcode 0")
    message = str(reply.get("errmsg", ""))[:200]
    return Outcome(
        ok=False, detail=f"HTTP 200, errcode {code}: {message}", retryable=code in retryable_codes
    )


def _text(message: Message) -> str:
    return f"{message.subject}\n\n{message.text}"


class DingTalkChannel:
    name = "dingtalk"

    def __init__(self, url: str, secret: str = "") -> None:
        self.url, self.secret = url, secret

    def target(self, recipient: Recipient) -> str:
        return f"dingtalk:{masked(self.url)}"

    def send(self, message: Message, recipient: Recipient) -> Outcome:
        mentions = [recipient.mobile] if recipient.mobile else []
        # The @-mention works only when the number also appears in the text.
        text = _text(message) + "".join(f"\n@{m}" for m in mentions)
        body = {
            "msgtype": "text",
            "text": {"content": text},
            "at": {"atMobiles": mentions, "isAtAll": False},
        }
        url = self.url
        if self.secret:
            url = dingtalk_signed(url, self.secret, int(time.time() * 1000))
        answer = post(url, json.dumps(body, ensure_ascii=False).encode(), _JSON)
        if isinstance(answer, Outcome):
            return answer
        return _errcode_outcome(answer, DINGTALK_RETRYABLE)


class WeComChannel:
    name = "wecom"

    def __init__(self, url: str) -> None:
        self.url = url

    def target(self, recipient: Recipient) -> str:
        return f"wecom:{masked(self.url)}"

    def send(self, message: Message, recipient: Recipient) -> Outcome:
        text = {"content": _text(message)}
        if recipient.mobile:
            text["mentioned_mobile_list"] = [recipient.mobile]  # type: ignore[assignment]
        body = {"msgtype": "text", "text": text}
        answer = post(self.url, json.dumps(body, ensure_ascii=False).encode(), _JSON)
        if isinstance(answer, Outcome):
            return answer
        return _errcode_outcome(answer, WECOM_RETRYABLE)


_JSON = {"Content-Type": "application/json; charset=utf-8"}
