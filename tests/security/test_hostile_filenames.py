"""File names are never paths. Photos, receipts and audio segments are stored under their
SHA-256 whatever name the phone sends: ``../../etc/passwd``, absolute paths, NUL bytes,
thousands of characters, Unicode, RFC 2231 encodings. A hostile name is kept out of storage
paths and never gives a 500."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from fieldvisit.models import AudioSegment, EvidenceFile, Photo, Receipt
from tests.helpers import (
    assert_problem,
    audio,
    create,
    final_path,
    iso,
    metadata,
    photos_url,
    receipts_url,
    segment_meta,
    send,
    sha,
    stored_files,
)
from tests.images import jpeg, png

# On the pinned clock (the root conftest's ``clock``), set before ``world`` is built.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clock")]

BOUNDARY = "----hostile-boundary-7MA4YWxkTrZu0gW"

# The Content-Disposition filename parameter, exactly as it goes on the wire.
HOSTILE_NAMES: dict[str, bytes] = {
    "dot-dot": b'filename="../../../../etc/passwd"',
    "dot-dot-backslash": b'filename="..\\\\..\\\\windows\\\\system32\\\\evil.jpg"',
    "absolute": b'filename="/etc/passwd"',
    "nul": b'filename="photo.jpg\x00../../etc/passwd"',
    "long": b'filename="' + b"A" * 900 + b'.jpg"',
    "long-dot-dot": b'filename="' + b"../" * 300 + b'etc/passwd"',
    "unicode": 'filename="门牌号 照片 😀 ﬁ\u202e.jpg"'.encode(),
    "rfc2231": b"filename*=UTF-8''..%2F..%2F..%2Fetc%2Fpasswd",
    "percent": b'filename="%2e%2e%2f%2e%2e%2fetc%2fpasswd"',
    # Not stored, and no 500 either.
    "very-long": b'filename="' + b"A" * 5000 + b'.jpg"',
    "empty": b'filename=""',
    "dots": b'filename=".."',
    "invalid-utf8": b'filename="\xff\xfe\xc0\xaf.jpg"',
    "newline": b'filename="a\r\nContent-Type: text/html\r\n\r\n.jpg"',
}
# What the names not stored get. Django reads at most 1 KiB of a part's headers; a part whose
# name is empty or nothing once cleaned ("..", bytes that are no UTF-8) is not a file, so the
# photo's file is missing; a line break ends the part's headers early, so the bytes received
# are not the declared ones.
REFUSED = {
    "very-long": (400, "malformed_request"),
    "empty": (422, "validation_error"),
    "dots": (422, "validation_error"),
    "invalid-utf8": (422, "validation_error"),
    "newline": (422, "hash_mismatch"),
}


def multipart(fields: dict[str, str], files: dict[str, tuple[bytes, bytes]]) -> bytes:
    """A multipart/form-data body with the file parts' filename parameters written raw."""
    out = b""
    for name, value in fields.items():
        out += f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += value.encode() + b"\r\n"
    for name, (disposition, data) in files.items():
        out += f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; '.encode()
        out += disposition + b"\r\nContent-Type: application/octet-stream\r\n\r\n" + data + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


def post_raw(client: Any, url: str, body: bytes) -> Any:
    return client.generic(
        "POST", url, body, content_type=f"multipart/form-data; boundary={BOUNDARY}"
    )


def nothing_outside_storage(root: Path) -> None:
    """No file anywhere under the test's directories carries a name the client chose."""
    for path in root.rglob("*"):
        assert "passwd" not in path.name and "evil" not in path.name, path
        assert not path.name.startswith("A" * 50), path


