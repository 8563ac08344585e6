"""The served OpenAPI schema validates with openapi-spec-validator (what client generators
check first), as ``python3 dev.py lint`` also runs it (``manage.py check_schema``)."""

from __future__ import annotations

import copy

from django.core.management import call_command

from fieldvisit.management.commands.check_schema import schema_errors, served_schema


def test_the_served_schema_validates(capsys) -> None:
    assert schema_errors(served_schema()) == []
    call_command("check_schema")
    assert "valid" in capsys.readouterr().out


def test_a_default_that_breaks_its_own_pattern_is_caught() -> None:
    """What the receipt's optional hashes had: ``default: ''`` beside ``minLength: 1``."""
    schema = copy.deepcopy(served_schema())
    field = schema["components"]["schemas"]["ReceiptCreateRequest"]["properties"]
    field["signature_sha256"]["default"] = ""
    errors = schema_errors(schema)
    assert any("'' should be non-empty" in e for e in errors), errors
