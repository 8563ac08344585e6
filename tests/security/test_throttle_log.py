"""The rate limits in Redis count with one script (fieldvisit.api.sliding_log) and must answer
exactly as DRF's SimpleRateThrottle does for the same requests at the same times: allowed or
refused, and the same ``wait()`` (Retry-After). DRF itself, counting in a local memory cache,
is the reference each test compares with or whose answer it states."""

from __future__ import annotations

import logging
import random
import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest
import time_machine
from django.core.cache.backends.locmem import LocMemCache
from django.test import RequestFactory
from redis.exceptions import NoScriptError
from rest_framework.throttling import SimpleRateThrottle

from fieldvisit.api import sliding_log
from fieldvisit.api.throttling import CurrentRates, LoginThrottle
from tests.helpers import assert_problem

# A time of the kind time.time() gives today: 10 digits before the point, so a rounding to
# 14 significant digits (Lua's, for a number it hands to Redis) would show.
T0 = 1_796_000_000.123457


class OneKey(SimpleRateThrottle):
    """A limit on one key, its rate and clock set by the test."""

    def __init__(self, rate: str, now: float) -> None:
        self.rate = rate
        self.timer = lambda: now  # type: ignore[method-assign]
        super().__init__()

    def get_cache_key(self, request: Any, view: Any) -> str:
        return "throttle_probe_one"


class Probe(CurrentRates, OneKey):
    """The project's limit; counts in the default cache."""

    scope = "probe"


class DrfProbe(OneKey):
    """DRF's own throttle, untouched, counting in a local memory cache of its own."""

    cache = LocMemCache("drf-reference", {})


def request() -> Any:
    return SimpleNamespace()


def judge(throttle_class: type, rate: str, now: float) -> tuple[bool, float | None]:
    throttle = throttle_class(rate, now)
    allowed = throttle.allow_request(request(), None)
    return allowed, throttle.wait()


def both(rate: str, now: float) -> tuple[tuple[bool, float | None], tuple[bool, float | None]]:
    return judge(Probe, rate, now), judge(DrfProbe, rate, now)


@pytest.fixture(autouse=True)
def _fresh_reference() -> None:
    DrfProbe.cache.clear()


# --- wait(), the rule alone ---------------------------------------------------------------


@pytest.mark.parametrize("limit", [0, 1, 3, 5])
def test_the_wait_is_drfs_for_any_history(limit: int) -> None:
    rng = random.Random(limit)
    for _ in range(300):
        now = T0 + rng.uniform(0, 120)
        history = sorted((now - rng.uniform(0, 60) for _ in range(rng.randint(0, 8))), reverse=True)
        drf = DrfProbe(f"{limit}/min", now)
        drf.now, drf.history = now, history

        mine = sliding_log.seconds_to_wait(
            60, limit, now, len(history), history[-1] if history else None
        )

        assert mine == drf.wait(), (limit, now, history)


def test_an_overfull_log_waits_as_drf_says_none_and_a_zero_rate_a_whole_window() -> None:
    assert sliding_log.seconds_to_wait(60, 2, T0, 3, T0 - 10) is None  # the rate was lowered
    assert sliding_log.seconds_to_wait(60, 2, T0, 2, T0 - 10) == 50.0
    assert sliding_log.seconds_to_wait(60, 0, T0, 0, None) == 60.0
    assert sliding_log.seconds_to_wait(60, 0, T0, 1, T0 - 10) is None


# --- the script in a real Redis -----------------------------------------------------------


