"""Shared by the security tests."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest


@pytest.fixture
def real_redis(request: Any, settings: Any) -> Any:
    """The default cache in a real Redis (database 15, keys under a prefix of this test)."""
    import redis

    server = redis.Redis.from_url("redis://127.0.0.1:6379/15")
    try:
        server.ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    test = re.sub(r"\W", "_", request.node.name)[:40]  # no glob characters in the prefix
    prefix = f"h-{test}-{time.monotonic_ns()}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/15",
            "KEY_PREFIX": prefix,
        }
    }
    yield server, prefix
    for stale in server.keys(f"{prefix}:*"):
        server.delete(stale)


@pytest.fixture
def rates(settings: Any) -> Any:
    """Set some scopes' rates; the others keep their defaults."""

    def set_rates(**scopes: str) -> None:
        framework = dict(settings.REST_FRAMEWORK)
        framework["DEFAULT_THROTTLE_RATES"] = {**framework["DEFAULT_THROTTLE_RATES"], **scopes}
        settings.REST_FRAMEWORK = framework

    return set_rates
