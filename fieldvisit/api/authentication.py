"""``Authorization: Token <key>``: one token per user per device, revocable one by one."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from fieldvisit import languages
from fieldvisit.actions.auth import token_digest
from fieldvisit.models import DeviceToken
from fieldvisit.queries.tokens import token_by_digest
from fieldvisit.texts import _

# last_used_at is written at most this often, so reads stay reads.
TOUCH_EVERY = dt.timedelta(minutes=5)


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
        token = token_by_digest(token_digest(key))
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
        token.user._fieldvisit_roles = token.roles  # access.roles_of reads them there
        languages.use(request._request, languages.language_of(token.user))
        return token.user, token

    def authenticate_header(self, request: Any) -> str:
        return 'Token realm="api"'
