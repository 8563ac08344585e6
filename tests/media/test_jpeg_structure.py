"""A baseline JPEG is proved whole by its structure instead of a decode: the walk must take
exactly the decisions the decode takes (never accepting what a decode refuses, never refusing
what it accepts), and must spare the decode on the JPEGs phones write."""

from __future__ import annotations

import io
import json
import os
import random
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from fieldvisit.media import MediaError
from fieldvisit.media import images as media_images
from fieldvisit.media.images import inspect_image

IMAGES = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "images"
MANIFEST = json.loads((IMAGES / "manifest.json").read_text())
CORPUS_JPEGS = [
    entry["file"]
    for entry in MANIFEST
    if entry["media_type"] == "image/jpeg" and entry["expect"] != "unsupported_media_type"
]


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    real = media_images._decode

    def counted(im: Any, path: Any, *args: Any) -> Any:
        seen.append(str(path))
        return real(im, path, *args)

    monkeypatch.setattr(media_images, "_decode", counted)
    return seen


def _verdict(path: Path, *, decode: bool) -> str:
    """What the check says: ``accept`` or the refusal's code; with ``decode``, as a full
    decode alone judges the file (the check before the walk existed)."""
    try:
        media_images._inspect(path, None, decode=decode)
    except MediaError as error:
        return error.code
    return "accept"


def _noise_jpeg(size: tuple[int, int], **options: Any) -> bytes:
    width, height = size
    image = Image.frombytes(
        "RGB", size, random.Random(width * height).randbytes(width * height * 3)
    )
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, **options)
    return out.getvalue()


@pytest.mark.parametrize("name", CORPUS_JPEGS)
def test_the_corpus_jpegs_phones_write_are_proved_whole_without_a_decode(
    name: str, decodes: list[str]
) -> None:
    entry = next(entry for entry in MANIFEST if entry["file"] == name)
    verdict = _verdict(IMAGES / name, decode=False)

    assert verdict == entry["expect"]
    if entry["expect"] == "accept":
        assert decodes == []  # the structure proved it whole
    assert verdict == _verdict(IMAGES / name, decode=True)


def _scan_start(data: bytes) -> int:
    at = data.index(b"\xff\xda")
    return at + 2 + int.from_bytes(data[at + 2 : at + 4], "big")


