"""A stock client against a live server: tuspy (the Python tus client) uploads segments
whole, in small checksummed chunks, interrupted and resumed, and across a server restart.
And two real PATCHes racing for one upload: the second is locked out, never interleaved."""

from __future__ import annotations

import io
import socket
import time
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from tusclient import client as tus
from tusclient.exceptions import TusUploadFailed

from fieldvisit.api.views import uploads as views
from fieldvisit.models import AudioSegment, Upload
from fieldvisit.tus import partials
from tests.helpers import (
    UPLOADS_URL,
    audio,
    final_path,
    partial_path,
    segment_meta,
    sha,
    stored_files,
    upload_id,
)

pytestmark = pytest.mark.django_db(transaction=True)

CHUNK = 16 * 1024
SEGMENT = "recording_seg0.m4a"


@pytest.fixture
def endpoint(live_server: Any) -> str:
    return live_server.url + UPLOADS_URL


@pytest.fixture
def token(world: Any, visit: Any) -> str:
    return world.client(world.agent_a, "phone-a").token


@pytest.fixture
def tus_client(endpoint: str, token: str) -> tus.TusClient:
    return tus.TusClient(endpoint, headers={"Authorization": f"Token {token}"})


@pytest.fixture
def checksums(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """The ``Upload-Checksum`` algorithm of every PATCH the server receives (None: none)."""
    seen: list[str | None] = []
    parse = views.parse_checksum

    def spy(value: str | None) -> Any:
        parsed = parse(value)
        seen.append(parsed.algorithm if parsed else None)
        return parsed

    monkeypatch.setattr(views, "parse_checksum", spy)
    return seen


def tus_metadata(visit: Any, data: bytes, **values: Any) -> dict[str, str]:
    return {k: str(v) for k, v in segment_meta(visit, data, **values).items() if v != ""}


def assert_stored(url: str, data: bytes) -> AudioSegment:
    segment = AudioSegment.objects.get()
    assert segment.id == upload_id(url)
    assert segment.file_id == sha(data)
    assert (segment.format, segment.file.size) == ("m4a", len(data))
    assert stored_files() == {final_path(sha(data)): data}
    assert not partial_path(url).exists()
    return segment


def test_tuspy_uploads_a_segment_in_checksummed_chunks(tus_client, visit, checksums):
    data = audio(SEGMENT)
    uploader = tus_client.uploader(
        file_stream=io.BytesIO(data),
        chunk_size=CHUNK,
        metadata=tus_metadata(visit, data),
        upload_checksum=True,
    )

    uploader.upload()

    assert uploader.offset == len(data)
    assert_stored(uploader.url, data)
    patches = -(-len(data) // CHUNK)
    assert checksums == ["sha1"] * patches  # tuspy's checksum, on every chunk
    assert Upload.objects.count() == 1


def test_tuspy_resumes_an_interrupted_upload_with_a_new_uploader(tus_client, visit, checksums):
    data = audio(SEGMENT)
    meta = tus_metadata(visit, data)
    first = tus_client.uploader(file_stream=io.BytesIO(data), chunk_size=CHUNK, metadata=meta)
    first.upload(stop_at=2 * CHUNK)  # the phone lost its connection here
    assert first.offset == 2 * CHUNK
    upload = Upload.objects.get(pk=upload_id(first.url))
    assert (upload.offset, upload.length) == (2 * CHUNK, len(data))
    reads = partials.catch_up_reads

    # The app restarts: a new uploader, told only the upload's URL, asks the server (HEAD).
    second = tus_client.uploader(
        file_stream=io.BytesIO(data), url=first.url, chunk_size=CHUNK, upload_checksum=True
    )
    assert second.offset == 2 * CHUNK
    second.upload()

    assert second.offset == len(data)
    assert_stored(first.url, data)
    assert Upload.objects.count() == 1
    assert partials.catch_up_reads == reads  # the running hash carried on in memory
    assert checksums[:2] == [None, None]
    assert set(checksums[2:]) == {"sha1"}


def test_a_server_restart_between_chunks_catches_the_hash_up_from_disk(tus_client, visit):
    data = audio(SEGMENT)
    meta = tus_metadata(visit, data)
    first = tus_client.uploader(file_stream=io.BytesIO(data), chunk_size=CHUNK, metadata=meta)
    first.upload(stop_at=3 * CHUNK)
    reads = partials.catch_up_reads

    partials._running.clear()  # what a restart loses: the in-process running hashes

    second = tus_client.uploader(file_stream=io.BytesIO(data), url=first.url, chunk_size=CHUNK)
    second.upload()

    assert partials.catch_up_reads == reads + 1  # read once, then running again
    segment = assert_stored(first.url, data)
    assert (
        segment.file_id
        == sha(data)
        == "bc0de60b3872fa7200b47c7cea348e328a8a3c458cc369cdd6755289edfdf3b1"
    )


def test_tuspy_is_told_the_verdict_of_the_last_patch(tus_client, visit):
    data = audio("not_audio_jpeg.m4a")
    uploader = tus_client.uploader(
        file_stream=io.BytesIO(data), chunk_size=CHUNK, metadata=tus_metadata(visit, data)
    )

    with pytest.raises(TusUploadFailed) as failed:
        uploader.upload()

    assert failed.value.status_code == 422
    assert b"invalid_audio" in failed.value.response_content
    assert not AudioSegment.objects.exists()
    assert stored_files() == {}


def test_tuspy_uploads_without_checksums_too(tus_client, visit, checksums):
    data = audio("recording_seg1.m4a")
    # Segment 1 of a recording whose segment 0 is not there: the chain refuses it.
    meta = tus_metadata(visit, data, segment=1, prev_sha256=sha(audio(SEGMENT)))
    uploader = tus_client.uploader(
        file_stream=io.BytesIO(data), chunk_size=len(data), metadata=meta
    )

    with pytest.raises(TusUploadFailed) as failed:
        uploader.upload()

    assert failed.value.status_code == 422
    assert b"chain_broken" in failed.value.response_content
    assert checksums == [None]


# --- two writers, one upload ---------------------------------------------------------------


def raw_patch_headers(url: str, token: str, offset: int, length: int) -> bytes:
    parts = urlsplit(url)
    return (
        f"PATCH {parts.path} HTTP/1.1\r\n"
        f"Host: {parts.netloc}\r\n"
        f"Authorization: Token {token}\r\n"
        "Tus-Resumable: 1.0.0\r\n"
        f"Upload-Offset: {offset}\r\n"
        "Content-Type: application/offset+octet-stream\r\n"
        f"Content-Length: {length}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()


def wait_for(condition: Any, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_second_patch_while_the_first_is_still_sending_is_locked_out(
    tus_client, token, visit, live_server
):
    data = audio(SEGMENT)
    uploader = tus_client.uploader(
        file_stream=io.BytesIO(data), chunk_size=CHUNK, metadata=tus_metadata(visit, data)
    )
    url = uploader.create_url()
    pk = upload_id(url)
    slow = data[:20000]
    other = bytes(range(256)) * 80  # 20480 bytes that must not end up in the file
    headers = {
        "Authorization": f"Token {token}",
        "Tus-Resumable": "1.0.0",
        "Content-Type": "application/offset+octet-stream",
    }

    host, port = urlsplit(url).hostname, urlsplit(url).port
    with socket.create_connection((host, port), timeout=30) as first:
        # The first PATCH sends its headers and half its body, then stalls (a slow network).
        first.sendall(raw_patch_headers(url, token, 0, len(slow)) + slow[:10000])
        wait_for(lambda: Upload.objects.filter(pk=pk).exclude(lease="").exists())

        at_zero = {**headers, "Upload-Offset": "0"}
        second = requests.patch(url, data=other, headers=at_zero, timeout=30)
        assert second.status_code == 423, second.content
        assert second.json()["code"] == "upload_locked"
        assert second.headers["Content-Type"] == "application/problem+json"
        assert second.headers["Tus-Resumable"] == "1.0.0"
        deleted = requests.delete(url, headers=headers, timeout=30)
        assert deleted.status_code == 423
        # HEAD needs no lease: it answers the committed offset meanwhile.
        assert requests.head(url, headers=headers, timeout=30).headers["Upload-Offset"] == "0"

        first.sendall(slow[10000:])
        answer = b""
        while chunk := first.recv(65536):
            answer += chunk
    status_line = answer.split(b"\r\n", 1)[0]
    assert status_line.split()[1] == b"204", answer
    assert b"Upload-Offset: 20000" in answer

    # Only the first writer's bytes are in the file, and the upload completes normally.
    assert partial_path(url).read_bytes() == slow
    assert Upload.objects.get(pk=pk).lease == ""
    rest = requests.patch(
        url, data=data[20000:], headers={**headers, "Upload-Offset": "20000"}, timeout=30
    )
    assert rest.status_code == 204, rest.content
    assert_stored(url, data)
