"""API rate limits answer 429 ``throttled`` with Retry-After, per scope: every request per
user, writes per device token, sign-in attempts per address, unauthenticated requests per
address. The tests set tight rates; the defaults must leave a busy agent alone."""

from __future__ import annotations

import time
from typing import Any

import redis
from rest_framework.throttling import SimpleRateThrottle

from fieldvisit.api import sliding_log
from tests import factories
from tests.helpers import assert_problem

CHECKINS_URL = "/api/v1/checkins/"
ME_URL = "/api/v1/me/"
TOKEN_URL = "/api/v1/auth/token/"


def write(client: Any, **extra: Any) -> Any:
    """A write the view refuses (422): the throttle counts it all the same."""
    return client.post(CHECKINS_URL, {}, format="json", **extra)


def assert_throttled(response: Any, window_s: int) -> None:
    assert_problem(response, 429, "throttled")
    assert 0 < int(response["Retry-After"]) <= window_s + 1


def test_writes_are_limited_per_device_token(world: Any, rates: Any) -> None:
    rates(write="3/min")
    phone = world.client(world.agent_a, "phone-1")
    for _ in range(3):
        assert write(phone).status_code == 422

    assert_throttled(write(phone), 60)
    # Reads go on; so do the same agent's other phone and the partner's phone.
    assert phone.get(ME_URL).status_code == 200
    assert write(world.client(world.agent_a, "phone-2")).status_code == 422
    assert write(world.client(world.agent_b)).status_code == 422


def test_every_request_of_a_user_counts_against_the_user_rate(world: Any, rates: Any) -> None:
    rates(user="4/hour")
    for n in range(4):
        assert world.client(world.agent_a, f"phone-{n % 2}").get(ME_URL).status_code == 200

    assert_throttled(world.client(world.agent_a, "phone-3").get(ME_URL), 3600)
    assert world.client(world.agent_b).get(ME_URL).status_code == 200


def sign_in(client: Any, username: str, password: str = factories.PASSWORD, **extra: Any) -> Any:
    body = {"username": username, "password": password, "device_id": "d1", "platform": "android"}
    return client.post(TOKEN_URL, body, format="json", **extra)


def test_sign_in_attempts_are_limited_per_address(world: Any, anon: Any, rates: Any) -> None:
    rates(login="3/min")
    for username in ("agent_a", "agent_b", "outsider"):
        assert sign_in(anon, username).status_code == 201

    assert_throttled(sign_in(anon, "outsider_partner"), 60)
    assert sign_in(anon, "outsider_partner", REMOTE_ADDR="198.51.100.7").status_code == 201


def test_a_forged_forwarded_for_is_the_same_address(world: Any, anon: Any, rates: Any) -> None:
    rates(login="2/min")
    for n in range(2):
        sign_in(anon, "agent_a", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")

    assert_throttled(sign_in(anon, "agent_a", HTTP_X_FORWARDED_FOR="203.0.113.99"), 60)


def test_behind_our_proxy_the_forwarded_address_counts(
    world: Any, anon: Any, rates: Any, settings: Any
) -> None:
    rates(login="2/min")
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    for _ in range(2):
        sign_in(anon, "agent_a", HTTP_X_FORWARDED_FOR="203.0.113.5")

    assert_throttled(sign_in(anon, "agent_a", HTTP_X_FORWARDED_FOR="203.0.113.5"), 60)
    assert sign_in(anon, "agent_a", HTTP_X_FORWARDED_FOR="203.0.113.6").status_code == 201


def test_unauthenticated_requests_are_limited_per_address(db: Any, anon: Any, rates: Any) -> None:
    rates(anon="1/min")
    assert anon.get("/api/v1/schema/").status_code == 200

    assert_throttled(anon.get("/api/v1/schema/"), 60)


def test_throttles_count_in_the_shared_cache(world: Any, rates: Any, real_redis: Any) -> None:
    """With Redis (production), the counts live in Redis, where every worker process sees
    them: a request another process allowed is counted when the next one here is judged."""
    server, prefix = real_redis
    rates(write="3/min")
    phone = world.client(world.agent_a)
    assert write(phone).status_code == 422
    (key,) = server.keys(f"{prefix}:*throttle_write_token:*")
    # Another worker process (its own connection) allowed two writes of this phone just now.
    other_worker = redis.Redis.from_url("redis://127.0.0.1:6379/15")
    for _ in range(2):
        assert sliding_log.take(other_worker, key.decode(), time.time(), 60, 3).allowed

    assert_throttled(write(phone), 60)
    assert server.zcard(key) == 3


def test_the_default_rates_leave_a_busy_agent_and_an_office_alone(settings: Any) -> None:
    """Documented in README: a phone uploading audio in 1 MiB chunks while checking in and
    shooting photos sends a few writes a second at most; a whole office (200 agents) may
    sign in from one address in the same minute."""
    defaults = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]

    def per_minute(scope: str) -> float:
        count, seconds = SimpleRateThrottle.parse_rate(None, defaults[scope])  # type: ignore[arg-type]
        return count * 60 / seconds

    assert per_minute("write") >= 600  # 10 writes a second, per phone
    assert per_minute("user") >= 2 * per_minute("write")  # two phones writing flat out
    assert per_minute("login") >= 200
    assert per_minute("anon") >= 60


def test_a_burst_of_writes_at_the_default_rate_is_not_throttled(world: Any) -> None:
    phone = world.client(world.agent_a)

    answers = {write(phone).status_code for _ in range(150)}

    assert answers == {422}
