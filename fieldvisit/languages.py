"""The language a person reads: their own choice first, then their browser's.

``LocaleMiddleware`` picks the browser's language (``Accept-Language``, else
``LANGUAGE_CODE``). A person who chose a language (``Preferences.language``, set from the
admin's "Language" link or on their user page) gets it everywhere: on admin pages (kept in the
session at sign-in, so no page pays a query for it), in API answers (read with the device token,
``fieldvisit.api.authentication``) and in the evidence bundles they download.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

SESSION_KEY = "fieldvisit_language"


def supported(code: str | None) -> str:
    """``code`` if it is one of ``LANGUAGES`` (``zh-hans``, ``en``; ``zh-CN`` → ``zh-hans``),
    else empty."""
    if not code:
        return ""
    try:
        return translation.get_supported_language_variant(code.strip().lower())
    except LookupError:
        return ""


def language_of(user: Any) -> str:
    """The language ``user`` chose, or empty when they left it to the browser."""
    from fieldvisit.models import Preferences

    if user is None or not getattr(user, "is_authenticated", False):
        return ""
    try:
        return user.preferences.language
    except Preferences.DoesNotExist:
        return ""


def speaking_to(user: Any) -> translation.override:
    """``with speaking_to(user):`` words written to ``user`` alone (an alert message, a test
    message) are in their own language, else the deployment's."""
    return translation.override(language_of(user) or settings.LANGUAGE_CODE)


def use(request: HttpRequest, language: str) -> None:
    """Speak ``language`` for the rest of this request (empty: leave the browser's)."""
    if language:
        translation.activate(language)
        request.LANGUAGE_CODE = language


def remember_language(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    """``user_logged_in``: keep the user's language in their session."""
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_KEY] = language_of(user)


class LanguageMiddleware:
    """After ``AuthenticationMiddleware``: the signed-in person's own language, if they chose
    one, over the browser's."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        if session is not None:
            use(request, supported(session.get(SESSION_KEY)))
        return self.get_response(request)


@require_POST
@login_required
def choose(request: HttpRequest) -> HttpResponse:
    """``POST /account/language/`` (``language``: ``zh-hans``, ``en``, or empty for the
    browser's): kept on the person's preferences and in their session, then back to ``next``."""
    from fieldvisit.models import Preferences

    language = supported(request.POST.get("language"))
    Preferences.objects.update_or_create(user=request.user, defaults={"language": language})
    request.session[SESSION_KEY] = language
    target = request.POST.get("next") or "/admin/"
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "/admin/"
    response = HttpResponseRedirect(target)
    # Signed out later, the browser keeps speaking it (LocaleMiddleware reads this cookie).
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language or "",
        max_age=None if language else 0,
        samesite="Lax",
        secure=request.is_secure(),
        httponly=True,
    )
    return response


def urls() -> list[Any]:
    return [path("language/", choose, name="choose-language")]
