"""tus 1.0.0 at /api/v1/uploads/, request by request: every status the protocol names, and
problem details with ``Tus-Resumable`` for every error, garbage headers included."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import subprocess
import sys
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from fieldvisit import jobs
from fieldvisit.actions import uploads as upload_actions
from fieldvisit.choices import UploadStatus
from fieldvisit.models import AudioSegment, Upload, Visit
from fieldvisit.rules import RuleViolation
from fieldvisit.tus import partials
from tests.helpers import (
    PROBLEM_JSON,
    TUS,
    UPLOADS_URL,
    assert_tus_problem,
    audio,
    create,
    created,
    final_path,
    head,
    metadata,
    partial_path,
    patch,
    path_of,
    segment_meta,
    send,
    sha,
    stops_of,
    stored_files,
    upload_id,
)

pytestmark = pytest.mark.django_db(transaction=True)

EXTENSIONS = {"creation", "creation-with-upload", "checksum", "expiration", "termination"}
SEGMENT = "recording_seg0.m4a"


def digest(algorithm: str, data: bytes) -> str:
    return f"{algorithm} {base64.b64encode(hashlib.new(algorithm, data).digest()).decode()}"


def offset_of(client: Any, url: str) -> int:
    response = head(client, url)
    assert response.status_code == 200, response.status_code
    return int(response["Upload-Offset"])


@pytest.fixture
def visit(world: Any) -> Visit:
    """The first stop's visit before anyone arrived: phones record (and upload) from before
    the first arrival, and the protocol does not depend on the visit's state."""
    return stops_of(world.route)[0].visit


@pytest.fixture
def data() -> bytes:
    return audio(SEGMENT)


@pytest.fixture
def url(agent: Any, visit: Any, data: bytes) -> str:
    """An upload of the segment, created and still empty."""
    return created(agent, data, segment_meta(visit, data))


@pytest.fixture
def started(agent: Any, url: str, data: bytes) -> str:
    """The same upload with its first 1000 bytes received."""
    response = patch(agent, url, data[:1000], 0)
    assert response.status_code == 204, response.content
    return url


# --- discovery and version --------------------------------------------------------------


def test_options_describes_the_server_without_authentication(anon: Any, settings: Any) -> None:
    detail = f"{UPLOADS_URL}00000000-0000-4000-8000-000000000000/"
    for path in (UPLOADS_URL, detail):
        response = anon.options(path)  # no token, no Tus-Resumable: discovery comes first

        assert response.status_code == 204, (path, response.content)
        assert response["Tus-Resumable"] == "1.0.0"
        assert response["Tus-Version"] == "1.0.0"
        assert set(response["Tus-Extension"].split(",")) == EXTENSIONS
        assert int(response["Tus-Max-Size"]) == settings.TUS_MAX_SIZE
        assert set(response["Tus-Checksum-Algorithm"].split(",")) == {"sha1", "sha256"}

    settings.TUS_MAX_SIZE = 12345
    assert anon.options(UPLOADS_URL)["Tus-Max-Size"] == "12345"


def test_creation_without_the_servers_tus_version_is_412(agent, visit, data) -> None:
    for version in (None, "", "0.2.2", "1.0", "2.0.0", "1.0.0, 2.0.0"):
        headers = {} if version is None else {"HTTP_TUS_RESUMABLE": version}
        response = agent.generic(
            "POST",
            UPLOADS_URL,
            b"",
            HTTP_UPLOAD_LENGTH=str(len(data)),
            HTTP_UPLOAD_METADATA=_meta(visit, data),
            **headers,
        )

        assert_tus_problem(response, 412, "tus_version_unsupported")
        assert "1.0.0" in response["Tus-Version"].split(","), version
    assert Upload.objects.count() == 0


def test_requests_on_an_upload_without_tus_resumable_are_412(agent, started, data) -> None:
    extra = {"content_type": "application/offset+octet-stream", "HTTP_UPLOAD_OFFSET": "1000"}
    for method in ("HEAD", "PATCH", "DELETE", "POST"):
        response = agent.generic(
            "POST" if method == "POST" else method,
            started,
            data[1000:2000],
            **extra,
            **({"HTTP_X_HTTP_METHOD_OVERRIDE": "PATCH"} if method == "POST" else {}),
        )

        assert response.status_code == 412, method
        assert response["Tus-Version"] == "1.0.0"
        assert response["Tus-Resumable"] == "1.0.0"
        assert response["Content-Type"] == PROBLEM_JSON
        if method != "HEAD":  # a HEAD answer has no body
            assert_tus_problem(response, 412, "tus_version_unsupported")
    assert offset_of(agent, started) == 1000
    assert partial_path(started).read_bytes() == data[:1000]


