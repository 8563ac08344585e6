"""The failed sign-in guard: every password check, the API's token and the admin's form, goes
through :func:`authenticate` here (neither depends on the other: this module belongs to
neither the API nor the admin).

Failures are counted in the shared cache for one window (``LOGIN_FAILURE_WINDOW_S``, from the
first counted failure) along three keys, in the manner of django-axes' combination modes but
each with its own limit:

- a username at one client address (``LOGIN_FAILURE_LIMIT``, 5): the lock a guesser meets
  first, and the only one that stops a username where it signed in recently;
- a username at every address (``LOGIN_USERNAME_FAILURE_LIMIT``, 20): guessing spread over
  many addresses still stops;
- an address for every username (``LOGIN_ADDRESS_FAILURE_LIMIT``, 200): password spraying from
  one address stops, while an office of 200 agents behind one NAT, each mistyping once, does not.

A successful sign-in clears its username's count at its address and marks that pair as known
for ``LOGIN_KNOWN_ADDRESS_S``; the username-wide and address-wide locks do not apply to a known
pair. So nobody can lock an agent out of the office or phone the agent signs in from by
failing with the agent's name elsewhere, nor lock a whole office out by failing from inside it,
while each (username, address) pair keeps its own low limit. Successes clear nothing else: a
guesser who signs in with an account of their own does not reset the address's count.

Each attempt reserves its place before its password is checked: it increments the three
counts (``cache.add`` then ``cache.incr``, atomic in Redis and in the local-memory cache) and
is refused when a count it got is over its limit, so parallel guesses cannot all pass a check
made before any of them is counted. A refused attempt gives its reservations back (it checked
no password, so it is no failure); a successful one deletes its pair's count and gives back its
username-wide and address-wide reservations (only failures count, so an agent who signs in on
several phones is never locked out); a wrong password keeps all three. The start of each
window is kept beside its count, so ``Retry-After`` is the time left in the window.

When the cache cannot be reached, sign-in fails closed (:class:`Unavailable`, one log line): the
guard is what bounds password guessing, and devices and admin sessions already signed in keep
working, since tokens and sessions live in the database.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import time
from typing import Any

from django.conf import settings
from django.contrib import auth
from django.core.cache import cache
from django.http import HttpRequest
from rest_framework.throttling import BaseThrottle

from fieldvisit.cache_outage import CACHE_ERRORS, cache_was_down, log_cache_down

KINDS = ("pair", "user", "addr")


class Blocked(Exception):
    """Too many failed sign-ins for this username or address; ``retry_after`` in seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("too many failed sign-ins")
        self.retry_after = retry_after


class Unavailable(Exception):
    """The cache that counts the failures cannot be reached; sign-in is refused for now."""

    retry_after = 30


def client_address(request: HttpRequest) -> str:
    """The client's address as the API throttles see it (``NUM_PROXIES`` honoured); empty
    when the server passed none, so such requests share one count rather than none."""
    return BaseThrottle().get_ident(request) or ""


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def _keys(username: str, address: str) -> dict[str, str]:
    name = username.strip().lower()
    return {
        "pair": f"login-fail:pair:{_digest(name, address)}",
        "user": f"login-fail:user:{_digest(name)}",
        "addr": f"login-fail:addr:{_digest(address)}",
        "known": f"login-ok:pair:{_digest(name, address)}",
    }


def _start_key(key: str) -> str:
    return f"{key}:start"


def _reserve(key: str) -> int:
    """Count one more attempt under ``key``; the count this attempt got. A count of 1 starts
    a window: the key lives ``LOGIN_FAILURE_WINDOW_S`` from now and its start is kept."""
    window = settings.LOGIN_FAILURE_WINDOW_S
    for _ in range(3):
        if cache.add(key, 1, timeout=window):
            count = 1
        else:
            try:
                count = cache.incr(key)
            except ValueError:  # expired or cleared between add and incr: add again
                continue
            if count == 1:
                # Emptied by given-back reservations, or (Redis) gone between the backend's
                # existence check and INCR, which then made a key that never expires.
                cache.touch(key, window)
        if count == 1:
            cache.set(_start_key(key), time.time(), timeout=window)
        return count
    raise Unavailable  # the key vanished three times in a row: refuse rather than guess


def _give_back(key: str) -> None:
    """Undo one reservation under ``key``, if its count still exists."""
    try:
        count = cache.decr(key)
    except ValueError:  # expired, or cleared by a successful sign-in
        return
    if count < 0:  # (Redis) gone between the existence check and DECRBY
        cache.delete(key)


def _reserve_all(keys: dict[str, str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    try:
        for kind in KINDS:
            counts[kind] = _reserve(keys[kind])
    except BaseException:
        for kind in counts:
            with contextlib.suppress(CACHE_ERRORS):
                _give_back(keys[kind])
        raise
    return counts


def _time_left(keys: dict[str, str], kinds: list[str]) -> int:
    """Seconds until the last of these windows ends (the whole window if a start is lost)."""
    window = settings.LOGIN_FAILURE_WINDOW_S
    starts = cache.get_many([_start_key(keys[kind]) for kind in kinds])
    now = time.time()
    left = [
        float(starts[_start_key(keys[kind])]) + window - now
        if _start_key(keys[kind]) in starts
        else window
        for kind in kinds
    ]
    return max(1, min(window, math.ceil(max(left))))


def _admit(keys: dict[str, str]) -> None:
    """Reserve this attempt's place in every count, or raise :class:`Blocked`."""
    known = bool(cache.get(keys["known"]))
    counts = _reserve_all(keys)
    limits = {"pair": settings.LOGIN_FAILURE_LIMIT}
    if not known:
        limits["user"] = settings.LOGIN_USERNAME_FAILURE_LIMIT
        limits["addr"] = settings.LOGIN_ADDRESS_FAILURE_LIMIT
    over = [kind for kind, limit in limits.items() if counts[kind] > limit]
    if over:
        retry_after = _time_left(keys, over)
        for kind in KINDS:
            _give_back(keys[kind])
        raise Blocked(retry_after)


def _succeeded(keys: dict[str, str]) -> None:
    cache.delete(keys["pair"])
    _give_back(keys["user"])
    _give_back(keys["addr"])
    cache.set(keys["known"], 1, timeout=settings.LOGIN_KNOWN_ADDRESS_S)


def authenticate(request: HttpRequest, username: str, password: str) -> Any:
    """Django's ``authenticate`` behind the guard: the user, or None for wrong credentials.

    Raises :class:`Blocked` before any password is checked when a limit is reached, and
    :class:`Unavailable` when the cache is down.
    """
    if cache_was_down(request):  # a throttle of this request just waited for it
        raise Unavailable
    keys = _keys(username, client_address(request))
    try:
        _admit(keys)
    except CACHE_ERRORS as exc:
        log_cache_down(request, exc)
        raise Unavailable from exc
    user = auth.authenticate(request, username=username, password=password)
    if user is not None:
        try:
            _succeeded(keys)
        except CACHE_ERRORS as exc:
            log_cache_down(request, exc)
            raise Unavailable from exc
    return user
