"""Alert delivery channels: pure transport (no models, no ledger, no database).

Each channel makes one attempt per ``send`` and says how it went (``Outcome``); the caller
(``actions.deliveries``) records every attempt and retries. E-mail goes through Django's mail
framework; SMS through an ``SmsGateway``; DingTalk and WeCom group robots and the company's
own signed webhook over HTTP (``robots``, ``webhook``). ``registry`` builds them from
settings and says which each severity uses.
"""

from fieldvisit.channels.base import Channel, Message, Outcome, Recipient

__all__ = ["Channel", "Message", "Outcome", "Recipient"]