def test_without_a_token_only_options_answers(anon: Any, visit: Any, data: bytes) -> None:
    response = create(anon, len(data), _meta(visit, data))
    assert_tus_problem(response, 401, "not_authenticated")
    assert Upload.objects.count() == 0


def _meta(visit: Any, data: bytes) -> str:
    return metadata(**segment_meta(visit, data))


# --- creation, creation-with-upload, HEAD ---------------------------------------------------


def test_creation_answers_201_with_an_absolute_location(agent: Any, visit: Any, data: bytes):
    before = timezone.now()
    response = create(agent, len(data), segment_meta(visit, data))

    assert response.status_code == 201, response.content
    assert response["Tus-Resumable"] == "1.0.0"
    location = response["Location"]
    assert location.startswith(f"http://testserver{UPLOADS_URL}"), location
    assert response["Upload-Offset"] == "0"
    expires = parsedate_to_datetime(response["Upload-Expires"])
    lifetime = dt.timedelta(hours=settings.TUS_EXPIRES_AFTER_HOURS)
    assert before + lifetime - dt.timedelta(seconds=1) <= expires
    assert expires <= timezone.now() + lifetime
    upload = Upload.objects.get(pk=upload_id(location))
    assert (upload.length, upload.offset, upload.status) == (len(data), 0, UploadStatus.RECEIVING)
    assert partial_path(location).read_bytes() == b""
    # The Location works as given.
    assert agent.generic("HEAD", location, **TUS).status_code == 200


def test_creation_with_upload_keeps_the_bytes_sent_with_the_post(agent, visit, data):
    response = create(agent, len(data), segment_meta(visit, data), body=data[:5000])

    assert response.status_code == 201, response.content
    assert response["Upload-Offset"] == "5000"
    url = path_of(response["Location"])
    assert offset_of(agent, url) == 5000
    assert partial_path(url).read_bytes() == data[:5000]

    final = send(agent, url, data, start=5000)
    assert final.status_code == 204, final.content
    assert AudioSegment.objects.get().file_id == sha(data)


def test_creation_with_the_whole_file_completes_the_segment(agent, visit, data):
    response = create(agent, len(data), segment_meta(visit, data), body=data)

    assert response.status_code == 201, response.content
    assert response["Upload-Offset"] == str(len(data))
    segment = AudioSegment.objects.get()
    assert segment.id == upload_id(response["Location"])
    assert stored_files() == {final_path(sha(data)): data}


def test_creation_with_upload_needs_the_offset_content_type(agent, visit, data):
    response = agent.generic(
        "POST",
        UPLOADS_URL,
        data[:5000],
        content_type="text/plain",
        HTTP_UPLOAD_LENGTH=str(len(data)),
        HTTP_UPLOAD_METADATA=_meta(visit, data),
        **TUS,
    )
    assert_tus_problem(response, 415, "unsupported_media_type")


def test_head_gives_offset_length_and_the_metadata_as_sent(agent, visit, data):
    values = segment_meta(visit, data, filename="seg 0 - 门口.m4a")
    url = created(agent, data, values)
    assert patch(agent, url, data[:777], 0).status_code == 204

    response = head(agent, url)

    assert response.status_code == 200
    assert response["Upload-Offset"] == "777"
    assert response["Upload-Length"] == str(len(data))
    assert response["Cache-Control"] == "no-store"
    assert response["Tus-Resumable"] == "1.0.0"
    assert parsedate_to_datetime(response["Upload-Expires"]) > timezone.now()
    assert decode_metadata(response["Upload-Metadata"]) == {
        key: str(value) for key, value in values.items()
    }


def decode_metadata(header: str) -> dict[str, str]:
    pairs = (item.strip().split(" ") for item in header.split(","))
    return {p[0]: base64.b64decode(p[1]).decode() if len(p) > 1 else "" for p in pairs}


# --- PATCH ----------------------------------------------------------------------------------


def test_patches_append_and_answer_the_new_offset(agent, url, data):
    first = patch(agent, url, data[:1000], 0)
    second = patch(agent, url, data[1000:3000], 1000)

    assert (first.status_code, second.status_code) == (204, 204)
    assert (first["Upload-Offset"], second["Upload-Offset"]) == ("1000", "3000")
    assert second["Tus-Resumable"] == "1.0.0"
    assert second.content == b""
    assert partial_path(url).read_bytes() == data[:3000]


