"""GET /api/v1/schema/ (OpenAPI 3, drf-spectacular) and GET /api/docs/ (Swagger UI, offline).

The schema documents every endpoint with its problem answers and is generated without a
single drf-spectacular warning; the docs page loads only files this server serves itself.
"""

from __future__ import annotations

import inspect
import json
import re
import uuid
from typing import Any

import pytest
import yaml
from django.core.management import call_command
from django.urls import URLResolver, converters, get_resolver, reverse
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.views import SpectacularAPIView

from fieldvisit.api.serializers import built_once, checkins, evidence, incidents, reports
from tests.helpers import PROBLEM_JSON

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


def api_urls() -> dict[str, str]:
    """Every URL of fieldvisit/api/urls.py (by name), path parameters filled in."""
    found: dict[str, str] = {}

    def walk(patterns: list[Any], namespace: str | None) -> None:
        for item in patterns:
            if isinstance(item, URLResolver):
                walk(item.url_patterns, item.namespace or namespace)
            elif namespace == "api":
                kwargs = {
                    name: uuid.uuid4() if isinstance(conv, converters.UUIDConverter) else 7
                    for name, conv in item.pattern.converters.items()
                }
                if getattr(item.callback, "view_class", None) is not SpectacularAPIView:
                    found[item.name] = reverse(f"api:{item.name}", kwargs=kwargs)

    walk(get_resolver().url_patterns, None)
    return found


def schema_path_for(schema: dict[str, Any], url: str) -> str | None:
    for template in schema["paths"]:
        if re.fullmatch(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)), url):
            return template
    return None


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    GENERATOR_STATS.reset()
    generated = SchemaGenerator().get_schema(request=None, public=True)
    stats = {
        "warnings": dict(GENERATOR_STATS._warn_cache),
        "errors": dict(GENERATOR_STATS._error_cache),
    }
    generated["x-test-generator-stats"] = stats
    return generated


def problem_of(operation: dict[str, Any]) -> str:
    return "".join(word.capitalize() for word in operation["operationId"].split("_")) + "Problem"


def operations(schema: dict[str, Any]):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


# --- the schema as served ----------------------------------------------------------------


def test_the_schema_is_served_as_openapi_3_yaml(db, anon):
    response = anon.get("/api/v1/schema/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    document = yaml.safe_load(response.content)
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == "Field-visit evidence API"
    assert "/api/v1/auth/token/" in document["paths"]


def test_the_schema_is_served_as_json_on_request(db, anon):
    response = anon.get("/api/v1/schema/", {"format": "json"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    document = json.loads(response.content)
    assert document["openapi"].startswith("3.")
    assert "/api/v1/routes/{id}/change-requests/" in document["paths"]


# --- the schema's content ----------------------------------------------------------------


def test_the_schema_generates_without_warnings_or_errors(schema):
    assert schema["x-test-generator-stats"] == {"warnings": {}, "errors": {}}


def test_the_spectacular_command_passes_with_fail_on_warn(tmp_path):
    target = tmp_path / "schema.yml"
    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(target))

    document = yaml.safe_load(target.read_text())
    assert document["openapi"].startswith("3.")


def test_every_api_url_is_documented(schema):
    urls = api_urls()
    assert {"auth-token", "me", "route-list", "ledger-entry"} <= urls.keys()

    missing = {name: url for name, url in urls.items() if schema_path_for(schema, url) is None}

    assert not missing


def test_every_operation_documents_its_problem_answers(schema):
    without = []
    for path, method, operation in operations(schema):
        problem_statuses = [
            status
            for status, answer in operation["responses"].items()
            if 400 <= int(status) < 500
            # The operation's own problem (its codes only; test_schema_examples.py).
            and answer.get("content", {}).get(PROBLEM_JSON, {}).get("schema", {}).get("$ref", "")
            == f"#/components/schemas/{problem_of(operation)}"
        ]
        if not problem_statuses:
            without.append(f"{method.upper()} {path}")

    assert not without


def test_error_answers_are_documented_as_problem_json_only(schema):
    for path, method, operation in operations(schema):
        for status, answer in operation["responses"].items():
            if int(status) >= 400:
                assert set(answer.get("content", {})) == {PROBLEM_JSON}, (method, path, status)


def test_the_problem_component_has_the_rfc_9457_members(schema):
    problem = schema["components"]["schemas"]["Problem"]

    assert {"type", "title", "status", "detail", "code", "errors"} <= problem["properties"].keys()
    assert set(problem["required"]) == {"type", "title", "status", "detail", "code"}


def test_documented_problem_codes_match_the_contract(schema):
    change = schema["paths"]["/api/v1/routes/{id}/change-requests/"]["post"]["responses"]
    token = schema["paths"]["/api/v1/auth/token/"]["post"]["responses"]

    assert "`id_conflict`" in change["409"]["description"]
    for code in ("route_not_approved", "invalid_change_request", "invalid_order"):
        assert f"`{code}`" in change["422"]["description"]
    assert "`invalid_credentials`" in token["401"]["description"]
    assert "`too_many_login_attempts`" in token["429"]["description"]


def test_the_device_token_scheme_is_documented(schema):
    scheme = schema["components"]["securitySchemes"]["deviceToken"]
    assert scheme == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": 'Token-based authentication with required prefix "Token"',
    }
    for path, method, operation in operations(schema):
        if path == "/api/v1/auth/token/":
            assert {"deviceToken": []} not in operation.get("security", [])
        else:
            assert {"deviceToken": []} in operation["security"], (method, path)


# --- the docs page -----------------------------------------------------------------------


def test_the_docs_page_loads_only_local_files(db, anon):
    response = anon.get("/api/docs/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "cdn" not in html.lower()
    assert "https://" not in html
    assert "http://" not in html
    sources = re.findall(r'<(?:script|link|img)\b[^>]*\b(?:src|href)="([^"]+)"', html)
    assert any(source.endswith("swagger-ui-bundle.js") for source in sources)
    assert any(source.endswith("swagger-ui.css") for source in sources)
    for source in sources:
        assert source.startswith("/static/"), source


def test_the_docs_page_static_files_are_served(db, anon):
    html = anon.get("/api/docs/").content.decode()
    sources = re.findall(r'<(?:script|link|img)\b[^>]*\b(?:src|href)="([^"]+)"', html)
    assert len(sources) >= 3

    for source in sources:
        response = anon.get(source)
        assert response.status_code == 200, source
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert len(body) > 100, source


def test_the_docs_page_points_at_the_schema(db, anon):
    html = anon.get("/api/docs/").content.decode()

    assert '"/api/v1/schema/"' in html or "'/api/v1/schema/'" in html


def test_no_component_is_described_by_a_mixin_of_the_implementation(schema):
    """A serializer is described by the first docstring among its classes: the serializers
    whose fields are built once, without a docstring of their own, get no description from
    the class that builds their fields (written for the code, not for the API's readers)."""
    components = schema["components"]["schemas"]
    mixed = {
        cls.__name__.removesuffix("Serializer"): cls
        for module in (checkins, evidence, incidents, reports)
        for cls in vars(module).values()
        if inspect.isclass(cls) and issubclass(cls, built_once.FieldsBuiltOnce)
    }
    assert {"CheckInCreate", "Photo", "CheckInResult"} <= set(mixed)
    described = {
        name: components[name].get("description")
        for name, cls in mixed.items()
        if name in components and not cls.__dict__.get("__doc__")
    }
    assert described and set(described.values()) == {None}, described