def _mutations(data: bytes) -> dict[str, bytes]:
    """Damage of every kind a transfer or a disk does to a JPEG."""
    scan = _scan_start(data)
    end = len(data) - 2
    cuts = [scan - 1, scan, scan + 1, (scan + end) // 3, (scan + end) // 2, end - 1, end]
    rng = random.Random(len(data))
    flipped = bytearray(data)
    for _ in range(40):
        flipped[rng.randrange(scan, end)] ^= 1 << rng.randrange(8)
    mutations = {f"cut at {cut}": data[:cut] for cut in cuts}
    mutations.update({f"cut at {cut}, EOI added": data[:cut] + b"\xff\xd9" for cut in cuts})
    mutations["bits flipped in the scan"] = bytes(flipped)
    mutations["garbage after the EOI"] = data + os.urandom(1000)
    mutations["EOI doubled"] = data + b"\xff\xd9"
    mutations["zeros for the second half"] = (
        data[: (scan + end) // 2] + bytes(end - (scan + end) // 2) + data[end:]
    )
    mutations["a marker inside the scan"] = (
        data[: (scan + end) // 2] + b"\xff\xc4" + data[(scan + end) // 2 :]
    )
    mutations["a stray 0xFF 0x12 in the scan"] = (
        data[: (scan + end) // 2] + b"\xff\x12" + data[(scan + end) // 2 :]
    )
    mutations["fill bytes before the EOI"] = data[:end] + b"\xff\xff\xff\xd9"
    restarts = [at for at in range(scan, end) if data[at] == 0xFF and 0xD0 <= data[at + 1] <= 0xD7]
    if restarts:
        middle = restarts[len(restarts) // 2]
        mutations["a restart marker removed"] = data[:middle] + data[middle + 2 :]
        mutations["cut at a restart marker, EOI added"] = data[:middle] + b"\xff\xd9"
        mutations["a restart marker out of sequence"] = (
            data[: middle + 1]
            + bytes([0xD0 + (data[middle + 1] - 0xD0 + 3) % 8])
            + data[middle + 2 :]
        )
    dht = data.index(b"\xff\xc4")
    bogus = bytearray(data)
    bogus[dht + 5] = 3  # three codes of one bit: libjpeg's "Bogus Huffman table definition"
    mutations["a bogus Huffman table"] = bytes(bogus)
    no_table = bytearray(data)
    no_table[dht + 4] = 0x13  # the table is defined as DC table 3, which no scan uses
    mutations["a Huffman table the scan needs is missing"] = bytes(no_table)
    return mutations


@pytest.mark.parametrize(
    "options",
    [{}, {"restart_marker_blocks": 7}, {"subsampling": 0}, {"progressive": True}],
    ids=["baseline", "restart markers", "4:4:4", "progressive"],
)
def test_the_walk_decides_as_the_decode_on_damaged_jpegs(tmp_path: Path, options: Any) -> None:
    data = _noise_jpeg((333, 251), **options)
    checked = 0
    for name, damaged in {"whole": data, **_mutations(data)}.items():
        path = tmp_path / "damaged.jpg"
        path.write_bytes(damaged)
        walked, decoded = _verdict(path, decode=False), _verdict(path, decode=True)
        assert walked == decoded, name
        checked += 1
    assert checked > 20


def test_a_truncated_jpeg_is_refused_whatever_the_walk(decodes: list[str], tmp_path: Path) -> None:
    data = _noise_jpeg((640, 480))
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2])

    with pytest.raises(MediaError) as caught:
        inspect_image(path)
    assert caught.value.code == "invalid_image"
    assert decodes == [str(path)]  # not proved whole: the decode judged it


def test_a_grey_jpeg_with_restart_markers_is_proved_whole(
    decodes: list[str], tmp_path: Path
) -> None:
    image = Image.frombytes("L", (301, 97), random.Random(5).randbytes(301 * 97))
    path = tmp_path / "grey.jpg"
    image.save(path, "JPEG", quality=85, restart_marker_blocks=5)

    info = inspect_image(path)

    assert (info.media_type, info.width, info.height) == ("image/jpeg", 301, 97)
    assert decodes == []


def test_a_progressive_jpeg_is_still_decoded(decodes: list[str], tmp_path: Path) -> None:
    path = tmp_path / "progressive.jpg"
    path.write_bytes(_noise_jpeg((200, 100), progressive=True))

    assert inspect_image(path).media_type == "image/jpeg"
    assert decodes == [str(path)]


def test_the_thumbnail_of_a_jpeg_proved_whole_comes_from_one_decode_on_first_use(
    decodes: list[str], tmp_path: Path
) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(_noise_jpeg((1600, 1200)))

    assert inspect_image(path, thumbnail_px=640).thumbnail is None
    assert decodes == []
    thumbnail = media_images.thumbnail_jpeg(path)
    with Image.open(io.BytesIO(thumbnail)) as im:
        assert im.size == (640, 480)
    assert decodes == [str(path)]


@pytest.mark.parametrize("block", [1, 2, 3, 7, 64, 4096])
def test_markers_across_the_walks_blocks_are_found(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, block: int
) -> None:
    """The scan is read a block at a time: a 0xFF at a block's end and what follows it in the
    next block decide together (stuffing, a restart marker, fill bytes, the EOI)."""
    monkeypatch.setattr(media_images, "_SCAN_BLOCK", block)
    data = _noise_jpeg((96, 64), restart_marker_blocks=3)
    cases = {
        "whole": (data, True),
        "fill bytes before the EOI": (data[:-2] + b"\xff\xff\xff\xd9", True),
        "cut before the EOI": (data[:-2], False),
        "cut after a lone 0xFF": (data[:-1], False),
    }
    for name, (content, whole) in cases.items():
        path = tmp_path / "block.jpg"
        path.write_bytes(content)
        with Image.open(path) as im:
            assert media_images._proved_whole(im, path, "image/jpeg") is whole, name


def _fed(data: bytes, block: int) -> media_images.JpegMarkers:
    markers = media_images.JpegMarkers()
    for at in range(0, len(data), block):
        markers.feed(data[at : at + block])
    return markers


@pytest.mark.parametrize("block", [1, 2, 7, 4096])
def test_markers_found_as_the_bytes_arrive_decide_as_the_file_walk(
    tmp_path: Path, block: int
) -> None:
    """The markers a receiving handler finds in the chunks as they arrive (``JpegMarkers``)
    take the place of the walk's reading of the scan: same decision on every damage, however
    the chunks fall."""
    data = _noise_jpeg((96, 64), restart_marker_blocks=3)
    path = tmp_path / "fed.jpg"
    walked = 0
    for name, damaged in {"whole": data, **_mutations(data)}.items():
        path.write_bytes(damaged)
        markers = _fed(damaged, block)
        assert markers.covers(len(damaged)), name
        try:
            im = Image.open(path)
        except OSError:  # refused before any walk
            continue
        with im:
            from_file = media_images._proved_whole(im, path, "image/jpeg")
            assert media_images._proved_whole(im, path, "image/jpeg", markers) is from_file, name
        walked += 1
    assert walked > 20


def test_a_jpeg_proved_whole_by_its_fed_markers_is_not_read_again(
    monkeypatch: pytest.MonkeyPatch, decodes: list[str], tmp_path: Path
) -> None:
    data = _noise_jpeg((640, 480), restart_marker_blocks=4)
    path = tmp_path / "photo.jpg"
    path.write_bytes(data)

    def no_reading(*args: Any) -> Any:
        raise AssertionError("the scan was read from the file")

    monkeypatch.setattr(media_images, "_jpeg_scan_markers", no_reading)
    info = inspect_image(path, markers=_fed(data, 1000))

    assert (info.width, info.height) == (640, 480)
    assert decodes == []  # proved whole by the markers fed


def test_markers_not_fed_the_whole_file_are_not_used(
    monkeypatch: pytest.MonkeyPatch, decodes: list[str], tmp_path: Path
) -> None:
    """Markers of other bytes than the file's (fewer, or a search that gave up) leave the
    walk to read the file: a truncated file is still refused whatever was fed."""
    data = _noise_jpeg((320, 240))
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(MediaError):
        inspect_image(path, markers=_fed(data, 4096))  # the whole photo fed, half on disk
    assert decodes == [str(path)]

    path.write_bytes(data)
    monkeypatch.setattr(media_images.JpegMarkers, "MOST", 3)
    many = _fed(data + b"\xff\x01" * 10, 4096)  # the search gives up past MOST markers
    assert not many.usable and len(many.codes) == 0
    assert not _fed(b"\x89PNG\r\n\x1a\n" + data, 4096).covers(len(data) + 8)  # not a JPEG
    assert inspect_image(path, markers=many).media_type == "image/jpeg"
