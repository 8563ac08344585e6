"""OpenAPI descriptions of the problem answers each endpoint can give."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.utils.functional import lazy
from django.utils.text import format_lazy
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.generators import EndpointEnumerator
from drf_spectacular.generators import SchemaGenerator as BaseSchemaGenerator
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from fieldvisit.api.errors import CODES, PROBLEM_JSON, PROBLEM_TYPE_PREFIX
from fieldvisit.choices import AlertSeverity

# Every authenticated endpoint can answer these.
COMMON = (
    "not_authenticated",
    "invalid_token",
    "token_revoked",
    "throttled",
    "not_acceptable",
    "internal_error",
    "database_unavailable",
)


class DeviceTokenScheme(OpenApiAuthenticationExtension):
    """Documents ``Authorization: Token <key>`` (one token per device) in the schema."""

    target_class = "fieldvisit.api.authentication.DeviceTokenAuthentication"
    name = "deviceToken"

    def get_security_definition(self, auto_schema):  # type: ignore[no-untyped-def]
        return build_bearer_security_scheme_object(
            header_name="Authorization",
            token_prefix="Token",  # noqa: S106
        )


# The codes' titles are in the language of the request for the schema: these texts are made
# when the schema is (lazy), not when this module is imported.
def _code_table() -> str:
    return "\n".join(
        f"- `{code}` ({status}): {title}" for code, (status, title) in sorted(CODES.items())
    )


def _one_of(names: tuple[str, ...]) -> str:
    return "Problem details; `code` is one of: " + ", ".join(
        f"`{code}` ({CODES[code][1]})" for code in names
    )


code_table = lazy(_code_table, str)
one_of = lazy(_one_of, str)


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details; switch on ``code``."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.ChoiceField(
        choices=sorted(CODES),
        help_text=format_lazy(
            "The stable code clients switch on; it owns its status and title:\n\n{}",
            code_table(),
        ),
    )
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False
    )


def problems(*codes: str, common: bool = True) -> dict[tuple[int, str], OpenApiResponse]:
    """The problem answers of an endpoint, by status, as ``application/problem+json``."""
    by_status: dict[int, list[str]] = defaultdict(list)
    for code in (*codes, *(COMMON if common else ())):
        by_status[CODES[code][0]].append(code)
    return {
        (status, PROBLEM_JSON): OpenApiResponse(
            response=ProblemSerializer,
            description=one_of(tuple(sorted(set(names)))),
            # One example per code this answer can carry: what a client switches on.
            examples=[problem_example(status, code) for code in sorted(set(names))],
        )
        for status, names in sorted(by_status.items())
    }


def problem_example(status: int, code: str) -> OpenApiExample:
    body = {
        "type": f"{PROBLEM_TYPE_PREFIX}{code}",
        "title": CODES[code][1],
        "status": status,
        "detail": f"A sentence saying what was wrong ({code}).",
        "code": code,
    }
    if code == "validation_error":
        body["errors"] = {"captured_at": ["This field is required."]}
    return OpenApiExample(code, value=body, response_only=True, status_codes=[str(status)])


# Enums of numbers whose values mean something: their names, for client generators
# (openapi-generator and NSwag read ``x-enum-varnames``).
NAMED_NUMBERS = {"SeverityEnum": AlertSeverity}


def name_enum_values(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular post-processing hook: name the values of numeric enums."""
    schemas = result.get("components", {}).get("schemas", {})
    for name, choices in NAMED_NUMBERS.items():
        if name in schemas:
            schemas[name]["x-enum-varnames"] = [c.name for c in choices]
            schemas[name]["description"] = ", ".join(f"{c.value} {c.name}" for c in choices)
    return result


def problems_per_operation(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular post-processing hook: each operation's problem answers refer to a
    problem of its own, ``<OperationId>Problem``, whose ``code`` is an enum of the codes that
    operation can answer (those ``problems()`` gave it, one example each). The ``Problem``
    component keeps every code."""
    schemas = result.get("components", {}).get("schemas", {})
    problem = schemas.get("Problem")
    if problem is None:
        return result
    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            answers = [
                answer["content"][PROBLEM_JSON]
                for answer in operation.get("responses", {}).values()
                if PROBLEM_JSON in answer.get("content", {})
            ]
            codes = sorted(
                {
                    example["value"]["code"]
                    for media in answers
                    for example in media.get("examples", {}).values()
                }
            )
            if not codes:
                continue
            words = operation["operationId"].split("_")
            name = "".join(word.capitalize() for word in words) + "Problem"
            schemas[name] = {
                **problem,
                "description": f"The problem details `{method.upper()} {path}` answers with.",
                "properties": {
                    **problem["properties"],
                    "code": {
                        "type": "string",
                        "enum": codes,
                        "description": "What went wrong; each code owns its status and "
                        "title:\n\n"
                        + "\n".join(f"- `{c}` ({CODES[c][0]}): {CODES[c][1]}" for c in codes),
                    },
                },
            }
            for media in answers:
                media["schema"] = {"$ref": f"#/components/schemas/{name}"}
    result["components"]["schemas"] = dict(sorted(schemas.items()))
    return result


class DocumentedMethodsEnumerator(EndpointEnumerator):
    """drf-spectacular leaves HEAD and OPTIONS out; a view that behaves on them as a protocol
    says (tus) names them in ``documented_methods`` to have them described too."""

    def get_allowed_methods(self, callback: Any) -> list[str]:
        methods = super().get_allowed_methods(callback)
        view = getattr(callback, "cls", None)
        return methods + [m for m in getattr(view, "documented_methods", ()) if m not in methods]


class SchemaGenerator(BaseSchemaGenerator):
    """The API's schema generator (``DEFAULT_GENERATOR_CLASS``): HEAD and OPTIONS included
    where a view documents them."""

    endpoint_inspector_cls = DocumentedMethodsEnumerator


def response_header(
    name: str, description: str, example: str | int, statuses: list[int] | bool, **options: Any
) -> OpenApiParameter:
    """A header of the answers with ``statuses`` (True: every answer), with an example."""
    return OpenApiParameter(
        name,
        options.pop("type", str),
        OpenApiParameter.HEADER,
        description=description,
        response=statuses,
        examples=[OpenApiExample("Example", value=example)],
        **options,
    )
