# ruff: noqa: F811 - fixtures named ``world`` take the imported fixture of that name
"""tus upload tests: the check-in tests' pinned clock and world, real transactions."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest

from fieldvisit.models import Visit
from tests.checkins.conftest import (  # noqa: F401 - fixtures and helpers shared on purpose
    ZONE,
    arrive_pair,
    assert_problem,
    clock,
    iso,
    ledger_entries,
    stops_of,
    world,
)
from tests.conftest import CORPUS

UPLOADS_URL = "/api/v1/uploads/"
TUS = {"HTTP_TUS_RESUMABLE": "1.0.0"}
AUDIO = CORPUS / "audio"
_MANIFEST = json.loads((AUDIO / "manifest.json").read_text())
AUDIO_FILES: list[dict[str, Any]] = _MANIFEST["files"] if isinstance(_MANIFEST, dict) else _MANIFEST


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def metadata(**values: Any) -> str:
    return ",".join(
        f"{k} {base64.b64encode(str(v).encode()).decode()}" if v != "" else k
        for k, v in values.items()
    )


@pytest.fixture
def visit(world: Any) -> Visit:
    stop = stops_of(world.route)[0]
    arrive_pair(world, stop)
    return Visit.objects.select_related("stop__address").get(stop=stop)