def test_exactly_the_limit_is_allowed_and_the_next_when_the_oldest_leaves(real_redis: Any) -> None:
    server, prefix = real_redis
    times = [T0, T0 + 1, T0 + 2]
    assert [judge(Probe, "3/min", t)[0] for t in times] == [True, True, True]

    refused, wait = judge(Probe, "3/min", T0 + 30)
    assert (refused, wait) == (False, 30.0)
    assert judge(Probe, "3/min", T0 + 59.999)[0] is False
    # Refused requests are not recorded: the log still holds the three allowed.
    (key,) = server.keys(f"{prefix}:*throttle_probe_one*")
    assert server.zcard(key) == 3

    # DRF lets an entry go when it is exactly one window old.
    assert judge(Probe, "3/min", T0 + 60)[0] is True
    assert judge(Probe, "3/min", T0 + 60.5)[0] is False  # the second still counts
    assert judge(Probe, "3/min", T0 + 61)[0] is True
    assert 0 < server.pttl(key) <= 60_000


def test_any_sequence_of_requests_is_judged_as_drf_judges_it(real_redis: Any) -> None:
    """Requests at random times, some at the same instant, some exactly a window after an
    earlier one, under rates that change on the way (an operator lowering a limit, a rate of
    0): every answer and every wait equal DRF's."""
    rng = random.Random(2026)
    rates = ["0/min", "1/min", "3/min", "5/min", "2/hour", "4/hour"]
    now = T0
    for sequence in range(6):  # each an hour and more after the one before: a fresh start
        now, rate = now + 10_000, rng.choice(rates)
        seen = [now]
        for _ in range(120):
            if rng.random() < 0.05:
                rate = rng.choice(rates)
            step = rng.random()
            if step < 0.15:
                pass  # the same instant
            elif step < 0.3:
                now = max(now, rng.choice(seen) + (60 if rate.endswith("min") else 3600))
            else:
                now += rng.expovariate(1 / 8)
            seen.append(now)

            mine, drf = both(rate, now)

            assert mine == drf, (sequence, rate, now - T0)


def test_many_workers_at_once_never_get_more_than_the_limit(real_redis: Any) -> None:
    """Threads, each with its own connection from the pool, hammer one key: DRF's read then
    write lets two that read the same history both through; the script never does."""
    threads, attempts, limit = 8, 60, 100
    start = threading.Barrier(threads)
    allowed: list[bool] = []

    def worker() -> None:
        start.wait()
        for _ in range(attempts):
            allowed.append(Probe(f"{limit}/hour", T0).allow_request(request(), None))

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=60)

    assert len(allowed) == threads * attempts
    assert allowed.count(True) == limit


def test_sign_in_attempts_are_held_to_exactly_300_a_minute(real_redis: Any) -> None:
    """The default sign-in limit, from one address, attempts every 1/8 s for three minutes:
    300 in the first burst, then one for each that leaves the window; no 60 s ever holds
    more than 300 (a rule with a burst allowance let 599 through)."""
    post = RequestFactory().post("/api/v1/auth/token/", REMOTE_ADDR="203.0.113.9")
    throttle = LoginThrottle()
    assert (throttle.num_requests, throttle.duration) == (300, 60)
    allowed_at: list[float] = []
    for tick in range(3 * 480):
        now = T0 + tick / 8  # exact: T0 is a multiple of 2**-22
        throttle = LoginThrottle()
        throttle.timer = lambda now=now: now  # type: ignore[method-assign]
        if throttle.allow_request(post, None):
            allowed_at.append(now)

    assert len([t for t in allowed_at if t < T0 + 60]) == 300
    assert allowed_at[300] == T0 + 60  # the first left at exactly one window
    assert max(sum(1 for u in allowed_at if t - 60 < u <= t) for t in allowed_at) == 300
    assert len(allowed_at) == 900


def test_a_rate_of_zero_refuses_everything_and_records_nothing(real_redis: Any) -> None:
    server, prefix = real_redis
    for t in (T0, T0 + 1, T0 + 61):
        assert judge(Probe, "0/min", t) == (False, 60.0)

    assert server.keys(f"{prefix}:*") == []


def zero_rate_write(world: Any, rates: Any) -> Any:
    rates(write="0/min")
    return world.client(world.agent_a).post("/api/v1/checkins/", {}, format="json")


