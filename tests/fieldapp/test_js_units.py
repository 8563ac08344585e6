"""The field app's plain-function modules (outbox order and backoff, timer, panic gesture,
messages) under ``node --test``, so CI runs them with the rest of the suite.

Without node the test skips, except on CI (``CI`` set), where a missing node is a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

JS_TESTS = sorted((Path(__file__).parent / "js").glob("*.test.mjs"))
APP = Path(__file__).resolve().parents[2] / "fieldvisit" / "static" / "fieldvisit" / "app"


def on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def node() -> str:
    found = shutil.which("node")
    if not found:
        if on_ci():
            pytest.fail("node is needed for the field app's unit tests on CI")
        pytest.skip("node is not installed")
    return found


def test_the_field_app_units_pass_under_node() -> None:
    assert {p.name for p in JS_TESTS} >= {"outbox.test.mjs", "timer.test.mjs"}
    done = subprocess.run(
        [node(), "--test", *map(str, JS_TESTS)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "# fail 0" in done.stdout
    assert "# pass 0" not in done.stdout


def test_every_checkin_refusal_has_words_for_the_agent() -> None:
    """The codes a check-in can be refused with (API.md "Check-ins") are explained in the
    app, in both languages (messages.test.mjs checks the languages have the same keys)."""
    from fieldvisit.rules.checkins import DEFERRABLE

    always = {"route_not_approved", "not_team_member", "not_on_route"}
    text = (APP / "messages.js").read_text()
    for code in sorted(DEFERRABLE | always | {"validation_error", "id_conflict"}):
        assert text.count(f"rule_{code}:") == 2, code
        assert text.count(f"next_{code}:") == 2, code
