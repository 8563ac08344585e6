"""Validate the served OpenAPI schema with openapi-spec-validator (``python3 dev.py lint``).

A schema that validates is one client generators accept; drf-spectacular builds it from the
views, so a serializer default that breaks its own field's pattern, say, fails here first.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from drf_spectacular.settings import spectacular_settings


def served_schema() -> dict[str, Any]:
    """The schema as /api/v1/schema/ serves it (the configured generator and hooks)."""
    generator = spectacular_settings.DEFAULT_GENERATOR_CLASS()
    return generator.get_schema(request=None, public=True)


def schema_errors(schema: dict[str, Any]) -> list[str]:
    """What openapi-spec-validator says is wrong with ``schema`` (empty: valid)."""
    from openapi_spec_validator import OpenAPIV30SpecValidator

    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"
        for error in OpenAPIV30SpecValidator(schema).iter_errors()
    ]


class Command(BaseCommand):
    help = "Validate the OpenAPI schema with openapi-spec-validator."

    def handle(self, *args: Any, **options: Any) -> None:
        errors = schema_errors(served_schema())
        if errors:
            raise CommandError("The OpenAPI schema is not valid:\n" + "\n".join(errors))
        self.stdout.write("OpenAPI schema: valid (openapi-spec-validator, OpenAPI 3.0)")
