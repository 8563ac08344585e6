"""Request limits inside Django: too many query or form fields, huge header values and huge
JSON numbers are client errors (400/401/413/422 problems), never a 500."""

from __future__ import annotations

from typing import Any

from tests.helpers import assert_problem

ME_URL = "/api/v1/me/"


def test_too_many_query_fields_is_a_400(world: Any, settings: Any) -> None:
    agent = world.client(world.agent_a)
    query = "&".join(f"f{n}=1" for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))

    response = agent.get(f"/api/v1/routes/?{query}")

    assert_problem(response, 400, "malformed_request")


def test_a_query_at_the_field_limit_is_answered(world: Any, settings: Any) -> None:
    agent = world.client(world.agent_a)
    query = "&".join(f"f{n}=1" for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS))

    assert agent.get(f"/api/v1/routes/?{query}").status_code == 200


def test_a_huge_token_is_a_401(world: Any, anon: Any) -> None:
    response = anon.get(ME_URL, HTTP_AUTHORIZATION="Token " + "k" * 100_000)

    assert_problem(response, 401, "invalid_token")


def test_a_huge_or_binary_header_value_elsewhere_is_ignored(world: Any) -> None:
    agent = world.client(world.agent_a)

    response = agent.get(
        ME_URL,
        HTTP_X_FILLER="a" * 100_000,
        HTTP_ACCEPT_LANGUAGE="zz-" + "Q" * 10_000,
        HTTP_IF_NONE_MATCH="\x00\xff" * 1000,
    )

    assert response.status_code == 200


def test_a_json_number_with_a_million_digits_is_not_a_500(world: Any, anon: Any) -> None:
    """Python refuses to convert integers over 4300 digits (CVE-2020-10735): a 400."""
    body = b'{"username": "a", "password": "b", "device_id": ' + b"9" * 100_000 + b"}"

    response = anon.generic("POST", "/api/v1/auth/token/", body, content_type="application/json")

    assert response.status_code in (400, 422), response.content
    assert response["Content-Type"] == "application/problem+json"


def test_a_json_body_over_the_limit_on_a_write_is_413(world: Any, settings: Any) -> None:
    agent = world.client(world.agent_a)
    body = b'{"note": "' + b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1) + b'"}'

    response = agent.generic("POST", "/api/v1/checkins/", body, content_type="application/json")

    assert_problem(response, 413, "request_too_large")
