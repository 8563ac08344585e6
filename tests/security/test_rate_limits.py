"""The rate limit's one step (``fieldvisit.rate_limits``): a burst of the whole rate, then one
request every period / rate; a refusal counts nothing and says how long to wait. In Redis
the same step runs as one script, and gives the same answers."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache

from fieldvisit.rate_limits import gcra, take


def run(steps: list[float], count: int, period: float) -> list[float]:
    """The waits answered to requests at these times (a refused one is not counted)."""
    tat, waits = None, []
    for now in steps:
        wait, tat = gcra(tat, now, count, period)
        waits.append(wait)
    return waits


def test_a_burst_of_the_whole_rate_then_one_every_interval() -> None:
    # 3 a minute: three at once, the fourth waits 20 s; at 20 s one more, at 39 s none yet.
    assert run([0, 0, 0, 0], 3, 60) == [0, 0, 0, 20]
    assert run([0, 0, 0, 20, 39], 3, 60) == [0, 0, 0, 0, 1]


def test_a_refused_request_counts_nothing() -> None:
    # Refused again and again at 10 s, the fourth still goes through at 20 s.
    assert run([0, 0, 0, 10, 10, 10, 20], 3, 60) == [0, 0, 0, 10, 10, 10, 0]


def test_an_idle_key_is_whole_again_after_the_period() -> None:
    assert run([0, 0, 0, 60, 60, 60, 60], 3, 60) == [0, 0, 0, 0, 0, 0, 20]


def test_one_an_hour_waits_the_hour() -> None:
    assert run([0, 1], 1, 3600) == [0, 3599]


def test_a_local_cache_counts_each_request_once_under_threads() -> None:
    cache = LocMemCache("rate-limits-test", {})
    let_through = []

    def ask() -> None:
        for _ in range(50):
            let_through.append(take("k", 100, 3600, 1000.0, cache=cache) == 0)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert let_through.count(True) == 100


def test_redis_gives_the_same_answers(real_redis: Any) -> None:
    server, prefix = real_redis
    redis_cache = RedisCache("redis://127.0.0.1:6379/15", {"KEY_PREFIX": prefix})
    steps = [0.0, 0.0, 0.0, 0.0, 10.5, 20.0, 20.0, 39.25, 100.0, 100.0]
    start = 1_700_000_000.0  # absolute times, as time.time() gives them
    answers = [take("k", 3, 60, start + step, cache=redis_cache) for step in steps]
    assert answers == pytest.approx(run([start + step for step in steps], 3, 60), abs=1e-5)
    # The key lives only as long as it holds anything back.
    assert 0 < server.pttl(f"{prefix}:1:k") <= 60_000
