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
from tests.helpers import arrive_pair, photo_form, stops_of
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
