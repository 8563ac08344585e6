"""Thumbnails come from the decode that checks a photo at ingest, or, for a baseline JPEG
proved whole by its structure without a decode, from one decode on first use: either way a
photo is decoded at most once for its check, admin pages and bundles; and decode bombs are
refused at the endpoint, nothing kept."""

from __future__ import annotations

import io
import time
import uuid
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from fieldvisit.actions.bundles import prepare
from fieldvisit.evidence.thumbnails import thumbnail
from fieldvisit.media import images as media_images
from fieldvisit.models import Visit
from tests import images
from tests.bombs import progressive_jpeg_bomb, zero_png_bomb
from tests.helpers import (
    assert_problem,
    iso,
    photo_form,
    photos_url,
    post_form,
    receipts_url,
    sha,
    stored_files,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The path of every image decoded from here on."""
    seen: list[str] = []
    real = media_images._decode

    def counted(im: Any, path: Any, *args: Any) -> Any:
        seen.append(str(path))
        return real(im, path, *args)

    monkeypatch.setattr(media_images, "_decode", counted)
    return seen


def _size(jpeg: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(jpeg)) as im:
        assert im.format == "JPEG"
        return im.size


def _progressive_jpeg(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "tan").save(out, "JPEG", progressive=True)
    return out.getvalue()


@pytest.mark.parametrize("progressive", [False, True], ids=["baseline JPEG", "progressive JPEG"])
def test_a_photo_is_decoded_at_most_once_for_its_check_admin_and_bundles(
    world: Any, agent: Any, visit: Visit, client: Client, decodes: list[str], progressive: bool
) -> None:
    """A progressive JPEG is decoded by its check, which keeps the thumbnail; a baseline JPEG
    is proved whole without a decode, and the admin's first look decodes it for its
    thumbnail, once."""
    data = _progressive_jpeg((1600, 1200)) if progressive else images.jpeg(size=(1600, 1200))
    response = post_form(agent, photos_url(visit), photo_form(data))
    assert response.status_code == 201, response.content
    assert len(decodes) == (1 if progressive else 0)
    assert default_storage.exists(f"thumbnails/{sha(data)}.jpg") is progressive

    client.force_login(world.supervisor)
    shown = client.get(reverse("admin:fieldvisit_photo_thumb", args=[response.json()["id"]]))
    assert shown.status_code == 200
    assert _size(shown.content) == (640, 480)
    for _ in range(2):
        bundle = prepare(visit)
        assert any(m.path == f"thumbnails/{sha(data)}.jpg" for m in bundle.members)
    assert len(decodes) == 1


def test_a_receipt_signature_gets_its_thumbnail_at_ingest(
    agent: Any, visit: Visit, decodes: list[str]
) -> None:
    signature = images.png()
    form = {
        "id": str(uuid.uuid4()),
        "notice_number": visit.stop.notice_number,
        "outcome": "signed_by_debtor",
        "signer_name": "Zhang San",
        "signature": SimpleUploadedFile("sig.png", signature),
        "signature_sha256": sha(signature),
        "captured_at": iso(timezone.now()),
    }
    response = post_form(agent, receipts_url(visit), form)
    assert response.status_code == 201, response.content

    assert _size(thumbnail(sha(signature))) == (120, 40)
    assert len(decodes) == 1


def test_evidence_from_before_is_decoded_for_its_thumbnail_once(
    agent: Any, visit: Visit, decodes: list[str]
) -> None:
    data = _progressive_jpeg((800, 600))
    assert post_form(agent, photos_url(visit), photo_form(data)).status_code == 201
    default_storage.delete(f"thumbnails/{sha(data)}.jpg")  # as if received before this

    first, second = thumbnail(sha(data)), thumbnail(sha(data))

    assert first == second
    assert len(decodes) == 2  # the ingest, then the first thumbnail only


@pytest.mark.parametrize("kind", ["jpeg", "png"])
def test_a_decode_bomb_is_refused_at_once_and_nothing_is_kept(
    agent: Any, visit: Visit, tmp_path: Any, kind: str
) -> None:
    if kind == "jpeg":
        data = progressive_jpeg_bomb(15000, 15000, scans=150)
    else:
        data = zero_png_bomb(tmp_path / "zero.png", 15800).read_bytes()
    before = stored_files()
    start = time.perf_counter()

    response = post_form(agent, photos_url(visit), photo_form(data))

    assert time.perf_counter() - start < 2
    assert_problem(response, 422, "invalid_image")
    assert "decompression bomb" in response.json()["detail"]
    assert stored_files() == before
    assert not default_storage.exists(f"thumbnails/{sha(data)}.jpg")


def test_a_media_storage_failure_never_holds_up_the_evidence(
    agent: Any, visit: Visit, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise OSError("No space left on device")

    data = images.jpeg(size=(800, 600), colour="teal")
    with monkeypatch.context() as patch:
        patch.setattr(default_storage, "save", broken)
        response = post_form(agent, photos_url(visit), photo_form(data))

    assert response.status_code == 201, response.content
    assert not default_storage.exists(f"thumbnails/{sha(data)}.jpg")
    assert _size(thumbnail(sha(data))) == (640, 480)  # made on first use instead


def test_a_refused_receipt_leaves_no_thumbnail(agent: Any, visit: Visit) -> None:
    """The signature decodes and is whole, then the slip photo is refused (a PNG, where a
    camera photo is required): nothing was recorded, so no thumbnail of the signature stays
    behind in media storage either."""
    signature = images.png(colour="navy")
    slip = images.png(size=(200, 100), colour="maroon")
    form = {
        "id": str(uuid.uuid4()),
        "notice_number": visit.stop.notice_number,
        "outcome": "signed_by_debtor",
        "signer_name": "Zhang San",
        "signature": SimpleUploadedFile("sig.png", signature),
        "signature_sha256": sha(signature),
        "photo": SimpleUploadedFile("slip.png", slip),
        "photo_sha256": sha(slip),
        "captured_at": iso(timezone.now()),
    }
    before = stored_files()

    response = post_form(agent, receipts_url(visit), form)

    assert_problem(response, 415, "unsupported_media_type")
    assert stored_files() == before
    assert not default_storage.exists(f"thumbnails/{sha(signature)}.jpg")
    assert not default_storage.exists(f"thumbnails/{sha(slip)}.jpg")


def test_a_photo_the_evidence_storage_refuses_leaves_no_thumbnail(
    agent: Any, visit: Visit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decoded and whole, but the evidence storage is down (503, retry later): the photo is
    not evidence yet, so it has no thumbnail yet; the retry makes it from its own decode."""
    from fieldvisit.evidence import storage

    def down(*args: Any, **kwargs: Any) -> str:
        raise OSError("Connection refused")

    data = images.png(size=(800, 600), colour="purple")
    with monkeypatch.context() as patch:
        patch.setattr(storage, "stage", down)
        response = post_form(agent, photos_url(visit), photo_form(data))
    assert_problem(response, 503, "storage_unavailable")
    assert not default_storage.exists(f"thumbnails/{sha(data)}.jpg")

    assert post_form(agent, photos_url(visit), photo_form(data)).status_code == 201
    assert default_storage.exists(f"thumbnails/{sha(data)}.jpg")
