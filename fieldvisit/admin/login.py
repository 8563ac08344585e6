"""The admin sign-in form: the password is checked through the same failed sign-in guard as
the API's token (fieldvisit.sign_in), so guesses at either count against one limit."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError

from fieldvisit import sign_in
from fieldvisit.texts import _


class GuardedAuthenticationForm(AdminAuthenticationForm):
    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "too_many_login_attempts": _(
            "Too many failed sign-ins for this account from here; wait a few minutes and try again."
        ),
        "sign_in_unavailable": _("Sign-in is briefly unavailable; retry in a minute."),
    }

    #: Seconds to wait when the sign-in was refused (the site answers 429 or 503 with it).
    retry_after: int | None = None

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is not None and password:
            try:
                self.user_cache = sign_in.authenticate(self.request, username, password)
            except (sign_in.Blocked, sign_in.Unavailable) as refused:
                self.retry_after = refused.retry_after
                code = (
                    "too_many_login_attempts"
                    if isinstance(refused, sign_in.Blocked)
                    else "sign_in_unavailable"
                )
                raise ValidationError(self.error_messages[code], code=code) from None
            if self.user_cache is None:
                raise self.get_invalid_login_error()
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data
