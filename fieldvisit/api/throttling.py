"""API rate limits: a generous budget per user and per client address, a tighter one for
writes per device token and for sign-in attempts per address.

The rates live in ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` (environment ``THROTTLE_*``);
a request over a limit gets ``429 throttled`` with ``Retry-After``
(fieldvisit.api.errors). DRF copies the rates into its throttle classes when they are
imported; these classes read them on every request, so a changed setting applies at once.
Counts are kept in the default cache: Redis in production, so every worker shares them.
When that cache cannot be reached, the limits fail open: the request goes on uncounted and one
warning is logged for it. They protect capacity, and a Redis outage must not stop evidence
from arriving; the failed sign-in guard, which bounds password guessing, fails closed instead
(fieldvisit.sign_in; both in fieldvisit.cache_outage).
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

from fieldvisit.cache_outage import CACHE_ERRORS, cache_was_down, log_cache_down


class CurrentRates:
    """Read the rate of ``scope`` from the settings as they are now; let requests through
    uncounted while the cache is down."""

    scope: str

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request: Any, view: Any) -> bool:
        if cache_was_down(request):
            return True
        try:
            return super().allow_request(request, view)  # type: ignore[misc]
        except CACHE_ERRORS as exc:
            log_cache_down(request, exc)
            return True


class AnonThrottle(CurrentRates, AnonRateThrottle):
    """Unauthenticated requests per client address (the sign-in, the schema)."""


class UserThrottle(CurrentRates, UserRateThrottle):
    """Every request of one user, all devices together."""


class WriteThrottle(CurrentRates, SimpleRateThrottle):
    """Writes (POST, PATCH, PUT, DELETE) per device token: a phone stuck in a retry loop is
    stopped without touching its partner's phone or the reads of anyone."""

    scope = "write"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        if request.method in SAFE_METHODS or not request.user.is_authenticated:
            return None
        token = getattr(request.auth, "pk", None)
        ident = f"token:{token}" if token is not None else f"user:{request.user.pk}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class LoginThrottle(CurrentRates, SimpleRateThrottle):
    """Sign-in attempts per client address, failed or not (each one costs a password hash).
    Failed attempts have their own, much lower limit (fieldvisit.sign_in)."""

    scope = "login"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        if request.method != "POST":
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
