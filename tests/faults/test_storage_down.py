# ruff: noqa: F811 - fixtures named ``world`` take the imported fixture of that name
"""Evidence storage (S3 on moto's real HTTP server, on loopback) stopped in the middle of
uploads: ``503 storage_unavailable``, no row committed, and the client's retry succeeds once
the storage is back. Stopped after the commit (at promotion), the row stands and the sweep
moves its bytes to their final, locked key when the storage returns.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from moto.server import ThreadedMotoServer

from fieldvisit.evidence import storage
from fieldvisit.evidence.storage import EvidenceS3Storage, evidence_storage, sweep_staging
from fieldvisit.ledger.audit import audit
from fieldvisit.models import AudioSegment, EvidenceFile, LedgerEntry, Photo, Upload
from tests.childserver import free_port
from tests.evidence import images
from tests.evidence.conftest import final_path, photo_form, photos_url, post_form
from tests.evidence.test_storage import Bucket, _copy_as_s3_takes_it, s3_settings
from tests.uploads.conftest import (  # noqa: F401 - fixtures shared on purpose
    ZONE,
    agent,
    assert_problem,
    assert_tus_problem,
    audio,
    clock,
    created,
    head,
    patch,
    segment_meta,
    sha,
    upload_id,
    visit,
    world,
)

pytestmark = pytest.mark.django_db(transaction=True)


class S3Server:
    """moto's S3 HTTP server on one loopback port, which can be stopped and started again
    (moto keeps its buckets in this process, so they outlive a restart)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.server: ThreadedMotoServer | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()

    def stop(self) -> None:
        """Stopped for real: the port refuses connections (not merely unanswered)."""
        assert self.server is not None and self.server._server is not None
        listening = self.server._server
        self.server.stop()
        listening.server_close()
        self.server = None


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    running = S3Server()
    running.start()
    yield running
    if running.server is not None:
        running.stop()


@pytest.fixture
def bucket(s3: S3Server, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Bucket]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    name = f"evidence-{uuid.uuid4().hex[:16]}"
    client = boto3.client("s3", endpoint_url=s3.endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    options = s3_settings(s3.endpoint, name)
    # Fail fast when the storage is down (the default retries back off for seconds).
    options["OPTIONS"]["client_config"] = Config(
        retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=2, read_timeout=10
    )
    settings.STORAGES = {**settings.STORAGES, "evidence": options}
    found = evidence_storage()
    assert isinstance(found, EvidenceS3Storage)
    found.connection.meta.client.meta.events.register(
        "before-sign.s3.CopyObject", _copy_as_s3_takes_it
    )
    yield Bucket(name, client, found)
    if s3.server is None:
        s3.start()


def jpeg(colour: str) -> bytes:
    return images.jpeg(colour=colour, taken_at=timezone.now().astimezone(ZONE))


def assert_ledger_whole() -> None:
    report = audit(strict=True)
    assert report.ok, report.problems


def test_storage_down_when_a_photo_arrives_is_503_and_the_retry_is_stored(
    agent: Any, visit: Any, bucket: Bucket, s3: S3Server
) -> None:
    data = jpeg("teal")
    form = photo_form(data)
    entries = LedgerEntry.objects.count()
    s3.stop()
    response = post_form(agent, photos_url(visit), form)
    assert_problem(response, 503, "storage_unavailable")
    assert (Photo.objects.count(), EvidenceFile.objects.count()) == (0, 0)
    assert LedgerEntry.objects.count() == entries

    s3.start()
    assert bucket.versions() == []
    form["file"] = SimpleUploadedFile("photo.jpg", data, "application/octet-stream")
    retried = post_form(agent, photos_url(visit), form)
    assert retried.status_code == 201, retried.content
    assert bucket.keys() == [final_path(sha(data))]
    assert bucket.versions("staging/") == []
    assert LedgerEntry.objects.count() == entries + 1
    assert_ledger_whole()


def test_storage_down_on_the_last_tus_patch_is_503_and_the_retry_completes(
    agent: Any, visit: Any, bucket: Bucket, s3: S3Server
) -> None:
    data = audio("recording_seg0.m4a")
    url = created(agent, data, segment_meta(visit, data))
    assert patch(agent, url, data[:20000], 0).status_code == 204
    s3.stop()
    assert_tus_problem(patch(agent, url, data[20000:], 20000), 503, "storage_unavailable")
    assert AudioSegment.objects.count() == 0
    assert Upload.objects.get(pk=upload_id(url)).offset == len(data)

    s3.start()
    assert head(agent, url)["Upload-Offset"] == str(len(data))
    assert patch(agent, url, b"", len(data)).status_code == 204
    assert AudioSegment.objects.get().file_id == sha(data)
    assert bucket.keys() == [final_path(sha(data))]
    assert bucket.versions("staging/") == []
    assert_ledger_whole()


def test_storage_down_at_promotion_keeps_the_row_and_the_sweep_finishes(
    agent: Any, visit: Any, bucket: Bucket, s3: S3Server, clock: Any, monkeypatch: Any
) -> None:
    data = jpeg("plum")
    real_promote = storage.promote

    def storage_goes_down_first(*args: Any) -> None:
        s3.stop()
        real_promote(*args)

    monkeypatch.setattr(storage, "promote", storage_goes_down_first)
    response = post_form(agent, photos_url(visit), photo_form(data))
    monkeypatch.undo()
    # Committed before the storage failed: the record and its ledger entry stand, and the
    # bytes wait, staged, for the sweep.
    assert response.status_code == 201, response.content
    assert EvidenceFile.objects.filter(sha256=sha(data)).exists()
    s3.start()
    [staged] = bucket.keys()
    assert staged.startswith("staging/")

    clock.shift(dt.timedelta(hours=2))
    assert sweep_staging() == {"promoted": 1, "removed": 0}
    key = final_path(sha(data))
    assert bucket.keys() == [key]
    assert bucket.versions("staging/") == []
    head_object = bucket.client.head_object(Bucket=bucket.name, Key=key)
    assert head_object["ObjectLockMode"] == "COMPLIANCE"
    assert bucket.client.get_object(Bucket=bucket.name, Key=key)["Body"].read() == data
    assert_ledger_whole()
