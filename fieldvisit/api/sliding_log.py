"""DRF's throttle rule (SimpleRateThrottle) as one Redis round trip: a sliding log of the
requests a limit allowed, kept in a sorted set scored by the time each was allowed.

A request is allowed when fewer than ``limit`` requests were allowed in the last ``duration``
seconds, entries at or before ``now - duration`` having left, exactly as DRF prunes its
history; a refused request is not recorded. DRF reads the history with one command and writes
it back with another, so two workers that read the same history both allow; the script below
counts, prunes and records in one step, which Redis runs alone.

The times are the caller's clock (DRF's ``timer``), as in DRF: ``wait()`` is computed on the
clock that judged the request, and the tests move it (time-machine, a replaced ``timer``).
Redis's own clock (TIME in the script) would put every worker on one clock, but NTP keeps the
workers within milliseconds of each other, against periods of a second at the least. They go
as exact decimal strings: the cutoff is computed in Python as DRF computes it (Lua would round
a number it hands to Redis to 14 digits, a tenth of a millisecond on today's clock), and the
scores come back exact. Where the two can differ: a worker whose clock runs behind another's
records an entry older than the newest; DRF prunes its list from the oldest inserted and stops
at the first entry still in the window, the sorted set drops every entry out of it.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Any

from redis.exceptions import NoScriptError

# The log lives under DRF's key with this suffix: a worker of the previous release may still
# have a pickled history under DRF's own key, which a sorted set command would refuse.
KEY_SUFFIX = ":log"

# KEYS[1]: the log. ARGV: now, the cutoff (now - duration), the limit, a unique member, the
# duration in milliseconds. Returns {allowed (0/1), entries in the window before this request,
# the oldest of them afterwards as a string (nil when there is none)}. A refused request writes
# nothing, as in DRF, which prunes its history only when it stores an allowed request: pruning
# on a refusal too would forget entries that a longer period, set afterwards, still counts.
SCRIPT = """
local log = KEYS[1]
local live = '(' .. ARGV[2]
local count = redis.call('ZCOUNT', log, live, '+inf')
local allowed = 0
if count < tonumber(ARGV[3]) then
  redis.call('ZREMRANGEBYSCORE', log, '-inf', ARGV[2])
  redis.call('ZADD', log, ARGV[1], ARGV[4])
  redis.call('PEXPIRE', log, ARGV[5])
  allowed = 1
end
local oldest = redis.call('ZRANGEBYSCORE', log, live, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
return {allowed, count, oldest[2] or false}
"""
SCRIPT_SHA = hashlib.sha1(SCRIPT.encode(), usedforsecurity=False).hexdigest()  # its Redis name


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    count: int  # entries in the window, this request included when allowed (DRF's history)
    oldest: float | None  # the oldest of them, None when there are none


def take(client: Any, key: str, now: float, duration: int, limit: int) -> Verdict:
    """Allow and record one request under ``key`` or refuse it, in one round trip (two the
    first time a Redis server meets the script: EVALSHA, then EVAL, which also keeps it)."""
    args = (repr(now), repr(now - duration), limit, f"{now!r}:{os.urandom(8).hex()}")
    args += (duration * 1000,)
    try:
        allowed, count, oldest = client.evalsha(SCRIPT_SHA, 1, key, *args)
    except NoScriptError:
        allowed, count, oldest = client.eval(SCRIPT, 1, key, *args)
    return Verdict(
        allowed=bool(allowed),
        count=count + 1 if allowed else count,
        oldest=None if oldest is None else float(oldest),
    )


def seconds_to_wait(
    duration: int, limit: int, now: float, count: int, oldest: float | None
) -> float | None:
    """DRF's ``SimpleRateThrottle.wait()``: the rest of the oldest entry's window spread over
    the requests still available, plus one; None when the log holds more than the limit (the
    rate was lowered), as DRF answers."""
    remaining = duration if oldest is None else duration - (now - oldest)
    available = limit - count + 1
    if available <= 0:
        return None
    return remaining / float(available)
