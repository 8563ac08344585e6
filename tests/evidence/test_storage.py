"""The content-addressed evidence storage: staging, promotion after commit, the sweeper.

The file-system backend is tested on the test's own directory. The S3 backend is tested
against a real S3 HTTP API on loopback (moto's server mode, one per test module and worker),
through the same upload API the phones use, with a bucket that has Object Lock enabled.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import stat
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from django.utils import timezone
from moto.server import ThreadedMotoServer

from fieldvisit.evidence import storage
from fieldvisit.evidence.storage import (
    EvidenceFileSystemStorage,
    EvidenceS3Storage,
    evidence_storage,
    key_for,
    sweep_staging,
)
from fieldvisit.models import EvidenceFile, LedgerEntry, Photo
from tests import images
from tests.helpers import (
    ZONE,
    assert_problem,
    evidence_root,
    final_path,
    photo_form,
    photos_url,
    post_form,
    sha,
    stored_files,
)
from tests.s3 import LOCK_DAYS, Bucket, copy_as_s3_takes_it, s3_settings

pytestmark = pytest.mark.django_db(transaction=True)


def jpeg(colour: str = "teal") -> bytes:
    return images.jpeg(colour=colour, taken_at=timezone.now().astimezone(ZONE))


def write_only_bits(path: str | Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode) & 0o222


# --- file system ---------------------------------------------------------------------------


@pytest.fixture
def fs() -> EvidenceFileSystemStorage:
    found = evidence_storage()
    assert isinstance(found, EvidenceFileSystemStorage)
    return found


def staged(data: bytes, digest: str | None = None) -> str:
    name = storage.stage(io.BytesIO(data), digest or sha(data))
    assert name.startswith("staging/")
    return name


def row(data: bytes, media_type: str = "image/jpeg") -> EvidenceFile:
    return EvidenceFile.objects.create(
        sha256=sha(data),
        size=len(data),
        crc32=zlib.crc32(data),
        media_type=media_type,
        stored_at=timezone.now(),
    )


def test_promote_moves_staged_bytes_to_their_content_address_read_only(
    fs: EvidenceFileSystemStorage,
) -> None:
    data = jpeg()
    name = staged(data)
    assert stored_files() == {name: data}
    storage.promote(name, sha(data), "image/jpeg")
    assert stored_files() == {final_path(sha(data)): data}
    assert key_for(sha(data)) == final_path(sha(data))
    assert write_only_bits(fs.path(key_for(sha(data)))) == 0
    assert storage.stored(sha(data))


def test_promote_never_overwrites_a_final_file(fs: EvidenceFileSystemStorage) -> None:
    data = jpeg()
    final = Path(fs.path(key_for(sha(data))))
    final.parent.mkdir(parents=True)
    final.write_bytes(b"already here")
    name = staged(data)
    storage.promote(name, sha(data), "image/jpeg")
    assert final.read_bytes() == b"already here"
    assert not fs.exists(name)
    assert stored_files() == {final_path(sha(data)): b"already here"}


def test_an_uploaded_photo_is_stored_read_only(agent: Any, visit: Any) -> None:
    data = jpeg("olive")
    response = post_form(agent, photos_url(visit), photo_form(data))
    assert response.status_code == 201, response.content
    path = evidence_root() / final_path(sha(data))
    assert path.read_bytes() == data
    assert write_only_bits(path) == 0


def test_settings_may_still_choose_the_file_mode(settings: Any, tmp_path: Path) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "evidence": {
            "BACKEND": "fieldvisit.evidence.storage.EvidenceFileSystemStorage",
            "OPTIONS": {"location": tmp_path / "other", "file_permissions_mode": 0o400},
        },
    }
    data = jpeg()
    storage.promote(staged(data), sha(data), "image/jpeg")
    mode = os.stat(evidence_storage().path(key_for(sha(data)))).st_mode
    assert stat.S_IMODE(mode) == 0o400


def age(fs: EvidenceFileSystemStorage, name: str, by: dt.timedelta) -> None:
    """Set a staged file's modification time ``by`` before now (the test's pinned clock)."""
    moment = (timezone.now() - by).timestamp()
    os.utime(fs.path(name), (moment, moment))


def test_the_sweeper_finishes_cited_promotions_and_removes_the_rest(
    fs: EvidenceFileSystemStorage,
) -> None:
    cited, orphan, fresh_cited, fresh_orphan = (jpeg(c) for c in ("red", "green", "blue", "gray"))
    row(cited)
    row(fresh_cited)
    names = {data: staged(data) for data in (cited, orphan, fresh_cited, fresh_orphan)}
    for data in (cited, orphan):
        age(fs, names[data], dt.timedelta(hours=1, seconds=1))
    for data in (fresh_cited, fresh_orphan):
        age(fs, names[data], dt.timedelta(minutes=59))

    assert sweep_staging() == {"promoted": 1, "removed": 1}
    assert stored_files() == {
        final_path(sha(cited)): cited,
        names[fresh_cited]: fresh_cited,
        names[fresh_orphan]: fresh_orphan,
    }
    assert write_only_bits(fs.path(key_for(sha(cited)))) == 0
    # Nothing left that is old enough: a second sweep does nothing.
    assert sweep_staging() == {"promoted": 0, "removed": 0}


def test_the_sweeper_takes_its_cutoff_from_the_caller(fs: EvidenceFileSystemStorage) -> None:
    data = jpeg()
    name = staged(data)
    age(fs, name, dt.timedelta(minutes=10))
    assert sweep_staging(older_than=dt.timedelta(minutes=11)) == {"promoted": 0, "removed": 0}
    assert sweep_staging(older_than=dt.timedelta(minutes=9)) == {"promoted": 0, "removed": 1}
    assert stored_files() == {}


def test_the_sweeper_never_overwrites_a_final_file(fs: EvidenceFileSystemStorage) -> None:
    data = jpeg()
    row(data)
    final = Path(fs.path(key_for(sha(data))))
    final.parent.mkdir(parents=True)
    final.write_bytes(data)
    os.chmod(final, 0o440)
    name = staged(b"other bytes under the same name", sha(data))
    age(fs, name, dt.timedelta(hours=2))
    assert sweep_staging() == {"promoted": 1, "removed": 0}
    assert stored_files() == {final_path(sha(data)): data}


def test_the_sweeper_with_nothing_staged(fs: EvidenceFileSystemStorage) -> None:
    assert not (evidence_root() / "staging").exists()
    assert sweep_staging() == {"promoted": 0, "removed": 0}


# --- S3 with Object Lock, on a real S3 HTTP API (moto server) ------------------------------


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_endpoint: str, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Bucket:
    """A fresh bucket with Object Lock, and the evidence storage pointed at it."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    name = f"evidence-{uuid.uuid4().hex[:16]}"
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    lock = client.get_object_lock_configuration(Bucket=name)["ObjectLockConfiguration"]
    assert lock["ObjectLockEnabled"] == "Enabled"
    settings.STORAGES = {**settings.STORAGES, "evidence": s3_settings(s3_endpoint, name)}
    found = evidence_storage()
    assert isinstance(found, EvidenceS3Storage)
    found.connection.meta.client.meta.events.register(
        "before-sign.s3.CopyObject", copy_as_s3_takes_it
    )
    return Bucket(name, client, found)


