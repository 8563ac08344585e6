"""The admin sign-in goes through the same failed sign-in guard as the API's
(fieldvisit.sign_in), and neither sign-in answers 500 when the cache that counts the
failures (Redis) is down: sign-in is refused with 503 while the rest of the API and of admin
goes on without its rate limits (README, "Failed sign-ins")."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests import factories
from tests.helpers import assert_problem

ADMIN_LOGIN_URL = "/admin/login/?next=/admin/"
TOKEN_URL = "/api/v1/auth/token/"
ME_URL = "/api/v1/me/"


def admin_sign_in(browser: Client, username: str, password: str, **extra: Any) -> Any:
    return browser.post(ADMIN_LOGIN_URL, {"username": username, "password": password}, **extra)


def api_sign_in(username: str, password: str = factories.PASSWORD, **extra: Any) -> Any:
    body = {"username": username, "password": password, "device_id": "d1", "platform": "android"}
    return APIClient().post(TOKEN_URL, body, format="json", **extra)


def signed_in(browser: Client) -> bool:
    return browser.get("/admin/").status_code == 200


# --- the admin sign-in is guarded --------------------------------------------------------


def test_thirty_wrong_admin_passwords_then_the_right_one_is_refused(world: Any) -> None:
    browser = Client()
    answers = [admin_sign_in(browser, "supervisor", f"guess-{n}").status_code for n in range(30)]

    right = admin_sign_in(browser, "supervisor", factories.PASSWORD)

    assert answers[:5] == [200] * 5  # the form again: wrong username or password
    assert set(answers[5:]) == {429}
    assert right.status_code == 429
    assert int(right["Retry-After"]) > 0
    assert "Too many failed sign-ins" in right.content.decode()
    assert 'name="password"' in right.content.decode()  # the admin's own styled form
    assert "sessionid" not in right.cookies
    assert not signed_in(browser)


def test_the_admin_lock_ends_when_the_window_passes(world: Any, settings: Any) -> None:
    settings.LOGIN_FAILURE_WINDOW_S = 1
    browser = Client()
    for n in range(settings.LOGIN_FAILURE_LIMIT):
        admin_sign_in(browser, "supervisor", f"guess-{n}")
    assert admin_sign_in(browser, "supervisor", factories.PASSWORD).status_code == 429

    time.sleep(1.1)

    assert admin_sign_in(browser, "supervisor", factories.PASSWORD).status_code == 302
    assert signed_in(browser)


def test_admin_and_api_failures_count_together(world: Any, settings: Any) -> None:
    """One guard: guesses at the admin form and at the API token count against one limit."""
    for n in range(settings.LOGIN_FAILURE_LIMIT - 2):
        admin_sign_in(Client(), "supervisor", f"guess-{n}")
    for n in range(2):
        assert_problem(api_sign_in("supervisor", f"guess-{n}"), 401, "invalid_credentials")

    assert_problem(api_sign_in("supervisor"), 429, "too_many_login_attempts")
    assert admin_sign_in(Client(), "supervisor", factories.PASSWORD).status_code == 429


def test_one_admins_failures_leave_a_colleague_at_the_same_address_alone(
    world: Any, settings: Any
) -> None:
    for n in range(settings.LOGIN_FAILURE_LIMIT + 3):
        admin_sign_in(Client(), "supervisor", f"guess-{n}")

    browser = Client()
    assert admin_sign_in(browser, "planner", factories.PASSWORD).status_code == 302
    assert signed_in(browser)


def test_a_right_admin_sign_in_clears_that_names_count(world: Any, settings: Any) -> None:
    for n in range(settings.LOGIN_FAILURE_LIMIT - 1):
        admin_sign_in(Client(), "supervisor", f"guess-{n}")
    assert admin_sign_in(Client(), "supervisor", factories.PASSWORD).status_code == 302

    for n in range(settings.LOGIN_FAILURE_LIMIT - 1):
        assert admin_sign_in(Client(), "supervisor", f"again-{n}").status_code == 200
    assert admin_sign_in(Client(), "supervisor", factories.PASSWORD).status_code == 302


# --- parallel guesses: the limit is reserved before a password is checked -------------------


class CountingBackend:
    """An authentication backend that counts the passwords it is asked to check and takes a
    while over each, like a real password hash, so parallel sign-ins overlap."""

    checked = 0
    lock = threading.Lock()

    def authenticate(self, request: Any, username: Any = None, password: Any = None) -> None:
        with CountingBackend.lock:
            CountingBackend.checked += 1
        time.sleep(0.2)
        return None  # a wrong password

    def get_user(self, user_id: Any) -> None:
        return None


@pytest.fixture
def counting_backend(settings: Any) -> type[CountingBackend]:
    settings.AUTHENTICATION_BACKENDS = [f"{__name__}.CountingBackend"]
    CountingBackend.checked = 0
    return CountingBackend


def in_parallel(attempt: Any, count: int) -> list[int]:
    """Run ``attempt()`` in ``count`` threads released together; their status codes."""
    start = threading.Barrier(count)
    statuses: list[int] = []

    def worker() -> None:
        start.wait()
        statuses.append(attempt().status_code)

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return statuses


@pytest.mark.parametrize("door", ["api", "admin"])
def test_parallel_wrong_passwords_check_no_more_than_the_limit(
    world: Any, settings: Any, counting_backend: type[CountingBackend], door: str
) -> None:
    """30 wrong passwords for one name from one address, sent at once: the guard must not
    check them all and count them afterwards; at most the limit of passwords is checked."""
    settings.LOGIN_USERNAME_FAILURE_LIMIT = settings.LOGIN_FAILURE_LIMIT + 1
    if door == "api":

        def attempt() -> Any:
            return api_sign_in("supervisor", "guess", REMOTE_ADDR="203.0.113.9")

    else:

        def attempt() -> Any:
            return admin_sign_in(Client(), "supervisor", "guess", REMOTE_ADDR="203.0.113.9")

    statuses = in_parallel(attempt, 30)

    assert len(statuses) == 30
    assert counting_backend.checked <= settings.LOGIN_FAILURE_LIMIT
    assert statuses.count(429) >= 30 - settings.LOGIN_FAILURE_LIMIT
    # The refused attempts gave their places back: the username-wide count holds only the
    # passwords checked, so one more guess from elsewhere is still checked.
    checked = counting_backend.checked
    assert api_sign_in("supervisor", "guess", REMOTE_ADDR="198.51.100.7").status_code == 401
    assert counting_backend.checked == checked + 1


def test_parallel_guesses_from_many_addresses_stop_at_the_username_limit(
    world: Any, settings: Any, counting_backend: type[CountingBackend]
) -> None:
    settings.LOGIN_USERNAME_FAILURE_LIMIT = 8
    addresses = iter(f"198.51.100.{n}" for n in range(30))
    lock = threading.Lock()

    def attempt() -> Any:
        with lock:
            address = next(addresses)
        return api_sign_in("supervisor", "guess", REMOTE_ADDR=address)

    statuses = in_parallel(attempt, 30)

    assert counting_backend.checked <= 8
    assert statuses.count(429) >= 22


def test_parallel_spraying_from_one_address_stops_at_the_address_limit(
    world: Any, settings: Any, counting_backend: type[CountingBackend]
) -> None:
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 8
    names = iter(f"name_{n}" for n in range(30))
    lock = threading.Lock()

    def attempt() -> Any:
        with lock:
            name = next(names)
        return api_sign_in(name, "spray", REMOTE_ADDR="203.0.113.9")

    statuses = in_parallel(attempt, 30)

    assert counting_backend.checked <= 8
    assert statuses.count(429) >= 22


# --- Retry-After: the time left in the window --------------------------------------------


def test_retry_after_is_the_time_left_not_the_whole_window(world: Any, settings: Any) -> None:
    settings.LOGIN_FAILURE_WINDOW_S = 6
    for n in range(settings.LOGIN_FAILURE_LIMIT):
        admin_sign_in(Client(), "supervisor", f"guess-{n}")
    first = int(api_sign_in("supervisor")["Retry-After"])
    assert 1 <= first <= 7  # the window, rounded up, and a second's margin

    time.sleep(2.2)

    api_refused = api_sign_in("supervisor")
    admin_refused = admin_sign_in(Client(), "supervisor", factories.PASSWORD)
    assert_problem(api_refused, 429, "too_many_login_attempts")
    assert admin_refused.status_code == 429
    # 2.2 s later, 2.2 s less to wait.
    assert 1 <= int(api_refused["Retry-After"]) <= first - 2
    assert 1 <= int(admin_refused["Retry-After"]) <= first - 2
    # Waiting that long is enough.
    time.sleep(int(api_refused["Retry-After"]))
    assert api_sign_in("supervisor").status_code == 201


# --- the cache is down -----------------------------------------------------------------------


def closed_port() -> int:
    """A local port nothing listens on: connecting to it is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def redis_down(settings: Any) -> None:
    """REDIS_URL names a Redis server that is not running."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
        }
    }


def cache_down_lines(caplog: Any) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "cache" in r.getMessage().lower()]


def test_api_sign_in_with_the_cache_down_is_a_503_not_a_500(
    world: Any, redis_down: None, caplog: Any
) -> None:
    caplog.set_level(logging.WARNING)

    response = api_sign_in("agent_a")

    body = assert_problem(response, 503, "sign_in_unavailable")
    assert body["detail"]
    assert int(response["Retry-After"]) > 0
    assert len(cache_down_lines(caplog)) == 1
    assert_problem(api_sign_in("agent_a", "guess"), 503, "sign_in_unavailable")


def test_the_rest_of_the_api_goes_on_unthrottled_with_the_cache_down(
    world: Any, redis_down: None, caplog: Any
) -> None:
    phone = world.client(world.agent_a)
    caplog.set_level(logging.WARNING)

    assert phone.get(ME_URL).status_code == 200
    assert phone.post("/api/v1/checkins/", {}, format="json").status_code == 422
    assert APIClient().get("/api/v1/schema/").status_code == 200

    assert len(cache_down_lines(caplog)) == 3  # one line per request, not per throttle


def test_admin_sign_in_with_the_cache_down_is_refused_with_a_503_page(
    world: Any, redis_down: None, caplog: Any
) -> None:
    caplog.set_level(logging.WARNING)
    browser = Client()

    response = admin_sign_in(browser, "supervisor", factories.PASSWORD)

    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    assert "Sign-in is briefly unavailable" in response.content.decode()
    assert "sessionid" not in response.cookies
    assert len(cache_down_lines(caplog)) == 1
    assert browser.get("/admin/").status_code == 302  # still signed out


def test_admin_pages_work_with_the_cache_down(world: Any, redis_down: None) -> None:
    browser = Client()
    browser.force_login(world.supervisor)

    assert browser.get("/admin/").status_code == 200
    assert browser.get("/admin/login/").status_code in (200, 302)


def test_a_cache_that_raises_anything_redis_raises_is_handled(
    world: Any, monkeypatch: Any, caplog: Any
) -> None:
    """Not only a refused connection: a timeout or a server error from the cache too."""
    import redis
    from django.core.cache.backends.locmem import LocMemCache

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise redis.exceptions.TimeoutError("Timeout reading from socket")

    for method in ("get", "get_many", "set", "add", "incr", "delete", "set_many"):
        monkeypatch.setattr(LocMemCache, method, broken)
    caplog.set_level(logging.WARNING)
    phone = world.client(world.agent_a)

    assert_problem(api_sign_in("agent_a"), 503, "sign_in_unavailable")
    assert admin_sign_in(Client(), "supervisor", factories.PASSWORD).status_code == 503
    assert phone.get(ME_URL).status_code == 200
    assert len(cache_down_lines(caplog)) == 3


PRINT_CACHES = """
import json, django
django.setup()
from django.conf import settings
print(json.dumps(settings.CACHES))
"""


def test_a_redis_that_hangs_costs_a_request_a_moment_not_seconds(
    world: Any, settings: Any, tmp_path: Any, caplog: Any
) -> None:
    """A Redis that accepts connections and never answers: the cache settings built from
    REDIS_URL time out quickly, and one request meets the timeout once, not once per throttle."""
    from tests.security.test_production_settings import base_env, run

    (tmp_path / "state").mkdir()
    phone = world.client(world.agent_a)
    assert phone.get(ME_URL).status_code == 200  # imports and URLs loaded: time only Redis
    assert api_sign_in("agent_b").status_code == 201
    caplog.set_level(logging.WARNING)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        port = silent.getsockname()[1]
        env = base_env(tmp_path, REDIS_URL=f"redis://127.0.0.1:{port}/0")
        completed = run(env, "-c", PRINT_CACHES)
        assert completed.returncode == 0, completed.stderr
        settings.CACHES = json.loads(completed.stdout.strip().splitlines()[-1])

        started = time.monotonic()
        sign_in = api_sign_in("agent_a")
        sign_in_s = time.monotonic() - started
        started = time.monotonic()
        me = phone.get(ME_URL)
        me_s = time.monotonic() - started

    assert_problem(sign_in, 503, "sign_in_unavailable")
    assert me.status_code == 200
    assert sign_in_s < 1.5, (sign_in_s, me_s)
    assert me_s < 1.5, me_s
    assert len(cache_down_lines(caplog)) == 2


def test_the_guard_counts_in_a_real_redis(world: Any, settings: Any, real_redis: Any) -> None:
    """Production counts in Redis (add, incr keeping the window, get_many, delete)."""
    server, prefix = real_redis
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        api_sign_in("agent_a", "guess", REMOTE_ADDR="203.0.113.9")
    refused = api_sign_in("agent_a", REMOTE_ADDR="203.0.113.9")
    assert_problem(refused, 429, "too_many_login_attempts")
    assert int(refused["Retry-After"]) > settings.LOGIN_FAILURE_WINDOW_S - 5
    assert api_sign_in("agent_b", REMOTE_ADDR="203.0.113.9").status_code == 201
    assert api_sign_in("agent_a", REMOTE_ADDR="198.51.100.7").status_code == 201
    ttls = [server.ttl(key) for key in server.keys(f"{prefix}:*login-fail*")]
    assert ttls and all(0 < ttl <= settings.LOGIN_FAILURE_WINDOW_S for ttl in ttls)


def test_parallel_wrong_passwords_in_a_real_redis_check_no_more_than_the_limit(
    world: Any, settings: Any, real_redis: Any, counting_backend: type[CountingBackend]
) -> None:
    server, prefix = real_redis

    statuses = in_parallel(
        lambda: api_sign_in("supervisor", "guess", REMOTE_ADDR="203.0.113.9"), 30
    )

    assert counting_backend.checked == settings.LOGIN_FAILURE_LIMIT
    assert statuses.count(429) == 30 - settings.LOGIN_FAILURE_LIMIT
    ttls = [server.ttl(key) for key in server.keys(f"{prefix}:*login-fail*")]
    assert ttls and all(0 < ttl <= settings.LOGIN_FAILURE_WINDOW_S for ttl in ttls)
