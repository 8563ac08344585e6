"""The served OpenAPI schema validates with openapi-spec-validator (what client generators
check first), as ``python3 dev.py lint`` also runs it (``manage.py check_schema``)."""

from __future__ import annotations

import copy
import re

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


OPERATIONS = ("get", "post", "put", "patch", "delete", "head", "options")


def operations() -> list[tuple[str, str, dict]]:
    schema = served_schema()
    return [
        (path, method, op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if method in OPERATIONS
    ]


def test_every_operation_says_what_it_does() -> None:
    assert [(p, m) for p, m, op in operations() if not op.get("description")] == []


def test_every_problem_answer_has_an_example_of_each_code_it_can_carry() -> None:
    for path, method, op in operations():
        for status, answer in op.get("responses", {}).items():
            content = answer.get("content", {}).get("application/problem+json")
            if content is None:
                continue
            examples = content.get("examples", {})
            codes = {e["value"]["code"] for e in examples.values()}
            named = set(re.findall(r"`([a-z_]+)` \(", answer["description"]))
            assert codes == named, (path, method, status)
            assert all(e["value"]["status"] == int(status) for e in examples.values())


def test_component_names_and_named_numbers() -> None:
    schemas = served_schema()["components"]["schemas"]
    assert [name for name in schemas if name.endswith("RequestRequest")] == []
    assert schemas["SeverityEnum"]["x-enum-varnames"] == ["LOW", "MEDIUM", "HIGH", "CRITICAL"]
    assert "severity_name" in schemas["Alert"]["properties"]