def test_an_uploaded_photo_is_a_locked_object_at_its_content_address(
    agent: Any, visit: Any, bucket: Bucket
) -> None:
    data = jpeg()
    key = final_path(sha(data))
    response = post_form(agent, photos_url(visit), photo_form(data))
    assert response.status_code == 201, response.content

    assert bucket.keys() == [key]
    head = bucket.client.head_object(Bucket=bucket.name, Key=key)
    assert head["ContentType"] == "image/jpeg"
    assert head["ContentLength"] == len(data)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    expected_until = timezone.now() + dt.timedelta(days=LOCK_DAYS)
    assert abs(head["ObjectLockRetainUntilDate"] - expected_until) < dt.timedelta(minutes=2)
    body = bucket.client.get_object(Bucket=bucket.name, Key=key)["Body"].read()
    assert body == data
    assert storage.stored(sha(data))
    # The staged object is gone for good: no delete marker, no old version keeps its bytes.
    assert bucket.keys("staging/") == []
    assert bucket.versions("staging/") == []
    assert bucket.versions() == [(key, head["VersionId"])]


def test_the_bucket_refuses_to_delete_the_locked_version(
    agent: Any, visit: Any, bucket: Bucket
) -> None:
    data = jpeg("navy")
    key = final_path(sha(data))
    assert post_form(agent, photos_url(visit), photo_form(data)).status_code == 201
    version = bucket.client.head_object(Bucket=bucket.name, Key=key)["VersionId"]
    for bypass in (False, True):  # COMPLIANCE: not even with the governance bypass
        with pytest.raises(ClientError) as refused:
            bucket.client.delete_object(
                Bucket=bucket.name, Key=key, VersionId=version, BypassGovernanceRetention=bypass
            )
        assert refused.value.response["Error"]["Code"] == "AccessDenied"
    answer = bucket.client.get_object(Bucket=bucket.name, Key=key, VersionId=version)
    assert answer["Body"].read() == data


