"""Alert delivery channels: pure transport (no models, no ledger, no database)."""

from fieldvisit.channels.base import Channel, Message, Outcome, Recipient

__all__ = ["Channel", "Message", "Outcome", "Recipient"]
