"""Every problem code the code can raise is in the one table of codes (``api.errors.CODES``),
with its status and title, and in the served OpenAPI schema; the table holds no code that
nothing raises.

The source is read, not imported: a code raised on a path no test reaches is still found.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from fieldvisit.api.errors import CODES, DRF_CODES, status_for

SOURCE = Path(__file__).resolve().parents[2] / "fieldvisit"

# Calls whose first argument is a problem code, and those whose code is their second (after
# the status the handler already looked up).
CODE_FIRST = {"RuleViolation", "Problem", "failed", "MediaError"}
CODE_SECOND = {"problem_response", "_json_problem"}
# DRF's exceptions given a ``code=`` (authentication failures answer with it).
CODE_KEYWORD = {"AuthenticationFailed"}

# Verdict codes that never become an answer: a flag on a kept record (and an alert kind), a
# field's message inside ``validation_error``, and an agent's qualification (its detail is
# part of ``team_understaffed``'s).
NEVER_ANSWERED = {
    "team_split",
    "lone_depart",
    "lone_agent",
    "captured_in_future",
    "agent_not_qualified",
}


def literal(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def codes_in(tree: ast.AST) -> set[str]:
    """The codes ``tree`` raises or answers with: literal arguments of the calls above, and
    ``code=`` of DRF's exceptions (the authentication failures)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if name in CODE_FIRST and node.args:
            found.add(literal(node.args[0]) or "")
        elif name in CODE_SECOND and len(node.args) > 1:
            found.add(literal(node.args[1]) or "")
        if name in CODE_KEYWORD:
            found |= {literal(k.value) or "" for k in node.keywords if k.arg == "code"}
    return found - {""}


def raised_codes(root: Path = SOURCE) -> dict[str, set[str]]:
    """Every code found in the source, with the files raising it."""
    where: dict[str, set[str]] = {}
    for path in sorted(root.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for code in codes_in(ast.parse(path.read_text(), str(path))):
            where.setdefault(code, set()).add(str(path.relative_to(root.parent)))
    return where


@pytest.fixture(scope="module")
def raised() -> dict[str, set[str]]:
    found = raised_codes() | {code: {"api/errors.py DRF_CODES"} for _, code in DRF_CODES}
    assert set(found) >= NEVER_ANSWERED  # still there, still never an answer
    return {code: files for code, files in found.items() if code not in NEVER_ANSWERED}


def test_every_raised_code_is_in_the_table(raised):
    missing = {code: sorted(files) for code, files in raised.items() if code not in CODES}
    assert not missing, f"add these codes to api.errors.CODES: {missing}"


def test_the_table_holds_no_code_nothing_raises(raised):
    assert sorted(set(CODES) - set(raised)) == []


def test_every_code_has_one_status_and_a_title():
    for code, (status, title) in CODES.items():
        assert 400 <= status <= 599, code
        assert status_for(code) == status
        assert title and title[0].isupper() and not title.endswith("."), code


def test_the_walk_finds_a_code_that_is_not_in_the_table(tmp_path):
    """The walk itself: a module raising an unknown code is caught."""
    (tmp_path / "fieldvisit").mkdir()
    (tmp_path / "fieldvisit" / "late.py").write_text(
        "from fieldvisit.rules import RuleViolation, Verdict\n"
        "def f():\n"
        "    raise RuleViolation('no_such_code_yet', 'x')\n"
        "def g():\n"
        "    return Verdict.failed('another_new_code', 'y')\n"
    )
    found = raised_codes(tmp_path / "fieldvisit")
    assert set(found) == {"no_such_code_yet", "another_new_code"}
    assert not set(found) & set(CODES)


def test_the_schema_lists_every_code(db, anon):
    schema = anon.get("/api/v1/schema/?format=json").json()
    components = schema["components"]["schemas"]
    code = components["Problem"]["properties"]["code"]
    ref = code.get("$ref") or code["allOf"][0]["$ref"]
    enum = components[ref.rsplit("/", 1)[-1]]
    assert sorted(enum["enum"]) == sorted(CODES)
    for name, (status, title) in CODES.items():
        assert f"`{name}` ({status}): {title}" in code["description"]