def test_a_rate_of_zero_answers_429_with_drfs_retry_after(world: Any, rates: Any) -> None:
    refused = zero_rate_write(world, rates)  # DRF itself, in the local memory cache

    assert_problem(refused, 429, "throttled")
    assert refused["Retry-After"] == "61"  # 60 s / 1 available, and the handler's + 1


def test_a_rate_of_zero_in_redis_answers_the_same(world: Any, rates: Any, real_redis: Any) -> None:
    refused = zero_rate_write(world, rates)

    assert_problem(refused, 429, "throttled")
    assert refused["Retry-After"] == "61"


def test_retry_after_is_drfs_for_the_same_history(world: Any, rates: Any, real_redis: Any) -> None:
    """Three writes 10 s apart under 3/min, the fourth 10 s later: DRF waits for the first to
    leave, 60 - 30 = 30 s, and the answer says 31 (the handler rounds up)."""
    rates(write="3/min")
    phone = world.client(world.agent_a)
    with time_machine.travel(time.time(), tick=False) as traveller:
        for _ in range(3):
            assert phone.post("/api/v1/checkins/", {}, format="json").status_code == 422
            traveller.shift(10)
        refused = phone.post("/api/v1/checkins/", {}, format="json")

    assert_problem(refused, 429, "throttled")
    assert refused["Retry-After"] == "31"


def test_a_history_drf_left_under_its_own_key_is_no_error(real_redis: Any, caplog: Any) -> None:
    """During a rolling deploy a worker of the previous release keeps DRF's pickled list under
    DRF's key; the log lives under another key, so neither meets the other's type."""
    from django.core.cache import cache

    server, prefix = real_redis
    cache.set("throttle_probe_one", [T0, T0, T0], 60)
    caplog.set_level(logging.WARNING)

    assert judge(Probe, "2/min", T0 + 1)[0] is True

    assert caplog.records == []
    assert cache.get("throttle_probe_one") == [T0, T0, T0]
    (log,) = (k for k in server.keys(f"{prefix}:*") if k.endswith(b":log"))
    assert server.type(log) == b"zset"


def test_with_redis_down_the_limit_lets_requests_through_with_one_warning(
    settings: Any, caplog: Any
) -> None:
    from tests.security.test_sign_in_guard import closed_port

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
        }
    }
    caplog.set_level(logging.WARNING)
    one = request()

    answers = [Probe("1/min", T0).allow_request(one, None) for _ in range(3)]

    assert answers == [True, True, True]
    assert [r.name for r in caplog.records] == ["fieldvisit.cache_outage"]
    assert "unavailable" in caplog.records[0].getMessage()


def test_a_server_that_lost_the_script_is_sent_it_again(real_redis: Any) -> None:
    """After a Redis restart (or SCRIPT FLUSH) EVALSHA answers NOSCRIPT: the script goes
    with EVAL, once, and counts the same."""
    server, prefix = real_redis
    calls: list[str] = []

    class Forgetful:
        def evalsha(self, *args: Any) -> Any:
            calls.append("evalsha")
            raise NoScriptError("NOSCRIPT No matching script.")

        def eval(self, *args: Any) -> Any:
            calls.append("eval")
            return server.eval(*args)

    verdict = sliding_log.take(Forgetful(), f"{prefix}:lost", T0, 60, 1)

    assert calls == ["evalsha", "eval"]
    assert verdict == sliding_log.Verdict(allowed=True, count=1, oldest=T0)
    assert sliding_log.take(server, f"{prefix}:lost", T0 + 1, 60, 1) == sliding_log.Verdict(
        allowed=False, count=1, oldest=T0
    )


@pytest.mark.parametrize("rate", ["5", "x/min", "5/x", "5/", "/min"])
def test_a_bad_rate_fails_as_drf_fails(rate: str) -> None:
    with pytest.raises(Exception) as drf:
        DrfProbe(rate, T0)
    with pytest.raises(Exception) as mine:
        Probe(rate, T0)

    assert type(mine.value) is type(drf.value)
