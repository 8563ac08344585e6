"""Device tokens: issued at sign-in, one per user and device, revocable one by one."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone

from fieldvisit.ledger import store as ledger
from fieldvisit.models import DeviceToken


def token_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _revoke(token: DeviceToken, by: Any, reason: str) -> None:
    token.revoked_at = timezone.now()
    token.revoked_by = by
    token.revoke_reason = reason
    token.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
    ledger.append(
        "token.revoked",
        ledger.actor_for(by),
        f"user:{token.user_id}",
        {"device": token.device_id, "token_prefix": token.key_prefix, "reason": reason},
    )


def issue_token(
    user: Any, device_id: str, device_name: str, platform: str
) -> tuple[str, DeviceToken]:
    """A new token for this device; a previous token of the same device stops working."""
    key = secrets.token_urlsafe(32)
    with transaction.atomic(durable=True):
        for previous in DeviceToken.objects.select_for_update().filter(
            user=user, device_id=device_id, revoked_at__isnull=True
        ):
            _revoke(previous, user, "replaced by a new sign-in on the same device")
        token = DeviceToken.objects.create(
            user=user,
            device_id=device_id,
            device_name=device_name,
            platform=platform,
            key_digest=token_digest(key),
            key_prefix=key[:8],
        )
        ledger.append(
            "token.issued",
            ledger.actor_for(user, device_id),
            f"user:{user.pk}",
            {
                "device": device_id,
                "device_name": device_name,
                "platform": platform,
                "token_prefix": token.key_prefix,
            },
        )
    return key, token


def revoke_token(token_id: Any, by: Any, reason: str) -> DeviceToken:
    """Stop one device's token (sign-out, lost phone); the user's other devices go on."""
    with transaction.atomic(durable=True):
        token = DeviceToken.objects.select_for_update().get(pk=token_id)
        if token.revoked_at is None:
            _revoke(token, by, reason)
    return token
