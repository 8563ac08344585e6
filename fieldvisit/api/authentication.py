"""``Authorization: Token <key>``: one token per user per device, revocable one by one."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.models import Group, User
from django.db import connection
from django.db.models import IntegerField
from django.db.models.expressions import RawSQL
from django.utils import timezone
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from fieldvisit import languages
from fieldvisit.actions.auth import token_digest
from fieldvisit.choices import Role
from fieldvisit.models import DeviceToken
from fieldvisit.texts import _

# last_used_at is written at most this often, so reads stay reads.
TOUCH_EVERY = dt.timedelta(minutes=5)


def _roles_bitmask() -> RawSQL:
    """The user's roles, read with the token (``access.roles_of`` keeps them on the user):
    one bit per role, as a subquery (a request would otherwise spend a query on them)."""
    q = connection.ops.quote_name
    membership = User.groups.through
    cases = " ".join(f"WHEN %s THEN {1 << bit}" for bit in range(len(Role.values)))
    sql = (
        f"SELECT COALESCE(SUM(CASE g.{q('name')} {cases} END), 0) "
        f"FROM {q(Group._meta.db_table)} g JOIN {q(membership._meta.db_table)} ug "
        f"ON ug.{q('group_id')} = g.{q('id')} "
        f"WHERE ug.{q('user_id')} = {q(DeviceToken._meta.db_table)}.{q('user_id')}"
    )
    return RawSQL(sql, list(Role.values), output_field=IntegerField())  # noqa: S611


class DeviceTokenAuthentication(BaseAuthentication):
    keyword = b"token"

    def authenticate(self, request: Any) -> tuple[Any, DeviceToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise AuthenticationFailed(_("Malformed Authorization header."), code="invalid_token")
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed(_("Malformed token."), code="invalid_token") from None
        # The agent's profile and team come along: nearly every request needs them; so does
        # the language the person chose, if any (it goes before the phone's Accept-Language).
        token = (
            DeviceToken.objects.select_related("user__agent_profile__team", "user__preferences")
            .annotate(role_bits=_roles_bitmask())
            .filter(key_digest=token_digest(key))
            .first()
        )
        if token is None:
            raise AuthenticationFailed(_("Unknown token."), code="invalid_token")
        if token.revoked_at is not None:
            raise AuthenticationFailed(
                _("This device's token was revoked; sign in again."), code="token_revoked"
            )
        if not token.user.is_active:
            raise AuthenticationFailed(_("The account is disabled."), code="user_inactive")
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > TOUCH_EVERY:
            DeviceToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.user._fieldvisit_roles = sorted(
            role for bit, role in enumerate(Role.values) if token.role_bits & (1 << bit)
        )
        languages.use(request._request, languages.language_of(token.user))
        return token.user, token

    def authenticate_header(self, request: Any) -> str:
        return 'Token realm="api"'
