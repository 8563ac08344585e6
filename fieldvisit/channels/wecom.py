"""WeCom (企业微信) group robots: one text message to the group, @-mentioning the person on
call by their mobile number. Like DingTalk, WeCom answers HTTP 200 with a non-zero
``errcode`` when it refuses a message: delivered is errcode 0."""

from __future__ import annotations

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

# Worth a retry: busy (-1) and rate limited (45009: more than 20 messages a minute). The
# others (93000 invalid webhook URL, 40058 bad content ...) need a person.
RETRYABLE_ERRCODES = frozenset({-1, 45009})


class WeComChannel:
    name = "wecom"

    def __init__(self, url: str) -> None:
        self.url = url

    def target(self, recipient: Recipient) -> str:
        return f"wecom:{masked(self.url)}"

    def send(self, message: Message, recipient: Recipient) -> Outcome:
        try:
            text = {
                "content": robot_text(message),
                "mentioned_mobile_list": [recipient.mobile] if recipient.mobile else [],
            }
            answer = post_json(self.url, {"msgtype": "text", "text": text})
            if isinstance(answer, Outcome):
                return answer
            return errcode_outcome(answer, RETRYABLE_ERRCODES)
        except Exception as exc:  # never raises
            return failure(exc, timeout_s())
