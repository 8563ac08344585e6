"""API rate limits: a generous budget per user and per client address, a tighter one for
writes per device token and for sign-in attempts per address.

The rates live in ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` (environment ``THROTTLE_*``);
a request over a limit gets ``429 throttled`` with ``Retry-After``
(fieldvisit.api.errors). DRF copies the rates into its throttle classes when they are
imported; these classes read them on every request, so a changed setting applies at once.
Counts are kept in the default cache: Redis in production, so every worker shares them.
There a limit costs one round trip, DRF's rule run as one script (fieldvisit.api.sliding_log),
instead of DRF's read then write, which let two workers reading the same count both allow. In
any other cache (locmem, per process: development and tests) DRF counts as it always has.
When that cache cannot be reached, the limits fail open: the request goes on uncounted and one
warning is logged for it. They protect capacity, and a Redis outage must not stop evidence
from arriving; the failed sign-in guard, which bounds password guessing, fails closed instead
(fieldvisit.sign_in; both in fieldvisit.cache_outage).
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.redis import RedisCache
from django.utils.connection import ConnectionProxy
from rest_framework.permissions import SAFE_METHODS
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

from fieldvisit.api import sliding_log
from fieldvisit.cache_outage import CACHE_ERRORS, cache_was_down, log_cache_down


def redis_backend(cache: Any) -> RedisCache | None:
    """The Redis cache behind ``cache`` (DRF's is the proxy to the default cache), if it is one."""
    if isinstance(cache, ConnectionProxy):
        cache = cache._connections[cache._alias]
    return cache if isinstance(cache, RedisCache) else None


class CurrentRates:
    """Read the rate of ``scope`` from the settings as they are now; count in one round trip
    in Redis; let requests through uncounted while the cache is down."""

    scope: str
    # For SimpleRateThrottle's attributes, which this mixin goes with.
    cache: Any
    rate: str | None
    num_requests: int
    duration: int
    key: str | None
    now: float
    log: sliding_log.Verdict | None = None  # what the script answered (Redis only)

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request: Any, view: Any) -> bool:
        if cache_was_down(request):
            return True
        try:
            return self.count_request(request, view)
        except CACHE_ERRORS as exc:
            log_cache_down(request, exc)
            return True

    def count_request(self, request: Any, view: Any) -> bool:
        """DRF's SimpleRateThrottle.allow_request, in one script when the cache is Redis."""
        backend = redis_backend(self.cache)
        if backend is None:
            return super().allow_request(request, view)  # type: ignore[misc]
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)  # type: ignore[attr-defined]
        if self.key is None:
            return True
        self.now = self.timer()  # type: ignore[attr-defined]
        log_key = backend.make_and_validate_key(self.key + sliding_log.KEY_SUFFIX)
        # redis-py's client from Django's RedisCacheClient: the first server, as for a write.
        client = backend._cache.get_client(log_key, write=True)
        self.log = sliding_log.take(client, log_key, self.now, self.duration, self.num_requests)
        return self.log.allowed

    def wait(self) -> float | None:
        if self.log is None:  # counted by DRF
            return super().wait()  # type: ignore[misc]
        return sliding_log.seconds_to_wait(
            self.duration, self.num_requests, self.now, self.log.count, self.log.oldest
        )


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
