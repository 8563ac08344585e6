"""One HTTP POST with a timeout, its answer or what went wrong, never an exception."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from dataclasses import dataclass

from django.conf import settings

from fieldvisit.channels.base import Outcome

# Answers worth trying again: the receiver is busy, down or timed out.
RETRYABLE_STATUS = {408, 425, 429}


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes


def post(url: str, body: bytes, headers: dict[str, str]) -> Answer | Outcome:
    """POST ``body``; the answer (any status), or the failed Outcome of a network error."""
    timeout = settings.ALERT_CHANNEL_TIMEOUT_S
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:  # noqa: S310
            return Answer(reply.status, reply.read(64 * 1024))
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.read(64 * 1024) if error.fp else b"")
    except TimeoutError:
        return Outcome(ok=False, detail=f"timed out after {timeout:g} s")
    except urllib.error.URLError as error:
        reason = error.reason
        if isinstance(reason, (TimeoutError, socket.timeout)):
            return Outcome(ok=False, detail=f"timed out after {timeout:g} s")
        return Outcome(ok=False, detail=f"cannot connect: {reason}"[:300])
    except OSError as error:  # a reset connection, a refused one mid-way
        return Outcome(ok=False, detail=f"{type(error).__name__}: {error}"[:300])


def status_outcome(answer: Answer) -> Outcome:
    """A plain HTTP receiver's verdict: 2xx delivered; 5xx and 408/425/429 worth a retry;
    any other 4xx not (the URL or the credentials are wrong)."""
    text = answer.body[:200].decode("utf-8", "replace")
    if 200 <= answer.status < 300:
        return Outcome(ok=True, detail=f"HTTP {answer.status}")
    retryable = answer.status >= 500 or answer.status in RETRYABLE_STATUS
    return Outcome(ok=False, detail=f"HTTP {answer.status}: {text}", retryable=retryable)


def masked(url: str) -> str:
    """A webhook URL as logs and the admin show it: its secret token cut short."""
    head, _, query = url.partition("?")
    if not query:
        return head
    parts = []
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        parts.append(f"{key}={value[:4]}…" if value else key)
    return f"{head}?{'&'.join(parts)}"
