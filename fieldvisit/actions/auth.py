"""Device tokens: issued at sign-in, one per user and device, revocable one by one."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone

from fieldvisit.access import field_agents, oversight_scope
from fieldvisit.actions.common import require_perm, require_record_in_scope
from fieldvisit.ledger import store as ledger
from fieldvisit.models import AgentProfile, DeviceToken
from fieldvisit.texts import _, for_records


def token_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _revoke(token: DeviceToken, by: Any, reason: str) -> None:
    token.revoked_at = timezone.now()
    token.revoked_by = by
    reason = for_records(reason)
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
            _revoke(previous, user, _("replaced by a new sign-in on the same device"))
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
    """Stop one device's token (sign-out, lost phone); the user's other devices go on.

    Someone else's token is revoked only with the right to, by a supervisor of the owner's
    team (a field agent's: ``access.field_agents``); another team's token, or staff's, is
    absent (404).
    """
    with transaction.atomic(durable=True):
        token = DeviceToken.objects.select_for_update().get(pk=token_id)
        if token.user_id != by.pk:
            require_perm(by, "fieldvisit.revoke_devicetoken", _("revoke others' device tokens"))
            # Only a field agent's team makes their tokens a supervisor's: staff given a
            # profile (before enrolling was limited, or a staff role since) belong to none.
            team_id = (
                AgentProfile.objects.filter(field_agents("user"), user_id=token.user_id)
                .values_list("team_id", flat=True)
                .first()
            )
            require_record_in_scope(oversight_scope(by, ""), team_id, _("device token"))
        if token.revoked_at is None:
            _revoke(token, by, reason)
    return token
