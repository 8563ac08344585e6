"""OpenAPI descriptions of the problem answers each endpoint can give."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from drf_spectacular.utils import OpenApiExample, OpenApiResponse
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


def _code_table() -> str:
    return "\n".join(
        f"- `{code}` ({status}): {title}" for code, (status, title) in sorted(CODES.items())
    )


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details; switch on ``code``."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.ChoiceField(
        choices=sorted(CODES),
        help_text="The stable code clients switch on; it owns its status and title:\n\n"
        + _code_table(),
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
            description="Problem details; `code` is one of: "
            + ", ".join(f"`{code}` ({CODES[code][1]})" for code in sorted(set(names))),
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
