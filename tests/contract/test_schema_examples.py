"""The served schema shows every operation by example, each example true to its schema; each
operation's problems name only the codes it answers; the tus endpoints are described as they
behave (HEAD and OPTIONS, the headers of each answer, creation-with-upload's body).

What a client generator and a reader of /api/docs/ rely on, checked on the schema as
/api/v1/schema/ serves it (``manage.py check_schema``'s generator and hooks).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import pytest
from openapi_schema_validator import (
    OAS30ReadValidator,
    OAS30WriteValidator,
    oas30_format_checker,
)

from fieldvisit.api.errors import CODES, PROBLEM_JSON
from fieldvisit.management.commands.check_schema import served_schema
from fieldvisit.tus import CHECKSUMS, EXTENSIONS, OFFSET_OCTET_STREAM, VERSION

METHODS = ("get", "post", "put", "patch", "delete", "head", "options")
# Bodies whose examples would be bytes: a binary answer (the bundles' ZIP) has none.
BINARY = {"type": "string", "format": "binary"}


@functools.cache
def schema() -> dict[str, Any]:
    return served_schema()


def operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in schema()["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def named(path: str, method: str) -> str:
    return f"{method.upper()} {path}"


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema()["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def examples_of(media: dict[str, Any]) -> list[Any]:
    found = [example["value"] for example in media.get("examples", {}).values()]
    return found + ([media["example"]] if "example" in media else [])


def null_or(node: Any) -> Any:
    """``node`` with ``nullable`` beside ``allOf`` read as generators read it (the value or
    null), which the validator's strict reading of OpenAPI 3.0.3 does not."""
    if isinstance(node, list):
        return [null_or(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: null_or(value) for key, value in node.items()}
    if node.get("nullable") and "allOf" in node:
        rest = {key: value for key, value in node.items() if key != "nullable"}
        return {"anyOf": [rest, {"enum": [None]}]}
    return node


def validation_errors(value: Any, node: dict[str, Any], *, sent: bool = False) -> list[str]:
    """What is wrong with ``value`` as an instance of ``node`` in an answer, or a request when
    ``sent`` (its ``$ref``s resolved in the schema's components; formats checked: uuid,
    date-time, ...; a read-only field is required only in an answer)."""
    root = null_or({"allOf": [node], "components": schema()["components"]})
    kind = OAS30WriteValidator if sent else OAS30ReadValidator
    validator = kind(root, format_checker=oas30_format_checker)
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}"
        for error in validator.iter_errors(value)
    ]


# --- every operation by example ------------------------------------------------------------


def test_every_request_body_has_examples() -> None:
    without = [
        f"{named(path, method)} {media_type}"
        for path, method, operation in operations()
        for media_type, media in operation.get("requestBody", {}).get("content", {}).items()
        if not examples_of(media)
    ]
    assert without == []


def test_every_header_the_client_sends_has_an_example() -> None:
    without = [
        f"{named(path, method)} {parameter['name']}"
        for path, method, operation in operations()
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "header" and not parameter.get("examples")
    ]
    assert without == []


def test_every_answer_has_examples() -> None:
    """Every answer with a body shows one (a bundle's ZIP excepted), and so does every header
    of an answer: sign-out's empty 204 is the only success with nothing to show."""
    without = []
    for path, method, operation in operations():
        for status, answer in operation["responses"].items():
            for media_type, media in answer.get("content", {}).items():
                if media.get("schema") != BINARY and not examples_of(media):
                    without.append(f"{named(path, method)} {status} {media_type}")
            for name, header in answer.get("headers", {}).items():
                if not header.get("examples"):
                    without.append(f"{named(path, method)} {status} header {name}")
    assert without == []


def every_example() -> Iterator[tuple[str, Any, dict[str, Any], bool]]:
    """(where, example, its schema, whether the client sends it)"""
    for path, method, operation in operations():
        content = operation.get("requestBody", {}).get("content", {})
        for media_type, media in content.items():
            for value in examples_of(media):
                where = f"{named(path, method)} request {media_type}"
                yield where, value, media["schema"], True
        for status, answer in operation["responses"].items():
            for media_type, media in answer.get("content", {}).items():
                for value in examples_of(media):
                    where = f"{named(path, method)} {status} {media_type}"
                    yield where, value, media["schema"], False
            for name, header in answer.get("headers", {}).items():
                for example in header.get("examples", {}).values():
                    where = f"{named(path, method)} {status} header {name}"
                    yield where, example["value"], header["schema"], False
        for parameter in operation.get("parameters", []):
            for example in parameter.get("examples", {}).values():
                where = f"{named(path, method)} {parameter['in']} {parameter['name']}"
                yield where, example["value"], parameter["schema"], True