def test_patch_at_another_offset_is_409(agent, started, data):
    for offset in (0, 999, 1001, 5000):
        response = patch(agent, started, data[offset : offset + 500], offset)

        assert_tus_problem(response, 409, "upload_offset_mismatch")
        assert offset_of(agent, started) == 1000
        assert partial_path(started).read_bytes() == data[:1000]


def test_patch_with_another_content_type_is_415(agent, started, data):
    for content_type in ("application/octet-stream", "text/plain", "multipart/form-data", ""):
        response = patch(agent, started, data[1000:2000], 1000, content_type=content_type)

        assert_tus_problem(response, 415, "unsupported_media_type")
        assert offset_of(agent, started) == 1000
    assert partial_path(started).read_bytes() == data[:1000]


def test_matching_sha1_and_sha256_upload_checksums_are_accepted(agent, started, data):
    offset = 1000
    for algorithm in ("sha1", "sha256", "SHA256"):
        chunk = data[offset : offset + 8000]
        response = patch(
            agent, started, chunk, offset, HTTP_UPLOAD_CHECKSUM=digest(algorithm, chunk)
        )

        assert response.status_code == 204, (algorithm, response.content)
        offset += len(chunk)
        assert response["Upload-Offset"] == str(offset)
    assert partial_path(started).read_bytes() == data[:offset]


@pytest.mark.parametrize("algorithm", ["sha1", "sha256"])
def test_a_wrong_upload_checksum_is_460_and_appends_nothing(agent, started, data, algorithm):
    chunk = data[1000:9000]
    wrong = digest(algorithm, chunk[:-1] + b"?")

    response = patch(agent, started, chunk, 1000, HTTP_UPLOAD_CHECKSUM=wrong)

    assert_tus_problem(response, 460, "checksum_mismatch")
    assert response.reason_phrase == "Checksum Mismatch"
    assert offset_of(agent, started) == 1000
    assert partial_path(started).read_bytes() == data[:1000]
    # The client retries the same chunk, intact this time.
    retry = patch(agent, started, chunk, 1000, HTTP_UPLOAD_CHECKSUM=digest(algorithm, chunk))
    assert retry.status_code == 204
    assert partial_path(started).read_bytes() == data[:9000]


def test_an_unsupported_checksum_algorithm_is_400(agent, started, data):
    for algorithm in ("md5", "crc32", "sha512"):
        size = hashlib.new(algorithm).digest_size if algorithm != "crc32" else 4
        value = f"{algorithm} {base64.b64encode(b'x' * size).decode()}"
        response = patch(agent, started, data[1000:2000], 1000, HTTP_UPLOAD_CHECKSUM=value)

        assert_tus_problem(response, 400, "checksum_unsupported")
        assert offset_of(agent, started) == 1000


def test_a_checksummed_final_chunk_completes_the_segment(agent, started, data):
    rest = data[1000:]
    response = patch(agent, started, rest, 1000, HTTP_UPLOAD_CHECKSUM=digest("sha256", rest))

    assert response.status_code == 204, response.content
    assert response["Upload-Offset"] == str(len(data))
    assert AudioSegment.objects.get().file_id == sha(data)


def test_upload_length_over_the_max_size_is_413(agent, visit, data, settings):
    response = create(agent, settings.TUS_MAX_SIZE + 1, segment_meta(visit, data))

    assert_tus_problem(response, 413, "file_too_large")
    assert Upload.objects.count() == 0

    settings.TUS_MAX_SIZE = len(data) - 1
    response = create(agent, len(data), segment_meta(visit, data))
    assert_tus_problem(response, 413, "file_too_large")
    settings.TUS_MAX_SIZE = len(data)
    assert create(agent, len(data), segment_meta(visit, data)).status_code == 201


def test_a_patch_past_upload_length_is_413_and_appends_nothing(agent, visit, data):
    piece = data[:3000]
    url = created(agent, piece, segment_meta(visit, piece))
    assert patch(agent, url, piece[:1000], 0).status_code == 204

    response = patch(agent, url, data[1000:3001], 1000)

    assert_tus_problem(response, 413, "file_too_large")
    assert offset_of(agent, url) == 1000
    assert partial_path(url).read_bytes() == piece[:1000]


# --- who may see an upload, and for how long -----------------------------------------------


