"""Every error under /api/ is an RFC 9457 problem, and no request, however malformed, is a 500.

The robustness test walks the URL resolver, so an endpoint added to ``fieldvisit/api/urls.py``
is covered without touching this file: each is hit with every method and a set of hostile
bodies and query strings, as an agent, as legal and anonymously. Field names come from the
endpoint's OpenAPI description, so wrong types reach every declared field.
"""

from __future__ import annotations

import functools
import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.cache import cache
from django.urls import URLPattern, URLResolver, converters, get_resolver, reverse
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from fieldvisit.api.views.auth import MeView
from fieldvisit.models import DeviceToken
from tests import factories
from tests.helpers import PROBLEM_JSON, PROBLEM_KEYS, assert_problem

METHODS = ["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"]


# --- the endpoints, from the resolver --------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    name: str
    pattern: URLPattern

    def urls(self, known_uuid: uuid.UUID) -> list[str]:
        """The endpoint with malformed, random, and existing-record path parameters."""
        params = self.pattern.pattern.converters
        if not params:
            return [reverse(f"api:{self.name}")]
        random_kwargs = {name: sample(conv, None) for name, conv in params.items()}
        known_kwargs = {name: sample(conv, known_uuid) for name, conv in params.items()}
        random_url = reverse(f"api:{self.name}", kwargs=random_kwargs)
        # A parameter its converter refuses (a bad UUID, a negative index) never routes.
        malformed = random_url
        for value in random_kwargs.values():
            malformed = malformed.replace(str(value), "-1%00not-a-uuid", 1)
        return [malformed, random_url, reverse(f"api:{self.name}", kwargs=known_kwargs)]


def sample(converter: Any, known_uuid: uuid.UUID | None) -> Any:
    if isinstance(converter, converters.UUIDConverter):
        return known_uuid or uuid.uuid4()
    if re.fullmatch(r"(\[0-9\]|\\d)[+*{].*", converter.regex):
        return 0 if known_uuid else 987654321012345678
    return "x" if known_uuid else "no-such-thing"


def api_endpoints() -> list[Endpoint]:
    found: list[Endpoint] = []

    def walk(patterns: list[Any], namespace: str | None) -> None:
        for item in patterns:
            if isinstance(item, URLResolver):
                walk(item.url_patterns, item.namespace or namespace)
            elif namespace == "api":
                found.append(Endpoint(item.name, item))

    walk(get_resolver().url_patterns, None)
    return found


ENDPOINTS = api_endpoints()


def test_the_resolver_yields_the_api_endpoints():
    names = {endpoint.name for endpoint in ENDPOINTS}
    assert {"auth-token", "me", "route-list", "route-change-requests", "ledger-entry"} <= names
    assert all(endpoint.name for endpoint in ENDPOINTS), "every API URL needs a name"


# --- field and parameter names, from the OpenAPI description ---------------------------


@functools.cache
def openapi() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def operations_for(url: str) -> dict[str, dict[str, Any]]:
    for template, operations in openapi()["paths"].items():
        regex = re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template))
        if re.fullmatch(regex, url):
            return operations
    return {}


