"""Rate limits as the generic cell rate algorithm (GCRA): one number per limited key, changed
by one atomic step per request.

A limit of ``count`` requests per ``period`` seconds lets a burst of ``count`` through at
once, then one more every ``period / count`` seconds. What is kept per key is the
"theoretical arrival time" (TAT): when the key's allowance would be back to whole. A
request is let through if the TAT is at most ``period - period / count`` ahead of now, and
moves it on by ``period / count``; a refused one changes nothing and is told how long to wait.

DRF's own throttles keep the time of every request in the window and read and write that list
through the cache on every request (two round trips to Redis per limit, the list growing with
the rate, and two workers' requests at the same moment can each miss the other's). Here, with
Redis, each limit is one script run where Redis runs every command (one round trip, atomic);
with another cache (development, tests), a read and a write under a lock of this process.
"""

from __future__ import annotations

import functools
import math
import threading
from typing import Any

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.redis import RedisCache


def gcra(tat: float | None, now: float, count: int, period: float) -> tuple[float, float]:
    """One request against a limit of ``count`` per ``period`` seconds whose arrival time is
    ``tat`` (None: none kept): (seconds to wait, 0 if let through; the arrival time after)."""
    interval = period / count
    tat = now if tat is None or tat < now else tat
    wait = tat + interval - period - now
    if wait > 0:
        return wait, tat
    return 0.0, tat + interval


# The same step in Redis (numbers as text: a Lua number returned to Redis loses its fraction).
_SCRIPT = b"""
local now, interval, period = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local wait = tat + interval - period - now
if wait > 0 then return tostring(wait) end
tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.6f', tat), 'PX', math.ceil((tat - now) * 1000))
return '0'
"""
_lock = threading.Lock()


def take(key: str, count: int, period: float, now: float, cache: Any = None) -> float:
    """Count one request for ``key`` in ``cache`` (the default cache) if its limit lets it
    through: 0; else the seconds to wait (nothing counted)."""
    cache = cache or caches[DEFAULT_CACHE_ALIAS]
    if isinstance(cache, RedisCache):
        return _take_in_redis(cache, key, count, period, now)
    with _lock:
        wait, tat = gcra(cache.get(key), now, count, period)
        if not wait:
            cache.set(key, tat, math.ceil(tat - now))
    return wait


def _take_in_redis(cache: Any, key: str, count: int, period: float, now: float) -> float:
    name = cache.make_and_validate_key(key)
    client = cache._cache.get_client(name, write=True)
    args = [repr(now), repr(period / count), repr(period)]
    return float(_script()([name], args, client=client))


@functools.cache
def _script() -> Any:
    """The script, sent once per Redis server (then run by its SHA-1)."""
    from redis.commands.core import Script

    return Script(None, _SCRIPT)  # type: ignore[arg-type]