UNKNOWN = f"{UPLOADS_URL}0b1e3d52-8d2f-4f5e-9a41-111111111111/"


def test_an_unknown_upload_is_404(agent, visit):
    for method in ("HEAD", "PATCH", "DELETE"):
        response = agent.generic(
            method,
            UNKNOWN,
            b"abc",
            content_type="application/offset+octet-stream",
            HTTP_UPLOAD_OFFSET="0",
            **TUS,
        )
        assert response.status_code == 404, method
        assert response["Tus-Resumable"] == "1.0.0"
        assert response["Content-Type"] == PROBLEM_JSON
        if method != "HEAD":
            assert_tus_problem(response, 404, "not_found")


def test_another_users_upload_is_404(world, started, data):
    others = (world.client(world.agent_b, "phone-b"), world.client(world.outsider, "their-phone"))
    for client in others:
        for method in ("HEAD", "PATCH", "DELETE"):
            response = client.generic(
                method,
                started,
                data[1000:2000],
                content_type="application/offset+octet-stream",
                HTTP_UPLOAD_OFFSET="1000",
                **TUS,
            )

            assert response.status_code == 404, method
            assert response["Tus-Resumable"] == "1.0.0"
            if method != "HEAD":
                assert_tus_problem(response, 404, "not_found")
    upload = Upload.objects.get(pk=upload_id(started))
    assert (upload.offset, upload.status) == (1000, UploadStatus.RECEIVING)
    assert partial_path(started).read_bytes() == data[:1000]


def test_an_upload_past_its_expiry_is_410_and_the_job_frees_it(agent, visit, started, data, clock):
    later = created(agent, data, segment_meta(visit, data))
    # A PATCH moves the expiry on: the upload lives as long as it is being worked on.
    clock.shift(dt.timedelta(hours=1))
    moved = patch(agent, started, data[1000:2000], 1000)
    assert moved.status_code == 204
    lifetime = dt.timedelta(hours=settings.TUS_EXPIRES_AFTER_HOURS)
    expires = parsedate_to_datetime(moved["Upload-Expires"])
    assert expires >= timezone.now() + lifetime - dt.timedelta(seconds=5)
    assert parsedate_to_datetime(head(agent, later)["Upload-Expires"]) < expires

    clock.shift(lifetime + dt.timedelta(minutes=1))

    assert head(agent, started).status_code == 410
    assert_tus_problem(patch(agent, started, data[2000:3000], 2000), 410, "upload_expired")
    assert partial_path(started).exists()  # gone only once the job runs
    fresh = created(agent, data, segment_meta(visit, data))

    assert jobs.expire_uploads() == 2

    for url in (started, later):
        upload = Upload.objects.get(pk=upload_id(url))
        assert upload.status == UploadStatus.EXPIRED
        assert upload.ended_at is not None
        assert not partial_path(url).exists()
        assert head(agent, url).status_code == 410
    # The fresh upload is left alone.
    assert Upload.objects.get(pk=upload_id(fresh)).status == UploadStatus.RECEIVING
    assert partial_path(fresh).exists()
    assert jobs.expire_uploads() == 0


def test_expiry_set_on_the_row_is_honoured(agent, started, data):
    Upload.objects.filter(pk=upload_id(started)).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    assert_tus_problem(patch(agent, started, data[1000:2000], 1000), 410, "upload_expired")
    assert_tus_problem(agent.generic("DELETE", started, **TUS), 410, "upload_expired")


# --- termination ----------------------------------------------------------------------------


def test_terminating_an_unfinished_upload_forgets_it(agent, started):
    response = agent.generic("DELETE", started, **TUS)

    assert response.status_code == 204, response.content
    assert response["Tus-Resumable"] == "1.0.0"
    assert head(agent, started).status_code == 404
    assert not partial_path(started).exists()
    assert Upload.objects.get(pk=upload_id(started)).status == UploadStatus.TERMINATED
    assert_tus_problem(agent.generic("DELETE", started, **TUS), 404, "not_found")
    assert_tus_problem(patch(agent, started, b"x", 1000), 404, "not_found")


def test_a_completed_upload_cannot_be_terminated_or_changed(agent, url, data):
    assert send(agent, url, data, 40000).status_code == 204

    assert_tus_problem(agent.generic("DELETE", url, **TUS), 403, "upload_complete")
    assert_tus_problem(patch(agent, url, b"more", len(data)), 403, "upload_complete")

    response = head(agent, url)
    assert (response.status_code, response["Upload-Offset"]) == (200, str(len(data)))
    assert AudioSegment.objects.get().file_id == sha(data)
    assert stored_files() == {final_path(sha(data)): data}


