"""The database lost in the middle of a request, at every statement that matters: the API
answers ``503 database_unavailable`` with ``Retry-After`` (tus answers included), never a
500; nothing is half-stored; the phone's retry succeeds.

The loss is injected where psycopg or sqlite3 would raise it, at the statement itself
(``connection.execute_wrapper``), so the request's own transaction handling is what is tested.
A real cut connection (``pg_terminate_backend``) under a real server is in
``test_server_faults``.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import InterfaceError, OperationalError, connection
from django.test import RequestFactory
from django.utils import timezone

from fieldvisit.api import errors
from fieldvisit.choices import UploadStatus
from fieldvisit.evidence.storage import evidence_storage, sweep_staging
from fieldvisit.ledger.audit import audit
from fieldvisit.models import AudioSegment, EvidenceFile, LedgerEntry, Photo, Upload
from tests import images
from tests.helpers import (
    ZONE,
    assert_problem,
    assert_tus_problem,
    audio,
    created,
    final_path,
    head,
    patch,
    photo_form,
    photos_url,
    post_form,
    recording_url,
    segment_meta,
    sha,
    stored_files,
    upload_id,
)

# On the pinned clock (the root conftest's ``clock``), set before ``world`` is built.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clock")]


@contextmanager
def database_lost(when: Callable[[str], bool]) -> Iterator[list[str]]:
    """Statements for which ``when(sql)`` holds fail as on a lost connection; yields the
    statements that failed."""
    failed: list[str] = []

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if when(sql):
            failed.append(sql)
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield failed


def insert_into(table: str) -> Callable[[str], bool]:
    """The statement that inserts into ``table``: alone, or within a statement that writes
    several tables at once (a ledger append on PostgreSQL: ``WITH e AS (INSERT INTO …)``)."""
    insert = f'INSERT INTO "{table}"'
    return lambda sql: sql.startswith(insert) or (sql.startswith("WITH ") and insert in sql)


def assert_unavailable(response: Any) -> dict[str, Any]:
    problem = assert_problem(response, 503, "database_unavailable")
    assert response["Retry-After"] == "5"
    return problem


def age_staging(by: dt.timedelta = dt.timedelta(hours=2)) -> None:
    """Make staged files look as old as the sweep wants (the tests' clock is pinned)."""
    staging = Path(evidence_storage().staging_dir())
    then = (timezone.now() - by).timestamp()
    for path in staging.iterdir():
        os.utime(path, (then, then))


def assert_ledger_whole() -> None:
    report = audit(strict=True)
    assert report.ok, report.problems
    indexes = list(LedgerEntry.objects.order_by("index").values_list("index", flat=True))
    assert indexes == list(range(len(indexes)))


def jpeg(colour: str) -> bytes:
    return images.jpeg(colour=colour, taken_at=timezone.now().astimezone(ZONE))


def again(form: dict[str, Any], data: bytes) -> dict[str, Any]:
    """The same form, sent again (a file can only be read once)."""
    return {**form, "file": SimpleUploadedFile("photo.jpg", data, "application/octet-stream")}


@pytest.mark.parametrize(
    "table", ["fieldvisit_evidencefile", "fieldvisit_photo", LedgerEntry._meta.db_table]
)
def test_the_database_lost_while_storing_a_photo_keeps_nothing(
    agent: Any, visit: Any, table: str
) -> None:
    data = jpeg("teal")
    form = photo_form(data)
    entries = LedgerEntry.objects.count()
    with database_lost(insert_into(table)) as failed:
        assert_unavailable(post_form(agent, photos_url(visit), form))
    assert failed
    assert (Photo.objects.count(), EvidenceFile.objects.count()) == (0, 0)
    assert LedgerEntry.objects.count() == entries
    assert_ledger_whole()
    # Whether the commit happened is unknowable from here, so the staged bytes wait for the
    # sweep, which finds no row citing them and removes them.
    assert [name.split("/")[0] for name in stored_files()] == ["staging"]
    age_staging()
    assert sweep_staging() == {"promoted": 0, "removed": 1}
    assert stored_files() == {}

    retried = post_form(agent, photos_url(visit), again(form, data))
    assert retried.status_code == 201, retried.content
    assert stored_files() == {final_path(sha(data)): data}
    assert LedgerEntry.objects.count() == entries + 1
    assert_ledger_whole()


def test_a_commit_whose_answer_was_lost_keeps_the_bytes_for_the_row(
    agent: Any, visit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server committed, then the connection died before saying so: the row exists,
    so its bytes must not be thrown away. The sweep promotes them."""
    data = jpeg("olive")
    form = photo_form(data)
    real_commit = connection.commit

    def commit_then_lose_the_answer() -> None:
        real_commit()
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(connection, "commit", commit_then_lose_the_answer)
    assert_unavailable(post_form(agent, photos_url(visit), form))
    monkeypatch.undo()
    assert Photo.objects.filter(pk=form["id"]).exists()  # committed after all
    assert [name.split("/")[0] for name in stored_files()] == ["staging"]

    retried = post_form(agent, photos_url(visit), again(form, data))
    assert retried.status_code == 200, retried.content  # the phone's retry finds it
    age_staging()
    assert sweep_staging() == {"promoted": 1, "removed": 0}
    assert stored_files() == {final_path(sha(data)): data}
    assert_ledger_whole()


def test_no_database_at_all_is_503_not_500(agent: Any, visit: Any) -> None:
    with database_lost(lambda sql: True) as failed:
        assert_unavailable(agent.get(recording_url(visit)))
        data = audio("recording_seg0.m4a")
        somewhere = f"/api/v1/uploads/{visit.pk}/"
        assert_tus_problem(patch(agent, somewhere, b"x", 0), 503, "database_unavailable")
        status = head(agent, somewhere)  # no body: the status and headers say it
        assert (status.status_code, status["Retry-After"]) == (503, "5")
        assert status["Tus-Resumable"] == "1.0.0"
        assert_unavailable(post_form(agent, photos_url(visit), photo_form(data)))
    assert failed


def test_the_database_lost_on_the_last_tus_patch_can_be_retried(agent: Any, visit: Any) -> None:
    data = audio("recording_seg0.m4a")
    url = created(agent, data, segment_meta(visit, data))
    with database_lost(insert_into("fieldvisit_audiosegment")):
        response = patch(agent, url, data, 0)
    assert_tus_problem(response, 503, "database_unavailable")
    assert response["Retry-After"] == "5"
    assert AudioSegment.objects.count() == 0
    upload = Upload.objects.get(pk=upload_id(url))
    assert (upload.status, upload.offset, upload.lease) == (UploadStatus.RECEIVING, len(data), "")
    assert head(agent, url)["Upload-Offset"] == str(len(data))

    assert patch(agent, url, b"", len(data)).status_code == 204  # the last PATCH, again
    segment = AudioSegment.objects.get()
    assert segment.file_id == sha(data)
    age_staging()
    sweep_staging()
    assert stored_files() == {final_path(sha(data)): data}
    assert_ledger_whole()


def test_the_database_lost_after_a_chunk_was_written_resumes_at_the_stored_offset(
    agent: Any, visit: Any
) -> None:
    data = audio("recording_seg0.m4a")
    url = created(agent, data, segment_meta(visit, data))
    assert patch(agent, url, data[:20000], 0).status_code == 204

    def records_offset(sql: str) -> bool:
        return sql.startswith('UPDATE "fieldvisit_upload"') and '"offset"' in sql.split("WHERE")[0]

    with database_lost(records_offset) as failed:
        assert_tus_problem(patch(agent, url, data[20000:40000], 20000), 503, "database_unavailable")
    assert failed
    # The bytes reached the file, but the database never acknowledged them; the lease the
    # request could not give back does not lock the client out.
    assert Upload.objects.get(pk=upload_id(url)).lease != ""
    assert head(agent, url)["Upload-Offset"] == "20000"
    assert patch(agent, url, data[20000:40000], 20000).status_code == 204
    assert patch(agent, url, data[40000:], 40000).status_code == 204
    assert AudioSegment.objects.get().file_id == sha(data)


@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
@pytest.mark.parametrize(
    ("path", "content_type"), [("/api/v1/routes/", "application/problem+json"), ("/admin/", "")]
)
def test_a_database_failure_outside_a_drf_view_is_503(
    error: type[Exception], path: str, content_type: str
) -> None:
    """Django's last-resort handler (a middleware or a plain view failed): still a 503."""
    request = RequestFactory().get(path)
    try:
        raise error("connection already closed")
    except error:
        response = errors.server_error(request)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    if content_type:
        assert response["Content-Type"] == content_type
        assert b'"database_unavailable"' in response.content


def test_other_errors_are_still_500() -> None:
    request = RequestFactory().get("/api/v1/routes/")
    try:
        raise RuntimeError("bug")
    except RuntimeError:
        response = errors.server_error(request)
    assert response.status_code == 500
