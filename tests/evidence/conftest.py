# ruff: noqa: F811 - fixtures named ``world`` take the imported fixture of that name
"""Photo and receipt tests: the check-in tests' pinned clock and world, real transactions.

Evidence reaches its final storage key only after the transaction commits, so these tests
run with real transactions (``transaction=True``) and look at the storage afterwards.
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

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

pytestmark = pytest.mark.django_db(transaction=True)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def photos_url(visit: Visit | Any) -> str:
    return f"/api/v1/visits/{getattr(visit, 'pk', visit)}/photos/"


def receipts_url(visit: Visit | Any) -> str:
    return f"/api/v1/visits/{getattr(visit, 'pk', visit)}/receipts/"


def photo_form(data: bytes, *, name: str = "photo.jpg", **fields: Any) -> dict[str, Any]:
    from django.core.files.uploadedfile import SimpleUploadedFile

    form: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "kind": "door",
        "captured_at": iso(timezone.now()),
        "sha256": sha(data),
        "partner_in_frame": "true",
        "file": SimpleUploadedFile(name, data, content_type="application/octet-stream"),
    }
    form.update(fields)
    return form


def post_form(client: Any, url: str, form: dict[str, Any]) -> Any:
    return client.post(url, form, format="multipart")


def evidence_root() -> Path:
    return Path(settings.STORAGES["evidence"]["OPTIONS"]["location"])


def stored_files() -> dict[str, bytes]:
    """Every file in evidence storage, by its path relative to the root."""
    root = evidence_root()
    if not root.exists():
        return {}
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def final_path(sha256: str) -> str:
    return f"sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}"


@pytest.fixture
def visit(world: Any) -> Visit:
    """The first stop's visit, opened by agents A and B arriving together."""
    stop = stops_of(world.route)[0]
    arrive_pair(world, stop)
    return Visit.objects.select_related("stop__address").get(stop=stop)


@pytest.fixture
def agent(world: Any) -> Any:
    return world.client(world.agent_a, "phone-a")