def body_fields(operation: dict[str, Any]) -> list[str]:
    content = operation.get("requestBody", {}).get("content", {})
    names: set[str] = set()
    for media in content.values():
        ref = media.get("schema", {}).get("$ref", "")
        component = openapi()["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {})
        names |= set(component.get("properties", {}))
    return sorted(names)


def query_params(operation: dict[str, Any]) -> list[str]:
    return sorted(p["name"] for p in operation.get("parameters", []) if p["in"] == "query")


# --- hostile input -----------------------------------------------------------------------

DEEP = 100_000
# Raw JSON text, so that numbers no Python float holds can be sent as they are.
HOSTILE_VALUES: list[str] = [
    "null",
    "true",
    "0",
    "-1",
    "-9223372036854775809",
    "1" + "0" * 400,  # 10**400
    "-" + "1" + "0" * 400,
    "1e309",
    "-1e309",
    "1.5e-400",
    "0.5",
    '""',
    '" "',
    '"not-a-uuid"',
    f'"{uuid.uuid4()}"',
    '"00000000-0000-0000-0000-000000000000"',
    '"2025-02-30T25:61:00+99:00"',
    '"\\u0000"',
    '"abc\\u0000def"',
    '"\\ud800"',  # a lone surrogate
    '"\U0001f600\u202e"',
    '"' + "x" * 100_000 + '"',
    "[]",
    "[null]",
    '["not-a-uuid"]',
    "[" + ",".join(["1"] * 1000) + "]",
    "{}",
    '{"case": 1, "address": []}',
    '[{"case": null, "address": "\\u0000"}]',
    "[[[[[[[[[[1]]]]]]]]]]",
]
HOSTILE_BODIES: list[tuple[str, bytes, str]] = [
    ("empty", b"", "application/json"),
    ("malformed", b"{", "application/json"),
    ("malformed-2", b'{"a": }', "application/json"),
    ("trailing-garbage", b"{}}", "application/json"),
    ("array", b"[]", "application/json"),
    ("array-of-objects", b'[{"id": 1}]', "application/json"),
    ("string", b'"hello"', "application/json"),
    ("number", b"42", "application/json"),
    ("huge-number", b"1" + b"0" * 400, "application/json"),
    ("too-many-digits", b"1" * 5000, "application/json"),
    ("infinite", b"1e309", "application/json"),
    ("nan", b'{"id": NaN}', "application/json"),
    ("infinity", b'{"id": Infinity}', "application/json"),
    ("null", b"null", "application/json"),
    ("true", b"true", "application/json"),
    ("unknown-fields", b'{"unexpected": 1, "__proto__": {"admin": true}}', "application/json"),
    ("duplicate-keys", b'{"id": 1, "id": "x"}', "application/json"),
    ("nul-byte", b"\x00", "application/json"),
    ("nul-in-json", b'{"id": "\\u0000", "reason": "\\u0000"}', "application/json"),
    ("invalid-utf8", b'{"username": "\xff\xfe\xfa"}', "application/json"),
    ("invalid-utf8-only", b"\xff\xfe\xfa\xc3\x28", "application/json"),
    ("utf16-bom", '{"a": 1}'.encode("utf-16"), "application/json"),
    ("deep-arrays", b"[" * DEEP + b"]" * DEEP, "application/json"),
    ("deep-objects", b'{"a":' * DEEP + b"1" + b"}" * DEEP, "application/json"),
    ("text", b"hello", "text/plain"),
    ("form", b"username=a&password=b", "application/x-www-form-urlencoded"),
    ("multipart-garbage", b"--xyz\r\ngarbage", "multipart/form-data; boundary=xyz"),
    ("multipart-no-boundary", b"garbage", "multipart/form-data"),
    ("json-bad-charset", b'{"a": 1}', "application/json; charset=klingon"),
    ("xml", b"<?xml version='1.0'?><a/>", "application/xml"),
]
HOSTILE_QUERY_VALUES: list[str] = [
    "",
    "-1",
    "0",
    "1" * 5000,
    "1" + "0" * 400,
    "1e309",
    "NaN",
    "inf",
    "x" * 10_000,
    "%00",
    "%ff%fe",
    "2025-02-30",
    "[]",
    "not-a-uuid",
]


def json_body_with(base: dict[str, Any], field: str, raw_value: str) -> bytes:
    rest = {k: v for k, v in base.items() if k != field}
    parts = [json.dumps(rest)[1:-1]] if rest else []
    parts.append(f"{json.dumps(field)}: {raw_value}")
    return ("{" + ", ".join(parts) + "}").encode("utf-8", "surrogatepass")


def valid_bodies(world) -> dict[str, dict[str, Any]]:
    """Bodies that pass validation, so one hostile field reaches the code behind it."""
    first_stop = world.route.stops.order_by("sequence").first()
    return {
        "auth-token": {
            "username": "agent_a",
            "password": factories.PASSWORD,
            "device_id": "fuzz-phone",
            "device_name": "fuzz",
            "platform": "android",
        },
        "route-change-requests": {
            "id": str(uuid.uuid4()),
            "reason": "fuzz",
            "skip_stops": [str(first_stop.pk)],
        },
    }


# --- the robustness test -----------------------------------------------------------------


@dataclass
class Actor:
    """An API client that signs in again when a request revoked its token (sign-out)."""

    world: Any
    user: Any

    def __post_init__(self) -> None:
        self.devices = 0
        self.api = self.fresh()

    def fresh(self) -> APIClient:
        if self.user is None:
            return APIClient()
        self.devices += 1
        self.device = f"fuzz-{self.devices}"
        return self.world.client(self.user, device=self.device)

    def after(self) -> None:
        if (
            self.user is not None
            and not DeviceToken.objects.filter(
                user=self.user, device_id=self.device, revoked_at__isnull=True
            ).exists()
        ):
            self.api = self.fresh()


def implemented(endpoint: Endpoint, method: str) -> bool:
    view = endpoint.pattern.callback.view_class
    return hasattr(view, method.lower()) or (method == "HEAD" and hasattr(view, "get"))


# A method the view does not implement is refused before its body is read; a GET never reads
# one. Those get a few bodies; the methods that parse bodies get all of them.
UNREAD_BODIES = ["empty", "malformed", "invalid-utf8-only", "deep-arrays", "text"]
# Parameters every list or negotiated view reads, whether or not the view documents them.
GENERIC_PARAMS = ("page", "page_size", "format")
GENERIC_PARAM_VALUES = ["", "-1", "1" * 5000, "NaN", "%00", "%ff%fe", "x" * 10_000]


def requests_for(
    endpoint: Endpoint, url: str, world: Any, reaches_body: Callable[[str, bytes], bool]
) -> Iterator[tuple[str, str, bytes, str]]:
    """(method, url, body, content type) for every hostile request of one endpoint.

    Each declared field gets every hostile value, alone and inside an otherwise valid body
    (so it gets past validation of the other fields), when ``reaches_body`` says the caller
    gets that far at all: a 401, 403 or 404 comes before the body is read.
    """
    operations = operations_for(url)
    for method in METHODS:
        reads_body = method in ("POST", "PUT", "PATCH") and implemented(endpoint, method)
        for label, body, content_type in HOSTILE_BODIES:
            if reads_body or label in UNREAD_BODIES:
                yield method, url, body, content_type
    base = valid_bodies(world).get(endpoint.name, {})
    for method, operation in operations.items():
        fields = body_fields(operation)
        if fields and reaches_body(method.upper(), json.dumps(base).encode()):
            for field in fields:
                for raw in HOSTILE_VALUES:
                    yield method.upper(), url, json_body_with({}, field, raw), "application/json"
                    if base:
                        body = {**base, "id": str(uuid.uuid4())} if "id" in base else base
                        yield (
                            method.upper(),
                            url,
                            json_body_with(body, field, raw),
                            "application/json",
                        )
            if base:
                unknown = {**base, "unexpected": {"nested": [1, 2]}}
                yield method.upper(), url, json.dumps(unknown).encode(), "application/json"
        for param in query_params(operation):
            for value in HOSTILE_QUERY_VALUES:
                yield method.upper(), f"{url}?{param}={value}", b"", ""
    if implemented(endpoint, "GET"):
        for param in GENERIC_PARAMS:
            for value in GENERIC_PARAM_VALUES:
                yield "GET", f"{url}?{param}={value}", b"", ""


def problems_in(response, method: str) -> list[str]:
    """What is wrong with one answer (empty when it is fine)."""
    wrong: list[str] = []
    status = response.status_code
    if status >= 500:
        wrong.append(f"status {status}")
    if b"Traceback" in response.content:
        wrong.append("traceback in body")
    if status < 400:
        return wrong
    if response.get("Content-Type") != PROBLEM_JSON:
        wrong.append(f"content type {response.get('Content-Type')!r}")
        return wrong
    if method == "HEAD":
        return wrong
    try:
        body = json.loads(response.content)
    except ValueError:
        return [*wrong, f"not JSON: {response.content[:80]!r}"]
    if not isinstance(body, dict) or not body.keys() >= PROBLEM_KEYS:
        return [*wrong, f"not a problem: {body!r:.200}"]
    if body["status"] != status:
        wrong.append(f"status field {body['status']} != {status}")
    if not re.fullmatch(r"[a-z][a-z0-9_]*", str(body["code"])):
        wrong.append(f"code {body['code']!r}")
    if not isinstance(body["detail"], str) or not body["detail"]:
        wrong.append("empty detail")
    return wrong


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
@pytest.mark.parametrize("who", ["agent_a", "legal", "anonymous"])
def test_no_request_is_a_500_and_every_error_is_a_problem(world, endpoint, who):
    actor = Actor(world, None if who == "anonymous" else getattr(world, who))
    failures: list[str] = []
    sent = 0

    def send(method: str, target: str, body: bytes, content_type: str) -> int:
        nonlocal sent
        cache.clear()  # throttles and the login guard would answer 429 before the view
        kwargs: dict[str, Any] = {"content_type": content_type} if content_type else {}
        path, _, query = target.partition("?")
        if query:
            kwargs["QUERY_STRING"] = query
        response = actor.api.generic(method, path, body, **kwargs)
        sent += 1
        wrong = problems_in(response, method)
        if wrong:
            failures.append(f"{method} {target[:120]} {body[:60]!r}: {', '.join(wrong)}")
        actor.after()
        return response.status_code

    # A malformed id, a random one, then an existing record's (which gets an agent past 404).
    for url in endpoint.urls(world.route.pk):

        def reaches_body(method: str, body: bytes, url: str = url) -> bool:
            return send(method, url, body, "application/json") not in (401, 403, 404, 405)

        for request in requests_for(endpoint, url, world, reaches_body):
            send(*request)
    assert sent >= len(METHODS) * len(UNREAD_BODIES)
    assert not failures, f"{len(failures)} bad answers:\n" + "\n".join(failures[:40])


# --- explicit status codes ---------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/v1/nothing-here/", "/api/v1/routes/not-a-uuid/", "/api/v2/", "/api/"]
)
def test_an_unknown_api_path_is_a_problem_not_html(world, path):
    response = world.client(world.agent_a).get(path)

    assert_problem(response, 404, "not_found")
    assert b"<html" not in response.content.lower()