# --- one writer at a time -------------------------------------------------------------------


def test_a_patch_while_another_request_holds_the_lease_is_423(agent, started, data):
    upload = Upload.objects.get(pk=upload_id(started))
    lease = upload_actions.take_lease(upload)

    response = patch(agent, started, data[1000:2000], 1000)
    assert_tus_problem(response, 423, "upload_locked")
    assert response.reason_phrase == "Locked"
    assert_tus_problem(agent.generic("DELETE", started, **TUS), 423, "upload_locked")
    # Nothing of the refused body reached the file, and HEAD still answers.
    assert offset_of(agent, started) == 1000
    assert partial_path(started).read_bytes() == data[:1000]
    # A second taker is refused too: one writer at a time, whoever asks.
    with pytest.raises(RuleViolation):
        upload_actions.take_lease(upload)

    lease.release()
    assert patch(agent, started, data[1000:2000], 1000).status_code == 204
    assert partial_path(started).read_bytes() == data[:2000]


def test_a_lease_left_by_a_dead_writer_is_taken_over_at_once(agent, started, data):
    # A server killed mid-PATCH leaves its lease in the row; its writer lock died with it.
    Upload.objects.filter(pk=upload_id(started)).update(
        lease="f" * 32, lease_until=timezone.now() + dt.timedelta(minutes=2)
    )
    assert head(agent, started)["Upload-Offset"] == "1000"
    assert patch(agent, started, data[1000:2000], 1000).status_code == 204
    assert Upload.objects.get(pk=upload_id(started)).lease == ""
    assert partial_path(started).read_bytes() == data[:2000]


def test_a_live_writer_on_another_process_keeps_its_lease(agent, started, data):
    """The lock, not the lease's time, says whether the writer lives: another process
    holding the upload's lock file keeps the upload locked whatever the row says."""
    Upload.objects.filter(pk=upload_id(started)).update(
        lease="f" * 32, lease_until=timezone.now() - dt.timedelta(minutes=5)
    )
    lock_file = partials.lock_path_for(upload_id(started))
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(lock_file)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        assert_tus_problem(patch(agent, started, data[1000:2000], 1000), 423, "upload_locked")
        assert partial_path(started).read_bytes() == data[:1000]
    finally:
        holder.kill()
        holder.wait(10)
    assert patch(agent, started, data[1000:2000], 1000).status_code == 204


