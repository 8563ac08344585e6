"""The admin site: Django's, with its sign-in behind the failed sign-in guard, and its lists
refusing filters on values the database cannot hold as wrong lookups.

Installed in place of ``django.contrib.admin`` (``INSTALLED_APPS``) as Django documents for
overriding the default admin site, so ``admin.site`` everywhere is this site. This module is
imported while the apps load: it must not import models or forms at module level.
"""

from __future__ import annotations

import functools
from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.db import DataError
from django.forms.forms import NON_FIELD_ERRORS
from django.http import HttpRequest, HttpResponse

REFUSALS = {"too_many_login_attempts": 429, "sign_in_unavailable": 503}


class Lenient:
    """Any local field can be filtered on from the query string, and Django checks a value
    only as far as parsing it: ``captured_at__gte=0001-01-01`` is midnight in Shanghai, the
    year before year 1 in UTC (OverflowError when the query is built), ``__year=99999`` and
    the date hierarchy's ``__year=9999`` (the year after) are no years (ValueError), and
    PostgreSQL's text holds no NUL character (``status__exact=%00``: DataError when the
    list is counted). Those are wrong lookups like any other: the list again without
    filters, ``?e=1``."""

    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> Any:
        try:
            return super().get_queryset(request, exclude_parameters)
        except (OverflowError, ValueError) as exc:
            raise IncorrectLookupParameters(exc) from exc

    def get_results(self, request: HttpRequest) -> None:
        try:
            super().get_results(request)
        except (OverflowError, ValueError, DataError) as exc:
            raise IncorrectLookupParameters(exc) from exc


LenientChangeList = type("LenientChangeList", (Lenient, ChangeList), {})


@functools.cache
def lenient(changelist: type[ChangeList]) -> type[ChangeList]:
    """``changelist`` refusing impossible filter values as wrong lookups (``Lenient``)."""
    if issubclass(changelist, Lenient):
        return changelist
    return type(f"Lenient{changelist.__name__}", (Lenient, changelist), {})


class LenientLookups:
    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        # Whatever list the admin asks for (its own, or Django's), made lenient.
        return lenient(super().get_changelist(request, **kwargs))  # type: ignore[misc]


class FieldVisitAdminSite(admin.AdminSite):
    def register(self, model_or_iterable: Any, admin_class: Any = None, **options: Any) -> None:
        """Every list of the site, Django's own (users, groups) too, refuses impossible filter
        values as wrong lookups (``Lenient``): each admin class is registered as a subclass
        with ``LenientLookups`` first (once: a class taken back from the registry already
        has it)."""
        base = admin_class or admin.ModelAdmin
        if not issubclass(base, LenientLookups):
            base = type(base.__name__, (LenientLookups, base), {"__module__": base.__module__})
        super().register(model_or_iterable, base, **options)

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
