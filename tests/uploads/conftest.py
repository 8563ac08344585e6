# ruff: noqa: F811 - fixtures named ``world`` take the imported fixture of that name
"""tus upload tests: the check-in tests' pinned clock and world, real transactions."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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


# --- shared helpers for the tus tests -------------------------------------------------------

OFFSET_STREAM = "application/offset+octet-stream"
PROBLEM_JSON = "application/problem+json"
BY_NAME: dict[str, dict[str, Any]] = {entry["file"]: entry for entry in AUDIO_FILES}


def assert_tus_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    """A problem (RFC 9457) that still speaks tus: ``Tus-Resumable`` on every answer."""
    problem = assert_problem(response, status, code)
    assert response["Tus-Resumable"] == "1.0.0"
    return problem


def audio(name: str) -> bytes:
    return (AUDIO / name).read_bytes()


def segments_of(recording_name: str) -> list[dict[str, Any]]:
    """The manifest's ``recording.segments`` for a generated recording (e.g. visit-1002)."""
    for entry in AUDIO_FILES:
        recording = entry.get("recording")
        if recording and recording["id"] == recording_name:
            return recording["segments"]
    raise LookupError(recording_name)


@pytest.fixture
def agent(world: Any) -> Any:
    """Agent A's phone, which arrived at the visit."""
    return world.client(world.agent_a, "phone-a")


def segment_meta(
    visit: Visit,
    data: bytes,
    *,
    recording: Any = None,
    segment: int = 0,
    started_at: dt.datetime | None = None,
    prev_sha256: str = "",
    filename: str = "segment.m4a",
    **extra: Any,
) -> dict[str, Any]:
    """The ``Upload-Metadata`` values of a segment (a dict, in the order clients send them)."""
    values: dict[str, Any] = {
        "visit": visit.pk,
        "recording": recording or uuid.uuid4(),
        "segment": segment,
        "started_at": iso(started_at or timezone.now()),
        "sha256": sha(data),
        "prev_sha256": prev_sha256,
        "filename": filename,
        "content_type": "audio/mp4",
    }
    values.update(extra)
    return values


def create(
    client: Any,
    length: int | str,
    meta: dict[str, Any] | str | None,
    body: bytes = b"",
    **headers: Any,
) -> Any:
    """tus creation (with ``body``: creation-with-upload)."""
    extra = dict(TUS)
    extra["HTTP_UPLOAD_LENGTH"] = str(length)
    if meta is not None:
        extra["HTTP_UPLOAD_METADATA"] = meta if isinstance(meta, str) else metadata(**meta)
    extra.update(headers)
    content_type = OFFSET_STREAM if body else "application/octet-stream"
    return client.generic("POST", UPLOADS_URL, body, content_type=content_type, **extra)


def path_of(location: str) -> str:
    """The path of an absolute ``Location`` (the test client is happy with either)."""
    return urlsplit(location).path


def created(client: Any, data: bytes, meta: dict[str, Any], body: bytes = b"") -> str:
    """Create an upload for ``data``; its URL path."""
    response = create(client, len(data), meta, body)
    assert response.status_code == 201, response.content
    return path_of(response["Location"])


def patch(
    client: Any,
    url: str,
    data: bytes,
    offset: int,
    *,
    content_type: str = OFFSET_STREAM,
    **headers: Any,
) -> Any:
    extra = {**TUS, "HTTP_UPLOAD_OFFSET": str(offset), **headers}
    return client.generic("PATCH", url, data, content_type=content_type, **extra)


def head(client: Any, url: str, **headers: Any) -> Any:
    return client.generic("HEAD", url, **{**TUS, **headers})


def send(client: Any, url: str, data: bytes, chunk: int | None = None, start: int = 0) -> Any:
    """PATCH ``data[start:]`` in chunks; the last answer (the earlier ones must be 204)."""
    chunk = chunk or len(data)
    offset = start
    while True:
        piece = data[offset : offset + chunk]
        response = patch(client, url, piece, offset)
        if offset + len(piece) >= len(data):
            return response
        assert response.status_code == 204, response.content
        assert int(response["Upload-Offset"]) == offset + len(piece)
        offset += len(piece)


def upload_segment(client: Any, visit: Visit, data: bytes, chunk: int | None = None, **meta: Any):
    """A whole segment through creation and PATCHes: (upload URL, final answer)."""
    url = created(client, data, segment_meta(visit, data, **meta))
    return url, send(client, url, data, chunk)


def upload_id(url: str) -> uuid.UUID:
    return uuid.UUID(url.rstrip("/").rsplit("/", 1)[-1])


def partial_path(url_or_id: Any) -> Path:
    upload = url_or_id if isinstance(url_or_id, uuid.UUID) else upload_id(str(url_or_id))
    return Path(settings.TUS_UPLOAD_DIR) / f"{upload}.part"


def evidence_files() -> dict[str, bytes]:
    """Every file in evidence storage, by its path relative to the root."""
    root = Path(settings.STORAGES["evidence"]["OPTIONS"]["location"])
    if not root.exists():
        return {}
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def final_key(sha256: str) -> str:
    return f"sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def recording_url(visit: Any) -> str:
    return f"/api/v1/visits/{getattr(visit, 'pk', visit)}/recording/"


@pytest.fixture(autouse=True)
def _whitenoise_indexes_lazily(settings: Any) -> None:
    """WhiteNoise indexes every static file whenever a test client loads the middleware,
    and these tests make a few clients each; uploads never touch static files."""
    settings.WHITENOISE_AUTOREFRESH = True
