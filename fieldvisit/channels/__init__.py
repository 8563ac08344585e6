"""Alert delivery channels: pure transport (no models, no ledger, no database).

Each channel makes one attempt per ``send`` and says how it went (``Outcome``: ok, a short
detail, whether a retry can help); it never raises. The caller (``actions.deliveries``)
records every attempt, retries and escalates. E-mail goes through Django's mail framework
(``email``), SMS through an ``SmsGateway`` (``sms``), DingTalk and WeCom group robots
(``dingtalk``, ``wecom``) and the company's own signed webhook (``webhook``) over one
standard-library HTTP POST (``base.post``, timeout ``ALERT_CHANNEL_TIMEOUT_S``, no redirects
followed). ``registry`` builds them from settings and says which each severity uses.

Why not apprise: apprise 2.3.0 (PyPI, checked in a throwaway venv before these were written,
each plugin driven against a local receiver) does not fit.
- Its ``dingtalk://`` and ``wecombot://`` plugins hard-code the vendors' hosts
  (``https://oapi.dingtalk.com/robot/send?access_token={token}``,
  ``https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={key}``): they cannot be pointed at
  a local receiver (nor at a company relay) without patching the class.
- Both take any HTTP 200 as delivered and never read ``errcode``; DingTalk and WeCom answer
  a refused message (bad signature, keyword, token, rate limit) with HTTP 200 and a non-zero
  errcode, so a refused alert would be recorded as sent. (``json://`` did the same here: an
  HTTP 200 carrying errcode 310000 came back SUCCESS.)
- ``notify()`` gives back only a success/failure result; the HTTP status and the answer's
  body go to its debug log, so an attempt's outcome ("HTTP 500: ...", "errcode 130101")
  cannot be recorded, nor told retryable from not.
- ``json://`` posts its own envelope (``version``, ``title``, ``message``, ``type``) with no
  HMAC signature over the body, no timestamp and no ``Idempotency-Key``.
- DingTalk's signature there is right (ms timestamp, ``"<ts>\\n<secret>"``, HMAC-SHA256,
  base64, URL-encoded), and one attempt is the default (``retry`` 0), but the robot plugins
  throttle (``request_rate_per_sec`` 5.5: a second message through the same plugin sleeps
  until 5.5 s after the first), which a panic cannot wait for.
"""

from fieldvisit.channels.base import Channel, Message, Outcome, Recipient

__all__ = ["Channel", "Message", "Outcome", "Recipient"]
