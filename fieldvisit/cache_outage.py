"""What to do when the shared cache (Redis) cannot be reached, for every part that counts in
it: the API rate limits (fieldvisit.api.throttling), which fail open, and the failed sign-in
guard (fieldvisit.sign_in), which fails closed. One warning line per request, however many of
them meet the outage, and a request that met it does not wait for it again."""

from __future__ import annotations

import logging
from typing import Any

from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# What the cache raises when Redis is unreachable, times out or fails (redis-py wraps socket
# errors in RedisError; OSError covers other backends' sockets).
CACHE_ERRORS = (RedisError, OSError)


def cache_was_down(request: Any) -> bool:
    """This request already found the cache down: do not wait for it again."""
    return getattr(getattr(request, "_request", request), "_cache_down", False)


def log_cache_down(request: Any, exc: Exception) -> None:
    """One warning per request, however many throttles and guards met the outage."""
    if cache_was_down(request):
        return
    getattr(request, "_request", request)._cache_down = True
    logger.warning(
        "throttle cache unavailable (%s: %s): rate limits are off and sign-in is refused "
        "until it is back",
        type(exc).__name__,
        exc,
    )