def test_every_example_is_true_to_its_schema() -> None:
    """An example missing a required field, with a wrong type, an unknown enum value or a
    malformed uuid or date-time fails here: the examples move with the serializers."""
    wrong = {
        where: errors
        for where, value, node, sent in every_example()
        if (errors := validation_errors(value, node, sent=sent))
    }
    assert wrong == {}
    assert len(list(every_example())) > 200


def test_a_wrong_example_is_caught() -> None:
    visit = schema()["paths"]["/api/v1/visits/{id}/"]["get"]["responses"]["200"]
    media = visit["content"]["application/json"]
    value = dict(examples_of(media)[0])
    assert validation_errors(value, media["schema"]) == []

    del value["checkins"]
    value["status"] = "somewhere"
    value["id"] = "not-a-uuid"
    errors = validation_errors(value, media["schema"])
    assert any("'checkins' is a required property" in e for e in errors), errors
    assert any(e.startswith("status:") for e in errors), errors
    assert any(e.startswith("id:") for e in errors), errors


def test_the_check_in_examples_tell_one_visit() -> None:
    checkins = schema()["paths"]["/api/v1/checkins/"]["post"]
    sent = examples_of(checkins["requestBody"]["content"]["application/json"])
    answered = examples_of(checkins["responses"]["201"]["content"]["application/json"])
    assert {body["kind"] for body in sent} == {"arrive", "periodic", "depart"}
    assert {"datum": "gcj02"}.items() <= sent[-1].items()
    assert answered[0]["visit"]["status"] == "open"
    assert answered[1]["flags"] == ["outside_visit_hours"]


# --- each operation's own problem codes ----------------------------------------------------


def test_each_operation_names_only_the_codes_it_answers() -> None:
    components = schema()["components"]["schemas"]
    for path, method, operation in operations():
        answers = {
            status: answer["content"][PROBLEM_JSON]
            for status, answer in operation["responses"].items()
            if PROBLEM_JSON in answer.get("content", {})
        }
        if not answers:
            assert method == "options", named(path, method)
            continue
        words = operation["operationId"].split("_")
        name = "".join(word.capitalize() for word in words) + "Problem"
        own = components[name]
        code = own["properties"]["code"]
        answered = {e["code"] for media in answers.values() for e in examples_of(media)}
        assert sorted(code["enum"]) == sorted(answered), named(path, method)
        assert set(code["enum"]) <= set(CODES)
        for each in code["enum"]:
            assert f"`{each}` ({CODES[each][0]}): {CODES[each][1]}" in code["description"]
        assert own["required"] == components["Problem"]["required"]
        for status, media in answers.items():
            assert media["schema"] == {"$ref": f"#/components/schemas/{name}"}
            assert {CODES[e["code"]][0] for e in examples_of(media)} == {int(status)}


def test_a_check_in_problem_is_one_of_the_check_in_codes() -> None:
    components = schema()["components"]["schemas"]
    checkin = set(components["CheckinsCreateProblem"]["properties"]["code"]["enum"])
    assert {"outside_visit_hours", "too_far_from_address", "not_authenticated"} <= checkin
    assert not checkin & {"invalid_credentials", "chain_broken", "upload_locked"}
    sign_in = set(components["AuthTokenProblem"]["properties"]["code"]["enum"])
    assert "invalid_credentials" in sign_in and "outside_visit_hours" not in sign_in
    # The Problem component still lists every code (the one table).
    code = components["Problem"]["properties"]["code"]
    assert sorted(resolve(code["allOf"][0])["enum"]) == sorted(CODES)


def test_no_component_name_doubles_its_direction() -> None:
    names = schema()["components"]["schemas"]
    assert [name for name in names if "RequestRequest" in name or "ResponseResponse" in name] == []