HOLD_LOCK = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(60)
"""


# --- X-HTTP-Method-Override -------------------------------------------------------------------


def test_method_override_lets_a_post_patch_head_and_delete(agent, url, data):
    override = {"content_type": "application/offset+octet-stream", **TUS}
    patched = agent.generic(
        "POST",
        url,
        data[:4000],
        HTTP_X_HTTP_METHOD_OVERRIDE="PATCH",
        HTTP_UPLOAD_OFFSET="0",
        **override,
    )
    assert patched.status_code == 204, patched.content
    assert patched["Upload-Offset"] == "4000"
    assert partial_path(url).read_bytes() == data[:4000]

    headed = agent.generic("POST", url, HTTP_X_HTTP_METHOD_OVERRIDE="HEAD", **TUS)
    assert (headed.status_code, headed["Upload-Offset"]) == (200, "4000")

    mismatch = agent.generic(
        "POST",
        url,
        data[:10],
        HTTP_X_HTTP_METHOD_OVERRIDE="PATCH",
        HTTP_UPLOAD_OFFSET="0",
        **override,
    )
    assert_tus_problem(mismatch, 409, "upload_offset_mismatch")

    deleted = agent.generic("POST", url, HTTP_X_HTTP_METHOD_OVERRIDE="delete", **TUS)
    assert deleted.status_code == 204
    assert Upload.objects.get(pk=upload_id(url)).status == UploadStatus.TERMINATED


def test_method_override_completes_an_upload(agent, url, data):
    response = agent.generic(
        "POST",
        url,
        data,
        content_type="application/offset+octet-stream",
        HTTP_X_HTTP_METHOD_OVERRIDE="PATCH",
        HTTP_UPLOAD_OFFSET="0",
        **TUS,
    )
    assert response.status_code == 204, response.content
    assert AudioSegment.objects.get().file_id == sha(data)


# --- garbage headers: a 4xx problem, never a 500 --------------------------------------------

B64 = lambda text: base64.b64encode(text.encode()).decode()  # noqa: E731


@pytest.mark.parametrize(
    ("length", "status", "code"),
    [
        ("abc", 400, "malformed_request"),
        ("-1", 400, "malformed_request"),
        ("+5", 400, "malformed_request"),
        ("1e3", 400, "malformed_request"),
        ("", 400, "malformed_request"),
        ("٣", 400, "malformed_request"),  # an Arabic-Indic digit: int() would take it
        ("9" * 19, 400, "malformed_request"),  # beyond a signed 64-bit integer
        ("9" * 400, 400, "malformed_request"),
        (str(2**63 - 1), 413, "file_too_large"),
        (None, 400, "malformed_request"),  # deferred length is not supported
    ],
    ids=lambda v: repr(v)[:24],
)
def test_garbage_upload_length(agent, visit, data, length, status, code):
    headers = {**TUS, "HTTP_UPLOAD_METADATA": _meta(visit, data)}
    if length is not None:
        headers["HTTP_UPLOAD_LENGTH"] = length

    response = agent.generic("POST", UPLOADS_URL, b"", **headers)

    problem = assert_tus_problem(response, status, code)
    if code == "malformed_request":
        assert "Upload-Length" in problem["detail"]
    assert Upload.objects.count() == 0


def _valid_metadata_with(visit: Any, data: bytes, tail: str) -> str:
    return f"{_meta(visit, data)},{tail}"


@pytest.mark.parametrize(
    "tail",
    [
        "filename !!!not-base64!!!",
        "filename c2VnbWVudA",  # missing padding
        "filename " + base64.b64encode(b"\xff\xfe").decode(),  # not UTF-8
        "filename a b",  # three parts
        "file$name " + B64("x"),  # not a key
        " ",  # an empty pair
        "segment " + B64("1"),  # a key given twice
        "k" * 65 + " " + B64("x"),
    ],
    ids=lambda v: repr(v)[:24],
)
def test_garbage_upload_metadata_is_400(agent, visit, data, tail):
    raw = _valid_metadata_with(visit, data, tail)

    response = create(agent, len(data), raw)

    problem = assert_tus_problem(response, 400, "malformed_request")
    assert "Upload-Metadata" in problem["errors"]
    assert Upload.objects.count() == 0


@pytest.mark.parametrize(
    ("value", "status", "code"),
    [
        ("sha1", 400, "malformed_request"),
        ("sha1 !!!!", 400, "malformed_request"),
        ("sha1 " + base64.b64encode(b"short").decode(), 400, "malformed_request"),
        ("sha256 " + base64.b64encode(b"x" * 20).decode(), 400, "malformed_request"),
        ("", 400, "malformed_request"),
        ("x" * 5000, 400, "malformed_request"),
        ("md5 " + base64.b64encode(b"x" * 16).decode(), 400, "checksum_unsupported"),
        ("ŝha1 " + base64.b64encode(b"x" * 20).decode(), 400, "checksum_unsupported"),
    ],
    ids=lambda v: repr(v)[:24],
)
def test_garbage_upload_checksum(agent, started, data, value, status, code):
    response = patch(agent, started, data[1000:2000], 1000, HTTP_UPLOAD_CHECKSUM=value)

    assert_tus_problem(response, status, code)
    assert offset_of(agent, started) == 1000
    assert partial_path(started).read_bytes() == data[:1000]


@pytest.mark.parametrize("value", ["abc", "-1", "", "9" * 40, None])
def test_garbage_upload_offset_is_400(agent, started, data, value):
    headers = {**TUS}
    if value is not None:
        headers["HTTP_UPLOAD_OFFSET"] = value
    response = agent.generic(
        "PATCH",
        started,
        data[1000:2000],
        content_type="application/offset+octet-stream",
        **headers,
    )

    problem = assert_tus_problem(response, 400, "malformed_request")
    assert "Upload-Offset" in problem["detail"]
    assert offset_of(agent, started) == 1000


def test_other_overrides_are_ignored_and_the_post_stays_a_creation(agent, visit, data):
    for override in ("GET", "PUT", "OPTIONS", "garbage"):
        response = create(
            agent, len(data), segment_meta(visit, data), HTTP_X_HTTP_METHOD_OVERRIDE=override
        )
        assert response.status_code == 201, (override, response.content)
    assert Upload.objects.count() == 4