def test_the_same_bytes_twice_are_one_object_version(
    agent: Any, visit: Any, bucket: Bucket
) -> None:
    data = jpeg("maroon")
    key = final_path(sha(data))
    for _ in range(2):
        assert post_form(agent, photos_url(visit), photo_form(data)).status_code == 201
    assert Photo.objects.count() == 2
    assert [k for k, _version in bucket.versions()] == [key]


def test_a_hash_mismatch_puts_nothing_in_the_bucket(agent: Any, visit: Any, bucket: Bucket) -> None:
    response = post_form(agent, photos_url(visit), photo_form(jpeg(), sha256="0" * 64))
    assert_problem(response, 422, "hash_mismatch")
    assert bucket.versions() == []
    assert EvidenceFile.objects.count() == 0
    assert Photo.objects.count() == 0


def test_a_failure_inside_the_transaction_leaves_no_version_behind(
    agent: Any, visit: Any, bucket: Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fieldvisit.ledger import store

    def ledger_down(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("ledger down")

    monkeypatch.setattr(store, "append", ledger_down)
    response = post_form(agent, photos_url(visit), photo_form(jpeg("plum")))
    assert_problem(response, 500, "internal_error")
    # The bytes were staged before the transaction; discarding them removed every version.
    assert bucket.versions() == []
    assert EvidenceFile.objects.count() == 0


def test_a_bucket_that_cannot_take_the_file_is_503_and_keeps_nothing(
    agent: Any, visit: Any, bucket: Bucket, settings: Any, s3_endpoint: str
) -> None:
    missing = f"no-such-bucket-{uuid.uuid4().hex[:8]}"
    settings.STORAGES = {**settings.STORAGES, "evidence": s3_settings(s3_endpoint, missing)}
    response = post_form(agent, photos_url(visit), photo_form(jpeg()))
    assert_problem(response, 503, "storage_unavailable")
    assert Photo.objects.count() == 0
    assert EvidenceFile.objects.count() == 0
    assert not LedgerEntry.objects.filter(kind="photo.added").exists()
    assert bucket.versions() == []
    assert missing not in [b["Name"] for b in bucket.client.list_buckets()["Buckets"]]


def test_the_sweeper_on_s3(bucket: Bucket, clock: Any) -> None:
    cited, orphan, fresh = jpeg("red"), jpeg("green"), jpeg("blue")
    row(cited)
    old = {data: staged(data) for data in (cited, orphan)}
    clock.shift(dt.timedelta(hours=2))
    fresh_name = staged(fresh)

    assert sweep_staging() == {"promoted": 1, "removed": 1}
    key = final_path(sha(cited))
    assert sorted(bucket.keys()) == sorted([key, fresh_name])
    head = bucket.client.head_object(Bucket=bucket.name, Key=key)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert head["ContentType"] == "image/jpeg"
    assert bucket.client.get_object(Bucket=bucket.name, Key=key)["Body"].read() == cited
    assert not any(name in {k for k, _ in bucket.versions()} for name in old.values())


def test_thumbnails_are_made_from_the_s3_original(agent: Any, visit: Any, bucket: Bucket) -> None:
    from fieldvisit.evidence.thumbnails import thumbnail

    data = jpeg("purple")
    assert post_form(agent, photos_url(visit), photo_form(data)).status_code == 201
    made = thumbnail(sha(data))
    assert made.startswith(b"\xff\xd8\xff")
    assert made != data


def test_the_sweep_removes_temporary_upload_files_a_crash_left(settings: Any) -> None:
    from fieldvisit.evidence.storage import evidence_storage, sweep_staging

    staging = Path(evidence_storage().staging_dir())
    old = staging / "tmpabc123.upload"
    fresh = staging / "tmpdef456.upload"
    for path in (old, fresh):
        path.write_bytes(b"half a photo")
    from django.utils import timezone

    now = timezone.now().timestamp()  # the tests' clock, not the machine's
    os.utime(fresh, (now, now))
    os.utime(old, (now - 7200, now - 7200))
    assert sweep_staging()["removed"] == 1
    assert not old.exists()
    assert fresh.exists()