def test_the_severity_is_named_in_the_schema_and_the_answer() -> None:
    components = schema()["components"]["schemas"]
    severity = components["SeverityEnum"]
    assert dict(zip(severity["x-enum-varnames"], severity["enum"], strict=True)) == {
        "LOW": 10,
        "MEDIUM": 20,
        "HIGH": 30,
        "CRITICAL": 40,
    }
    panic = schema()["paths"]["/api/v1/alerts/panic/"]["post"]["responses"]["201"]
    [example] = examples_of(panic["content"]["application/json"])
    assert (example["severity"], example["severity_name"]) == (40, "critical")


# --- tus, as it behaves --------------------------------------------------------------------


def headers_of(answer: dict[str, Any]) -> dict[str, Any]:
    return answer.get("headers", {})


def test_tus_discovery_is_options_without_a_token() -> None:
    options = schema()["paths"]["/api/v1/uploads/"]["options"]
    answer = options["responses"]["204"]
    assert set(headers_of(answer)) == {
        "Tus-Resumable",
        "Tus-Version",
        "Tus-Extension",
        "Tus-Max-Size",
        "Tus-Checksum-Algorithm",
    }
    example = {
        name: next(iter(h["examples"].values()))["value"] for name, h in answer["headers"].items()
    }
    assert example["Tus-Extension"] == ",".join(EXTENSIONS)
    assert example["Tus-Checksum-Algorithm"] == ",".join(CHECKSUMS)
    assert example["Tus-Version"] == VERSION
    assert options.get("security", []) in ([], [{}])
    assert "requestBody" not in options


def test_tus_creation_says_where_the_upload_is_and_takes_a_first_chunk() -> None:
    create = schema()["paths"]["/api/v1/uploads/"]["post"]
    sent = {p["name"]: p for p in create["parameters"] if p["in"] == "header"}
    assert {"Tus-Resumable", "Upload-Length", "Upload-Metadata"} <= set(sent)
    assert all(sent[name]["required"] for name in ("Tus-Resumable", "Upload-Length"))
    body = create["requestBody"]
    assert list(body["content"]) == [OFFSET_OCTET_STREAM]
    assert not body.get("required")  # creation-with-upload: the body is optional
    created = headers_of(create["responses"]["201"])
    assert {"Location", "Upload-Offset", "Upload-Expires", "Tus-Resumable"} <= set(created)


def test_tus_head_patch_and_delete_answer_with_their_headers() -> None:
    upload = schema()["paths"]["/api/v1/uploads/{id}/"]
    assert {"head", "patch", "delete"} <= set(upload)
    head = headers_of(upload["head"]["responses"]["200"])
    assert {"Upload-Offset", "Upload-Length", "Upload-Metadata", "Upload-Expires"} <= set(head)
    assert {"Tus-Resumable", "Cache-Control"} <= set(head)
    assert "content" not in upload["head"]["responses"]["200"]
    patched = headers_of(upload["patch"]["responses"]["204"])
    assert {"Upload-Offset", "Upload-Expires", "Tus-Resumable"} <= set(patched)
    sent = {p["name"] for p in upload["patch"]["parameters"] if p["in"] == "header"}
    assert {"Tus-Resumable", "Upload-Offset", "Upload-Checksum"} <= sent
    assert list(upload["patch"]["requestBody"]["content"]) == [OFFSET_OCTET_STREAM]
    assert "Tus-Resumable" in headers_of(upload["delete"]["responses"]["204"])
    # Every tus answer, a problem too, carries Tus-Resumable; a 412 names the versions.
    for method in ("head", "patch", "delete"):
        for status, answer in upload[method]["responses"].items():
            assert "Tus-Resumable" in headers_of(answer), (method, status)
        assert "Tus-Version" in headers_of(upload[method]["responses"]["412"])


@pytest.mark.django_db
def test_the_served_schema_is_the_one_checked(anon: Any) -> None:
    """/api/v1/schema/ serves what these tests and ``check_schema`` look at."""
    served = anon.get("/api/v1/schema/", {"format": "json"}).json()
    assert served["paths"].keys() == schema()["paths"].keys()
    assert "head" in served["paths"]["/api/v1/uploads/{id}/"]
    assert "CheckinsCreateProblem" in served["components"]["schemas"]
