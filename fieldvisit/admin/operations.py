"""The live operations dashboard in admin, for supervisors (and superusers).

``/admin/operations/`` renders the board (``fieldvisit.operations.board``) server-side, so
it works without JavaScript (it then reloads itself); with JavaScript it polls
``/admin/operations/feed/`` every few seconds and redraws the table in place.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from fieldvisit.operations import board, may_watch
from fieldvisit.texts import _


def dashboard_view(request: HttpRequest) -> HttpResponse:
    if not may_watch(request.user):
        raise PermissionDenied
    refresh_s = max(1, settings.OPERATIONS_REFRESH_S)
    context = {
        **admin.site.each_context(request),
        "title": _("Live operations"),
        "board": board(request.user, timezone.now()),
        "refresh_s": refresh_s,
        # Without JavaScript the page reloads itself, a little less often than it polls.
        "fallback_refresh_s": max(15, refresh_s * 3),
        "feed_url": reverse("fieldvisit-operations-feed"),
    }
    return TemplateResponse(request, "admin/fieldvisit/operations.html", context)


def feed_view(request: HttpRequest) -> JsonResponse:
    if not may_watch(request.user):
        raise PermissionDenied
    response = JsonResponse(board(request.user, timezone.now()))
    response["Cache-Control"] = "no-store"
    return response


def urls() -> list[Any]:
    """Mounted at ``admin/operations/`` (config/urls.py), behind the admin's login."""
    wrap = admin.site.admin_view
    return [
        path("", wrap(dashboard_view), name="fieldvisit-operations"),
        path("feed/", wrap(feed_view), name="fieldvisit-operations-feed"),
    ]