def assert_content_addressed(expected: dict[str, bytes]) -> None:
    """Evidence storage holds exactly the given files at their SHA-256 keys: no staging
    leftovers, no file named after the client."""
    assert stored_files() == {final_path(sha(data)): data for data in expected.values()}


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_photo_with_a_hostile_file_name_is_stored_by_its_hash(
    agent: Any, visit: Any, name: str, tmp_path: Path
) -> None:
    data = jpeg(colour="teal")
    fields = {
        "id": str(uuid.uuid4()),
        "kind": "door",
        "captured_at": iso(timezone.now()),
        "sha256": sha(data),
        "partner_in_frame": "true",
    }

    response = post_raw(
        agent, photos_url(visit), multipart(fields, {"file": (HOSTILE_NAMES[name], data)})
    )

    assert response.status_code < 500, response.content
    if name in REFUSED:
        assert_problem(response, *REFUSED[name])
        assert stored_files() == {} and not Photo.objects.exists()
        nothing_outside_storage(tmp_path)
        return
    assert response.status_code == 201, response.content
    assert response.json()["sha256"] == sha(data)
    assert_content_addressed({"photo": data})
    assert Photo.objects.get().file.sha256 == sha(data)
    nothing_outside_storage(tmp_path)


def test_hostile_names_on_both_receipt_files(agent: Any, visit: Any, tmp_path: Path) -> None:
    signature, slip = png(), jpeg(colour="khaki")
    fields = {
        "id": str(uuid.uuid4()),
        "notice_number": visit.stop.notice_number,
        "outcome": "signed_by_debtor",
        "signer_name": "张三",
        "captured_at": iso(timezone.now()),
        "lat": str(visit.stop.address.lat),
        "lon": str(visit.stop.address.lon),
        "signature_sha256": sha(signature),
        "photo_sha256": sha(slip),
    }
    files = {
        "signature": (HOSTILE_NAMES["dot-dot"], signature),
        "photo": (HOSTILE_NAMES["nul"], slip),
    }

    response = post_raw(agent, receipts_url(visit), multipart(fields, files))

    assert response.status_code == 201, response.content
    assert_content_addressed({"signature": signature, "slip": slip})
    assert Receipt.objects.count() == 1 and EvidenceFile.objects.count() == 2
    nothing_outside_storage(tmp_path)


@pytest.mark.parametrize(
    "filename",
    [
        "../../../../etc/passwd",
        "/etc/passwd",
        "..\\..\\windows\\evil.m4a",
        "录音 第一段 😀.m4a",
        "%2e%2e%2fetc%2fpasswd",
        "A" * 255,
    ],
)
def test_a_tus_segment_with_a_hostile_file_name_is_stored_by_its_hash(
    agent: Any, visit: Any, filename: str, tmp_path: Path
) -> None:
    data = audio("m4a_aac_lc.m4a")
    created = create(agent, len(data), segment_meta(visit, data, filename=filename))
    assert created.status_code == 201, created.content
    url = created["Location"]

    # The partial upload is named by its id, never by the client's file name.
    assert [p.name for p in Path(settings.TUS_UPLOAD_DIR).iterdir()] == [
        f"{url.rstrip('/').rsplit('/', 1)[-1]}.part"
    ]
    done = send(agent, url.replace("http://testserver", ""), data)

    assert done.status_code == 204, done.content
    assert_content_addressed({"segment": data})
    assert AudioSegment.objects.get().file.sha256 == sha(data)
    nothing_outside_storage(tmp_path)


@pytest.mark.parametrize(
    ("filename", "status", "code"),
    [
        ("segment\x00../../etc/passwd", 400, "malformed_request"),
        ("line\nbreak", 400, "malformed_request"),
        ("A" * 256, 422, "validation_error"),
        ("../" * 2000 + "passwd", 422, "validation_error"),
    ],
)
def test_unusable_tus_file_names_are_refused_and_nothing_is_created(
    agent: Any, visit: Any, filename: str, status: int, code: str, tmp_path: Path
) -> None:
    data = audio("m4a_aac_lc.m4a")
    meta = metadata(**segment_meta(visit, data, filename=filename))

    response = create(agent, len(data), meta)

    assert_problem(response, status, code)
    upload_dir = Path(settings.TUS_UPLOAD_DIR)
    assert not upload_dir.exists() or list(upload_dir.iterdir()) == []
    nothing_outside_storage(tmp_path)
