"""Admin pages show times in the zone of the teams the user works with, named on every time
(``config/formats``): a supervisor in Shanghai reads Shanghai time, one overseeing a team in
Urumqi that team's. The zone is chosen once at sign-in and kept in the session, so no page
pays a query for it; API answers carry their own offsets and are not affected."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

SESSION_KEY = "fieldvisit_zone"


def zone_of(user: Any) -> str:
    """The zone of the first team the user supervises, manages the risk of, is on call for
    or works in; the site's zone otherwise."""
    from fieldvisit.models import Team

    teams = Team.objects.filter(
        Q(supervisor=user) | Q(risk_manager=user) | Q(oncall__user=user) | Q(agents__user=user)
    )
    return teams.order_by("name").values_list("timezone", flat=True).first() or settings.TIME_ZONE


def remember_zone(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    """``user_logged_in``: keep the user's zone in their session."""
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_KEY] = zone_of(user)


class ZoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        name = session.get(SESSION_KEY) if session is not None else None
        if name:
            try:
                timezone.activate(zoneinfo.ZoneInfo(name))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
