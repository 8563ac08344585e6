"""What fuzzing found, pinned: each answer below once broke the published schema."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator

from fieldvisit.api.fields import DateTimeField
from fieldvisit.models import Visit
from fieldvisit.queries.checkins import around
from tests.helpers import (
    CHECKINS_URL,
    Nothing,
    arrive_pair,
    assert_problem,
    body,
    photo_form,
    stops_of,
)
from tests.images import jpeg

pytestmark = pytest.mark.django_db(transaction=True)

# RFC 3339 date-time: the offset is Z or +HH:MM, never with seconds.
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def test_a_time_before_1901_in_shanghai_answers_in_utc(settings) -> None:  # type: ignore[no-untyped-def]
    settings.TIME_ZONE = "Asia/Shanghai"
    field = DateTimeField()
    # Shanghai kept local mean time, +08:05:43, until 1901.
    old = dt.datetime(1850, 1, 1, tzinfo=dt.UTC)
    now = dt.datetime(2026, 11, 24, 1, 30, tzinfo=dt.UTC)

    assert field.to_representation(old) == "1850-01-01T00:00:00Z"
    assert field.to_representation(now) == "2026-11-24T09:30:00+08:00"


def test_a_photo_with_a_broken_clock_answers_rfc_3339_times(world) -> None:  # type: ignore[no-untyped-def]
    stop = stops_of(world.route)[0]
    arrive_pair(world, stop)
    visit = Visit.objects.get(stop=stop)
    agent = world.client(world.agent_a, "phone-a")
    form = photo_form(jpeg(), captured_at="1808-07-02T21:21:46+08:00")

    answer = agent.post(f"/api/v1/visits/{visit.pk}/photos/", form, format="multipart")

    assert answer.status_code == 201, answer.content
    assert answer.json()["captured_at"] == "1808-07-02T13:21:46Z"
    shown = agent.get(f"/api/v1/visits/{visit.pk}/").json()
    times = [shown["opened_at"], *(p["captured_at"] for p in shown["photos"])]
    assert all(RFC3339.match(t) for t in times), times


def test_a_pending_change_request_has_no_decider(world, schema) -> None:  # type: ignore[no-untyped-def]
    agent = world.client(world.agent_a, "phone-a")
    change = agent.post(
        f"/api/v1/routes/{world.route.pk}/change-requests/",
        {
            "id": str(uuid.uuid4()),
            "reason": "dog",
            "skip_stops": [str(stops_of(world.route)[2].pk)],
        },
        format="json",
    )
    assert change.status_code == 201, change.content

    assert change.json()["decided_by"] is None
    decided_by = schema["components"]["schemas"]["ChangeRequest"]["properties"]["decided_by"]
    assert decided_by.get("nullable") is True


@pytest.mark.parametrize("path", ["/api/v1/routes/", "/api/v1/cases/"])
def test_a_page_past_the_last_is_a_documented_404(world, schema, path) -> None:  # type: ignore[no-untyped-def]
    client = world.client(world.legal)

    answer = client.get(path, {"page": 99})

    assert answer.status_code == 404
    assert answer.json()["code"] == "not_found"
    assert "404" in schema["paths"][path]["get"]["responses"]


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/api/v1/uploads/", "post"),
        ("/api/v1/uploads/{id}/", "patch"),
        ("/api/v1/uploads/{id}/", "delete"),
    ],
)
def test_tus_operations_document_their_version_header(schema, path, method) -> None:  # type: ignore[no-untyped-def]
    operation = schema["paths"][path][method]
    header = next(p for p in operation["parameters"] if p["name"] == "Tus-Resumable")

    assert header["in"] == "header" and header["required"] is True
    assert header["schema"]["enum"] == ["1.0.0"]
    assert "`tus_version_unsupported`" in operation["responses"]["412"]["description"]


@pytest.mark.parametrize("kind", ["depart", "periodic"])
def test_a_check_in_from_the_first_day_of_year_one_is_refused_not_a_500(world, kind) -> None:  # type: ignore[no-untyped-def]
    # A periodic report reads the partner's positions 15 minutes either side of its time:
    # from 0001-01-01T00:00Z that window began before year 1 (OverflowError, a 500).
    agent = world.client(world.agent_a, "phone-a")
    nothing = Nothing()

    answer = agent.post(
        CHECKINS_URL,
        {**body(world, kind), "captured_at": "0001-01-01T00:00:00Z"},
        format="json",
    )

    assert_problem(answer, 422, "route_not_approved")
    nothing.assert_unchanged()


def test_the_window_around_a_time_stops_at_the_first_and_last_representable_times() -> None:
    span = dt.timedelta(minutes=15)
    first = dt.datetime(1, 1, 1, tzinfo=dt.UTC)
    last = dt.datetime.max.replace(tzinfo=dt.UTC)
    noon = dt.datetime(2026, 12, 6, 12, tzinfo=dt.timezone(dt.timedelta(hours=8)))

    assert around(first, span) == (first, first + span)
    assert around(last, span) == (last - span, last)
    assert around(noon, span) == (noon - span, noon + span)
