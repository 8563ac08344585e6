"""The admin site: Django's, with its sign-in behind the failed sign-in guard.

Installed in place of ``django.contrib.admin`` (``INSTALLED_APPS``) as Django documents for
overriding the default admin site, so ``admin.site`` everywhere is this site. This module is
imported while the apps load: it must not import models or forms at module level.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.forms.forms import NON_FIELD_ERRORS
from django.http import HttpRequest, HttpResponse

REFUSALS = {"too_many_login_attempts": 429, "sign_in_unavailable": 503}


class FieldVisitAdminSite(admin.AdminSite):
    @property
    def login_form(self) -> Any:  # type: ignore[override]
        # Load order: this module is imported with INSTALLED_APPS, before the auth models
        # that the form's module needs exist.
        from fieldvisit.admin.login import GuardedAuthenticationForm

        return GuardedAuthenticationForm

    def login(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        """A refused sign-in is the admin's own form with the reason, answered 429 (too many
        failures) or 503 (the counters are unreachable) with Retry-After."""
        response = super().login(request, extra_context)
        form = (getattr(response, "context_data", None) or {}).get("form")
        if form is not None and form.is_bound and form.errors:
            for code, status in REFUSALS.items():
                if form.has_error(NON_FIELD_ERRORS, code):
                    response.status_code = status
                    response["Retry-After"] = str(int(form.retry_after) + 1)
        return response


class FieldVisitAdminConfig(AdminConfig):
    default_site = "fieldvisit.admin_site.FieldVisitAdminSite"
