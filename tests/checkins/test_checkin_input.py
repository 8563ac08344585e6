"""Bad check-in bodies: every invalid or missing field named in a 422 problem, never a 500."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.utils import timezone

from fieldvisit.models import CheckIn
from tests.helpers import (
    ARRIVE,
    CHECKINS_URL,
    DEPART,
    LEAVE,
    Nothing,
    assert_problem,
    body,
    post,
)


def _in_an_hour() -> str:
    return (timezone.now() + dt.timedelta(hours=1)).isoformat()


BAD_FIELDS: list[tuple[str, dict[str, Any], str]] = [
    ("lat 91", {"lat": 91}, "lat"),
    ("lat -90.5", {"lat": -90.5}, "lat"),
    ("lon -181", {"lon": -181}, "lon"),
    ("lon 180.1", {"lon": 180.1}, "lon"),
    ("lat text", {"lat": "abc"}, "lat"),
    ("lat bool", {"lat": True}, "lat"),
    ("lat null", {"lat": None}, "lat"),
    ("lat NaN text", {"lat": "NaN"}, "lat"),
    ("lon inf text", {"lon": "Infinity"}, "lon"),
    ("accuracy 0", {"accuracy_m": 0}, "accuracy_m"),
    ("accuracy -1", {"accuracy_m": -1}, "accuracy_m"),
    ("accuracy huge", {"accuracy_m": 10**12}, "accuracy_m"),
    ("naive time", {"captured_at": "2026-11-24T09:30:00"}, "captured_at"),
    ("not a time", {"captured_at": "yesterday"}, "captured_at"),
    ("future", {"captured_at": _in_an_hour}, "captured_at"),
    ("far future", {"captured_at": "9999-12-31T23:59:59+00:00"}, "captured_at"),
    ("naive sent_at", {"sent_at": "2026-11-24T09:30:00"}, "sent_at"),
    ("unknown kind", {"kind": "teleport"}, "kind"),
    ("kind list", {"kind": ["depart"]}, "kind"),
    ("route not uuid", {"route": "route-1"}, "route"),
    ("id not uuid", {"id": "1"}, "id"),
    ("stop not uuid", {"stop": "stop-1"}, "stop"),
]


@pytest.mark.parametrize(
    ("change", "field"), [(c, f) for _, c, f in BAD_FIELDS], ids=[n for n, _, _ in BAD_FIELDS]
)
def test_invalid_fields_are_named(world, phone_a, change, field):
    payload = body(world, DEPART)
    payload.update({k: v() if callable(v) else v for k, v in change.items()})
    nothing = Nothing()

    response = post(phone_a, payload)

    problem = assert_problem(response, 422, "validation_error")
    assert field in problem["errors"], problem
    nothing.assert_unchanged()


@pytest.mark.parametrize(
    "missing", ["id", "route", "kind", "lat", "lon", "accuracy_m", "captured_at"]
)
def test_missing_fields_are_named(world, phone_a, missing):
    payload = body(world, DEPART)
    del payload[missing]

    problem = assert_problem(post(phone_a, payload), 422, "validation_error")

    assert missing in problem["errors"]
    assert CheckIn.objects.count() == 0


@pytest.mark.parametrize("kind", [ARRIVE, LEAVE])
def test_arrive_and_leave_need_a_stop(world, phone_a, kind):
    payload = body(world, kind)
    assert "stop" not in payload

    problem = assert_problem(post(phone_a, payload), 422, "validation_error")

    assert "stop" in problem["errors"]
    assert CheckIn.objects.count() == 0


@pytest.mark.parametrize(
    ("field", "literal"),
    [
        ("lat", "1e400"),
        ("lon", "-1e400"),
        ("accuracy_m", "1e400"),
        ("lat", "1" + "0" * 400),
        ("accuracy_m", "1" + "0" * 400),
        ("accuracy_m", "1e308"),
    ],
)
def test_huge_numbers_are_validation_errors_not_500(world, phone_a, field, literal):
    payload = body(world, DEPART)
    raw = json.dumps(payload).replace(json.dumps(payload[field]), literal, 1)
    assert literal in raw

    response = phone_a.post(CHECKINS_URL, raw, content_type="application/json")

    problem = assert_problem(response, 422, "validation_error")
    assert field in problem["errors"]
    assert CheckIn.objects.count() == 0


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b"[]",
        b'"checkin"',
        b"null",
        b'{"lat": NaN}',
        "\u00e9".encode("latin-1"),
        b'{"lon": -' + b"9" * 5000 + b"}",  # more digits than Python parses: malformed
    ],
)
def test_malformed_bodies_are_problems_not_500(world, phone_a, raw):
    response = phone_a.post(CHECKINS_URL, raw, content_type="application/json")

    assert response.status_code in (400, 422), response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] in ("malformed_request", "validation_error")
    assert CheckIn.objects.count() == 0