def test_an_unknown_path_outside_the_api_stays_html(world, client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_wrong_method_is_405(world):
    response = world.client(world.agent_a).delete("/api/v1/me/")

    assert_problem(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"]


def test_get_on_the_token_endpoint_is_405(world, anon):
    assert_problem(anon.get("/api/v1/auth/token/"), 405, "method_not_allowed")


def test_an_unacceptable_accept_header_is_406(world):
    response = world.client(world.agent_a).get("/api/v1/me/", HTTP_ACCEPT="application/xml")

    assert_problem(response, 406, "not_acceptable")


def test_an_unknown_format_suffix_is_a_404_problem(world):
    response = world.client(world.agent_a).get("/api/v1/me/", {"format": "xml"})

    assert_problem(response, 404, "not_found")


def test_text_plain_on_the_token_endpoint_is_415(world, anon):
    response = anon.post(
        "/api/v1/auth/token/",
        "username=agent_a&password=x",
        content_type="text/plain",
    )

    body = assert_problem(response, 415, "unsupported_media_type")
    assert "text/plain" in body["detail"]


def test_a_form_body_on_the_token_endpoint_is_415(world, anon):
    response = anon.post(
        "/api/v1/auth/token/",
        f"username=agent_a&password={factories.PASSWORD}&device_id=x",
        content_type="application/x-www-form-urlencoded",
    )

    assert_problem(response, 415, "unsupported_media_type")
    assert not DeviceToken.objects.filter(device_id="x").exists()


def test_a_json_body_over_the_limit_is_413(world, anon, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = {
        "username": "agent_a",
        "password": factories.PASSWORD,
        "device_id": "x" * 2000,
    }

    response = anon.post("/api/v1/auth/token/", body, format="json")

    assert_problem(response, 413, "request_too_large")
    assert not DeviceToken.objects.filter(user=world.agent_a).exists()


def test_a_json_body_over_the_limit_is_413_for_signed_in_agents(world, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = {"id": str(uuid.uuid4()), "reason": "x" * 5000}

    response = world.client(world.agent_a).post(
        f"/api/v1/routes/{world.route.pk}/change-requests/", body, format="json"
    )

    assert_problem(response, 413, "request_too_large")


def test_a_body_just_under_the_limit_is_parsed(world, anon, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = {"username": "agent_a", "password": factories.PASSWORD, "device_id": "phone-9"}

    response = anon.post("/api/v1/auth/token/", body, format="json")

    assert response.status_code == 201


def test_malformed_json_is_400(world, anon):
    response = anon.generic(
        "POST", "/api/v1/auth/token/", b'{"username": ', content_type="application/json"
    )

    assert_problem(response, 400, "malformed_request")


def test_deeply_nested_json_is_400_not_500(world):
    body = b"[" * DEEP + b"]" * DEEP

    response = world.client(world.agent_a).generic(
        "POST",
        f"/api/v1/routes/{world.route.pk}/change-requests/",
        body,
        content_type="application/json",
    )

    assert_problem(response, 400, "malformed_request")


def test_an_echoed_lone_surrogate_is_escaped_not_a_500(world, anon):
    # The choice error quotes the input; a lone surrogate has no UTF-8 form but a JSON escape.
    body = b'{"username": "a", "password": "b", "device_id": "c", "platform": "\\ud800"}'

    response = anon.generic("POST", "/api/v1/auth/token/", body, content_type="application/json")

    problem = assert_problem(response, 422, "validation_error")
    assert set(problem["errors"]) == {"platform"}
    assert "\ud800" in problem["errors"]["platform"][0]


def test_validation_errors_name_the_fields(world, anon):
    response = anon.post("/api/v1/auth/token/", {"username": ["a"]}, format="json")

    body = assert_problem(response, 422, "validation_error")
    assert set(body["errors"]) == {"username", "password", "device_id"}
    assert all(isinstance(m, str) for msgs in body["errors"].values() for m in msgs)


def test_errors_of_the_schema_and_docs_views_are_json_problems(world, anon):
    # These views render YAML and HTML; their errors must still be problem JSON.
    assert_problem(anon.post("/api/v1/schema/"), 405, "method_not_allowed")
    assert_problem(anon.get("/api/v1/schema/", HTTP_ACCEPT="image/png"), 406, "not_acceptable")
    assert_problem(anon.post("/api/docs/"), 405, "method_not_allowed")


def test_options_on_the_docs_view_says_what_it_allows(world, anon):
    # The HTML renderer had no template for OPTIONS' metadata: a 500.
    response = anon.options("/api/docs/")

    assert response.status_code == 200, response.content
    assert {m.strip() for m in response["Allow"].split(",")} >= {"GET", "OPTIONS"}
    assert response.content == b""


def test_an_unexpected_error_is_a_500_problem_without_a_traceback(world, monkeypatch):
    def explode(self, request):
        raise RuntimeError("secret internals: /etc/fieldvisit/key.pem")

    monkeypatch.setattr(MeView, "get", explode)
    agent = world.client(world.agent_a)
    agent.raise_request_exception = False

    response = agent.get("/api/v1/me/")

    assert_problem(response, 500, "internal_error")
    assert b"Traceback" not in response.content
    assert b"secret internals" not in response.content
    assert b"RuntimeError" not in response.content


def test_an_error_outside_drf_handling_is_a_500_problem_too(world, monkeypatch):
    # Raised before DRF's own exception handling starts, so Django's handler500 answers.
    def explode(self, request, *args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(MeView, "initialize_request", explode)
    agent = world.client(world.agent_a)
    agent.raise_request_exception = False

    response = agent.get("/api/v1/me/")

    assert_problem(response, 500, "internal_error")
    assert b"secret internals" not in response.content
    assert b"Traceback" not in response.content
