"""What every channel takes and gives back (a message, a recipient, the outcome of one
attempt, never an exception: the caller records every attempt as it went), and the one HTTP
POST the HTTP channels share."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.conf import settings
from django.utils.translation import gettext

# Severities, as ``Message.severity`` carries them.
LOW, MEDIUM, HIGH, CRITICAL = 10, 20, 30, 40


@dataclass(frozen=True)
class Message:
    subject: str  # one line, e.g. "[Critical] Panic: Team North"
    text: str  # plain text, several lines
    severity: int  # 10 low, 20 medium, 30 high, 40 critical
    reference: str  # stable id of this notification ("alert:<uuid>:step:2"): receivers dedupe
    ack_url: str = ""  # absolute link to acknowledge in one tap ("" when none)
    facts: Mapping[str, Any] = field(default_factory=dict)  # JSON-able, for machine receivers


@dataclass(frozen=True)
class Recipient:
    name: str
    email: str = ""
    mobile: str = ""  # 11-digit CN mobile or E.164


@dataclass(frozen=True)
class Outcome:
    ok: bool
    detail: str  # short and human: "HTTP 200, errcode 0", "timed out after 5 s"
    retryable: bool = True  # False when retrying cannot help


class Channel(Protocol):
    name: str  # "email", "sms", "dingtalk", "wecom", "webhook"

    def target(self, recipient: Recipient) -> str:
        """Where this channel would send to the recipient ("": it cannot reach them); for a
        group robot its webhook URL with the token masked."""
        ...

    def send(self, message: Message, recipient: Recipient) -> Outcome:
        """One attempt, bounded by a timeout; never raises."""
        ...


def robot_text(message: Message) -> str:
    """A group robot's text (DingTalk, WeCom): subject, body and the one-tap link, the link's
    label in the language active as it is sent (``actions.deliveries``: the recipient's)."""
    text = f"{message.subject}\n\n{message.text}"
    if not message.ack_url:
        return text
    return text + "\n\n" + gettext("Acknowledge: {url}").format(url=message.ack_url)


# --- one HTTP POST ---------------------------------------------------------------------------

# Answers worth trying again besides 5xx: the receiver timed out or asks us to slow down.
RETRYABLE_STATUS = frozenset({408, 429})
MAX_REPLY_BYTES = 64 * 1024
JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes

    def excerpt(self) -> str:
        return self.body[:200].decode("utf-8", "replace")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a place to send a signed alert to."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def timeout_s() -> float:
    return settings.ALERT_CHANNEL_TIMEOUT_S


def failure(exc: BaseException, timeout: float) -> Outcome:
    """A network error as an outcome: a timeout or a connection that failed is worth
    another try; anything else (a malformed URL, a bug) is not."""
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        reason = exc.reason
        if isinstance(reason, (TimeoutError, socket.timeout)):
            return Outcome(ok=False, detail=f"timed out after {timeout:g} s")
        return Outcome(ok=False, detail=f"cannot connect: {reason}"[:300])
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return Outcome(ok=False, detail=f"timed out after {timeout:g} s")
    if isinstance(exc, OSError):  # reset, refused mid-way, DNS
        return Outcome(ok=False, detail=f"{type(exc).__name__}: {exc}"[:300])
    return Outcome(ok=False, detail=f"{type(exc).__name__}: {exc}"[:300], retryable=False)


def post(url: str, body: bytes, headers: Mapping[str, str]) -> Answer | Outcome:
    """POST ``body`` once, within ``ALERT_CHANNEL_TIMEOUT_S``: the answer (any status), or the
    failed Outcome of a network error. Never raises."""
    timeout = timeout_s()
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        return Outcome(ok=False, detail=f"not an http(s) URL: {masked(url)}", retryable=False)
    try:
        request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")  # noqa: S310
        with _OPENER.open(request, timeout=timeout) as reply:
            return Answer(reply.status, reply.read(MAX_REPLY_BYTES))
    except urllib.error.HTTPError as error:
        try:
            data = error.read(MAX_REPLY_BYTES) if error.fp else b""
        except OSError:
            data = b""
        return Answer(error.code, data)
    except Exception as exc:  # every failure is an outcome
        return failure(exc, timeout)


def status_outcome(answer: Answer) -> Outcome:
    """A plain HTTP receiver's verdict: 2xx delivered; 5xx, 408 and 429 worth a retry; any
    other status not (the URL or the credentials are wrong)."""
    if 200 <= answer.status < 300:
        return Outcome(ok=True, detail=f"HTTP {answer.status}")
    retryable = answer.status >= 500 or answer.status in RETRYABLE_STATUS
    return Outcome(
        ok=False, detail=f"HTTP {answer.status}: {answer.excerpt()}", retryable=retryable
    )


def errcode_outcome(answer: Answer, retryable_codes: frozenset[int]) -> Outcome:
    """A group robot's verdict: they answer HTTP 200 even when they refuse a message, with a
    non-zero ``errcode`` in the JSON body, so delivered is HTTP 200 *and* errcode 0."""
    if answer.status != 200:
        return status_outcome(answer)
    try:
        reply = json.loads(answer.body)
        code = int(reply["errcode"])
    except (ValueError, TypeError, KeyError):
        return Outcome(ok=False, detail=f"HTTP 200 without an errcode: {answer.excerpt()}")
    if code == 0:
        return Outcome(ok=True, detail="HTTP 200, errcode 0")
    said = str(reply.get("errmsg", ""))[:200]
    return Outcome(
        ok=False, detail=f"HTTP 200, errcode {code}: {said}", retryable=code in retryable_codes
    )


def post_json(url: str, payload: Mapping[str, Any]) -> Answer | Outcome:
    try:
        body = json.dumps(payload, ensure_ascii=False).encode()
    except (TypeError, ValueError) as exc:
        return Outcome(ok=False, detail=f"cannot encode the message: {exc}"[:300], retryable=False)
    return post(url, body, JSON_HEADERS)


def masked(url: str) -> str:
    """A webhook URL as logs and the admin show it: no user or password, each query value
    cut to two characters ("https://oapi.dingtalk.com/robot/send?access_token=ab…")."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port:
        host = f"{host}:{parts.port}"
    query = "&".join(
        f"{key}={value[:2]}…" if value else key
        for key, _, value in (pair.partition("=") for pair in parts.query.split("&") if pair)
    )
    if parts.netloc:
        head = f"{parts.scheme}://{host}{parts.path}"
    else:
        head = f"{parts.scheme}:{parts.path}" if parts.scheme else parts.path
    return f"{head}?{query}" if query else head
