"""A PATCH's bytes are on disk before its offset is acknowledged, and what a PATCH costs in
queries is pinned (counts, not times)."""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fieldvisit.models import Visit
from fieldvisit.tus import partials
from tests.helpers import (
    audio,
    created,
    head,
    partial_path,
    patch,
    segment_meta,
    stops_of,
    upload_id,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def data() -> bytes:
    return audio("recording_seg0.m4a")


@pytest.fixture
def url(agent: Any, world: Any, data: bytes) -> str:
    visit: Visit = stops_of(world.route)[0].visit
    return created(agent, data, segment_meta(visit, data))


def _sets_offset(sql: str) -> bool:
    """An UPDATE of an upload's offset (not one that only checks it in its WHERE)."""
    return (
        sql.startswith('UPDATE "fieldvisit_upload" SET') and '"offset" =' in sql.split("WHERE")[0]
    )


def _offset_writes(queries: list[dict[str, Any]]) -> list[str]:
    return [q["sql"] for q in queries if _sets_offset(q["sql"])]


def test_the_chunk_is_synced_before_its_offset_is_written(
    agent: Any, url: str, data: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[tuple[str, Any]] = []
    real_sync = os.fdatasync

    def sync(fd: int) -> None:
        real_sync(fd)
        events.append(("sync", os.fstat(fd).st_size))

    def noted(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if _sets_offset(sql):
            events.append(("offset", sql))
        return execute(sql, params, many, context)

    monkeypatch.setattr(os, "fdatasync", sync)
    with connection.execute_wrapper(noted):
        assert patch(agent, url, data[:1000], 0).status_code == 204
        assert patch(agent, url, data[1000:5000], 1000).status_code == 204

    assert [kind for kind, _ in events] == ["sync", "offset", "sync", "offset"]
    assert [size for kind, size in events if kind == "sync"] == [1000, 5000]


def test_a_failed_sync_acknowledges_nothing_and_the_chunk_can_be_sent_again(
    agent: Any, url: str, data: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert patch(agent, url, data[:1000], 0).status_code == 204

    def failing(fd: int) -> None:
        raise OSError(5, "Input/output error")

    with monkeypatch.context() as broken:
        broken.setattr(os, "fdatasync", failing)
        agent.raise_request_exception = False
        response = patch(agent, url, data[1000:5000], 1000)
        agent.raise_request_exception = True
    assert response.status_code == 500

    assert head(agent, url)["Upload-Offset"] == "1000"
    assert partial_path(url).read_bytes() == data[:1000]
    again = patch(agent, url, data[1000:5000], 1000)
    assert again.status_code == 204
    assert again["Upload-Offset"] == "5000"
    assert partial_path(url).read_bytes() == data[:5000]


def test_an_empty_patch_syncs_nothing(agent: Any, url: str, data: bytes) -> None:
    assert patch(agent, url, data[:1000], 0).status_code == 204
    before = partials.syncs
    response = patch(agent, url, b"", 1000)
    assert response.status_code == 204
    assert response["Upload-Offset"] == "1000"
    assert partials.syncs == before


def test_a_patch_in_the_middle_of_an_upload_costs_four_queries(
    agent: Any, url: str, data: bytes
) -> None:
    """The token (with the agent, profile, team and roles), the upload (with its visit's
    route and team, for the uploader check), the lease taken, and the lease given back with
    the new offset: the owner is the one the token just read, not read again."""
    assert patch(agent, url, data[:1000], 0).status_code == 204  # the token's last use noted
    with CaptureQueriesContext(connection) as queries:
        response = patch(agent, url, data[1000:3000], 1000)
    assert response.status_code == 204
    assert len(queries.captured_queries) == 4, [q["sql"] for q in queries.captured_queries]
    assert len(_offset_writes(queries.captured_queries)) == 1
    assert partials.path_for(upload_id(url)).stat().st_size == 3000
