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
from tests import images
from tests.childserver import free_port
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
    segment_meta,
    sha,
    upload_id,
)
from tests.s3 import Bucket, copy_as_s3_takes_it, s3_settings

# On the pinned clock (the root conftest's ``clock``), set before ``world`` is built.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clock")]


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
        "before-sign.s3.CopyObject", copy_as_s3_takes_it
    )
    yield Bucket(name, client, found)
    if s3.server is None:
        s3.start()


def jpeg(colour: str) -> bytes:
    return images.jpeg(colour=colour, taken_at=timezone.now().astimezone(ZONE))


def assert_ledger_whole() -> None:
    report = audit(strict=True)
    assert report.ok, report.problems


def assert_retry_stored(
    agent: Any, visit: Any, bucket: Bucket, form: dict[str, Any], entries: int
) -> None:
    """The phone sends the photo ``form`` again once storage is back: 201, the bytes at their
    final key alone (nothing left in staging), one ledger entry more, the ledger whole."""
    retried = post_form(agent, photos_url(visit), form)
    assert retried.status_code == 201, retried.content
    assert bucket.keys() == [final_path(form["sha256"])]
    assert bucket.versions("staging/") == []
    assert LedgerEntry.objects.count() == entries + 1
    assert_ledger_whole()


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
    # The same request again (same id), its file sent anew.
    form["file"] = SimpleUploadedFile("photo.jpg", data, "application/octet-stream")
    assert_retry_stored(agent, visit, bucket, form, entries)


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


# --- S3 answering 5xx, or not answering at all ------------------------------------------------


class FaultyS3:
    """An HTTP proxy in front of moto that can answer ``PUT`` (PutObject) with an error, or
    accept requests and never answer them (a hung S3), and otherwise passes requests on."""

    def __init__(self, upstream: str) -> None:
        import http.client
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.fault: str | int | None = None  # None, a status for PUTs, or "hang"
        self.seen: list[str] = []
        self.released = threading.Event()
        proxy = self
        host, port = upstream.removeprefix("http://").split(":")

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def relay(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                proxy.seen.append(self.command)
                if proxy.fault == "hang":
                    proxy.released.wait(60)  # never answers within the client's timeout
                    self.close_connection = True
                    return
                if isinstance(proxy.fault, int) and self.command == "PUT":
                    error = (
                        b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>"
                        + (b"ServiceUnavailable" if proxy.fault == 503 else b"InternalError")
                        + b"</Code><Message>injected</Message></Error>"
                    )
                    self.send_response(proxy.fault)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(error)))
                    self.end_headers()
                    self.wfile.write(error)
                    return
                connection = http.client.HTTPConnection(host, int(port), timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                connection.request(self.command, self.path, body=body, headers=headers)
                answer = connection.getresponse()
                data = answer.read()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("connection", "transfer-encoding", "content-length"):
                        self.send_header(name, value)
                if self.command == "HEAD":
                    self.send_header("Content-Length", answer.getheader("Content-Length") or "0")
                else:
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                connection.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = relay

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def faulty(s3: S3Server, bucket: Bucket, settings: Any) -> Iterator[FaultyS3]:
    """The evidence storage reaching the bucket through ``FaultyS3``, with the storage's own
    client settings (timeouts and retries), made short for the test."""
    proxy = FaultyS3(s3.endpoint)
    options = s3_settings(proxy.endpoint, bucket.name)
    options["OPTIONS"].update({"connect_timeout_s": 1, "read_timeout_s": 1, "max_attempts": 2})
    settings.STORAGES = {**settings.STORAGES, "evidence": options}
    found = evidence_storage()
    found.connection.meta.client.meta.events.register(
        "before-sign.s3.CopyObject", copy_as_s3_takes_it
    )
    yield proxy
    proxy.close()


def test_the_s3_client_has_bounded_timeouts_and_retries_by_default(
    bucket: Bucket, settings: Any
) -> None:
    options = s3_settings("http://127.0.0.1:9", bucket.name)
    settings.STORAGES = {**settings.STORAGES, "evidence": options}
    config = evidence_storage().connection.meta.client.meta.config
    assert (config.connect_timeout, config.read_timeout) == (5, 15)
    assert config.retries == {"total_max_attempts": 3, "mode": "standard"}


@pytest.mark.parametrize("status", [500, 503])
def test_s3_answering_5xx_to_put_object_is_503_with_retry_after_and_the_retry_is_stored(
    agent: Any, visit: Any, bucket: Bucket, faulty: FaultyS3, status: int
) -> None:
    import time

    data = jpeg("olive")
    entries = LedgerEntry.objects.count()
    faulty.fault = status
    started = time.monotonic()
    response = post_form(agent, photos_url(visit), photo_form(data))
    took = time.monotonic() - started

    assert_problem(response, 503, "storage_unavailable")
    assert response["Retry-After"] == "5"
    assert took < 10, f"{took:.1f} s"
    assert faulty.seen.count("PUT") == 2  # retried once (max_attempts 2), then given up
    assert (Photo.objects.count(), EvidenceFile.objects.count()) == (0, 0)
    assert LedgerEntry.objects.count() == entries
    assert bucket.versions() == []

    faulty.fault = None
    assert_retry_stored(agent, visit, bucket, photo_form(data), entries)


def test_s3_that_hangs_is_503_within_the_timeouts_and_the_retry_is_stored(
    agent: Any, visit: Any, bucket: Bucket, faulty: FaultyS3
) -> None:
    import time

    data = jpeg("coral")
    entries = LedgerEntry.objects.count()
    faulty.fault = "hang"
    started = time.monotonic()
    response = post_form(agent, photos_url(visit), photo_form(data))
    took = time.monotonic() - started

    assert_problem(response, 503, "storage_unavailable")
    assert response["Retry-After"] == "5"
    # Two attempts of a one-second read timeout (and a short back-off), not minutes.
    assert took < 10, f"{took:.1f} s"
    assert (Photo.objects.count(), EvidenceFile.objects.count()) == (0, 0)

    faulty.fault = None
    assert_retry_stored(agent, visit, bucket, photo_form(data), entries)


def test_s3_failing_on_the_last_tus_patch_is_503_and_the_retry_completes(
    agent: Any, visit: Any, bucket: Bucket, faulty: FaultyS3
) -> None:
    data = audio("recording_seg0.m4a")
    url = created(agent, data, segment_meta(visit, data))
    assert patch(agent, url, data[:20000], 0).status_code == 204
    faulty.fault = 503
    response = patch(agent, url, data[20000:], 20000)
    assert_tus_problem(response, 503, "storage_unavailable")
    assert response["Retry-After"] == "5"
    assert AudioSegment.objects.count() == 0
    assert Upload.objects.get(pk=upload_id(url)).offset == len(data)

    faulty.fault = None
    assert patch(agent, url, b"", len(data)).status_code == 204
    assert AudioSegment.objects.get().file_id == sha(data)
    assert bucket.versions("staging/") == []
    assert_ledger_whole()
