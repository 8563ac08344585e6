"""Photo inspection against the real-file corpus and against photos made here with Pillow."""

from __future__ import annotations

import datetime
import io
import json
import threading
import time
import zlib
from pathlib import Path
from typing import Any

import pytest
from PIL import ExifTags, Image, ImageFile
from PIL.TiffImagePlugin import IFDRational

from fieldvisit.media import MediaError, images
from fieldvisit.media.images import (
    ACCEPTED,
    MAX_PIXELS,
    Exif,
    ImageInfo,
    inspect_image,
    sniff_image_type,
    thumbnail_jpeg,
)

IMAGES = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "images"
MANIFEST = json.loads((IMAGES / "manifest.json").read_text())

# The manifest's EXIF values are what Pillow read at its default pixel limit. Where Image.open()
# failed there ("opens": false) they were never read and stand as null; these are in the file.
READ_ONLY_ABOVE_DEFAULT_LIMIT = {
    "samsung_s24ultra_200mp.heic": {
        "width": 12240,  # 16320x12240 sensor, turned portrait by the HEIF rotation
        "height": 16320,
        "make": "samsung",
        "model": "Galaxy S24 Ultra",
        "taken_at": "2025:01:19 14:53:27",
    },
}


def test_corpus_is_complete() -> None:
    assert len(MANIFEST) == 39
    assert {entry["file"] for entry in MANIFEST} <= {path.name for path in IMAGES.iterdir()}


@pytest.mark.parametrize("entry", MANIFEST, ids=[entry["file"] for entry in MANIFEST])
def test_corpus_file(entry: dict[str, Any]) -> None:
    path = IMAGES / entry["file"]
    if entry["expect"] != "accept":
        with pytest.raises(MediaError) as caught:
            inspect_image(path)
        assert caught.value.code == entry["expect"]
        assert caught.value.detail
        return

    info = inspect_image(path)

    assert info.media_type == entry["media_type"]
    exif = info.exif
    gps = entry["gps"]
    if gps is None:
        assert (exif.lat, exif.lon, exif.altitude) == (None, None, None)
    else:
        assert exif.lat == pytest.approx(gps["lat"], abs=1e-5)
        assert exif.lon == pytest.approx(gps["lon"], abs=1e-5)
        if gps["alt"] is None:
            assert exif.altitude is None
        else:
            assert exif.altitude == pytest.approx(gps["alt"], abs=0.01)
    expected = {key: entry[key] for key in ("make", "model", "taken_at")}
    expected.update(width=entry["pillow"]["width"], height=entry["pillow"]["height"])
    expected.update(READ_ONLY_ABOVE_DEFAULT_LIMIT.get(entry["file"], {}))
    taken_at = exif.taken_at.strftime("%Y:%m:%d %H:%M:%S") if exif.taken_at else None
    actual = {"make": exif.make, "model": exif.model, "taken_at": taken_at}
    actual.update(width=info.width, height=info.height)
    assert actual == expected


def test_jpeg_size_is_the_full_size_not_the_draft_size() -> None:
    info = inspect_image(IMAGES / "gps_iphone6_fullsize.jpg")

    assert (info.width, info.height) == (3264, 2448)


@pytest.mark.parametrize(
    "name", ["gps_iphone6_fullsize.jpg", "gps_samsung_galaxy_s7.jpg", "noexif_plain.jpg"]
)
@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, 0.999, -2])
def test_jpeg_cut_anywhere_is_invalid_despite_draft_decoding(
    tmp_path: Path, name: str, keep: float
) -> None:
    data = (IMAGES / name).read_bytes()
    end = len(data) + keep if keep < 0 else int(len(data) * keep)
    path = tmp_path / name
    path.write_bytes(data[: int(end)])

    with pytest.raises(MediaError) as caught:
        inspect_image(path)
    assert caught.value.code == "invalid_image"


@pytest.mark.parametrize("keep", [0.2, 0.5, 0.9, 0.999])
@pytest.mark.parametrize("name", ["nogps_iphone8plus.heic", "gps_iphone13pro.heic"])
def test_truncated_heic_is_invalid(tmp_path: Path, name: str, keep: float) -> None:
    """libheif decodes these without error, painting the missing grid tiles green."""
    data = (IMAGES / name).read_bytes()
    path = tmp_path / name
    path.write_bytes(data[: int(len(data) * keep)])

    with pytest.raises(MediaError) as caught:
        inspect_image(path)
    assert caught.value.code == "invalid_image"


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("exif_corrupt_data.jpg", None),  # UserWarning: Corrupt EXIF data
        ("bomb_png_20000x20000.png", "invalid_image"),  # DecompressionBombWarning at open
    ],
)
def test_pillow_warnings_do_not_escape_as_errors(name: str, code: str | None) -> None:
    if code is None:
        assert inspect_image(IMAGES / name).media_type == "image/jpeg"
    else:
        with pytest.raises(MediaError) as caught:
            inspect_image(IMAGES / name)
        assert caught.value.code == code
        assert "decompression bomb" in caught.value.detail


def _png_header(width: int, height: int) -> bytes:
    """A 1-bit PNG declaring this size, with no pixel data at all."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data).to_bytes(4, "big")
        return len(data).to_bytes(4, "big") + kind + data + crc

    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([1, 0, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def _jpeg_header(width: int, height: int) -> bytes:
    """A baseline greyscale JPEG declaring this size, with one scan of no data at all."""

    def segment(marker: int, data: bytes) -> bytes:
        return bytes([0xFF, marker]) + (len(data) + 2).to_bytes(2, "big") + data

    dqt = segment(0xDB, b"\x00" + bytes([1] * 64))
    sof0 = segment(
        0xC0, b"\x08" + height.to_bytes(2, "big") + width.to_bytes(2, "big") + b"\x01\x01\x11\x00"
    )
    dht = segment(0xC4, b"\x00" + bytes([1] + [0] * 15) + b"\x00")
    sos = segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
    return b"\xff\xd8" + dqt + sof0 + dht + sos


@pytest.mark.parametrize(
    ("header", "width", "height", "bomb"),
    [
        (_jpeg_header, 25_001, 10_000, True),
        (_jpeg_header, 25_000, 10_000, False),
        (_png_header, 8193, 8192, True),
        (_png_header, 8192, 8192, False),
    ],
)
def test_pixel_limit_is_checked_before_decoding(
    tmp_path: Path, header: Any, width: int, height: int, bomb: bool
) -> None:
    """Between MAX_PIXELS and Pillow's own hard limit (twice that) Pillow only warns; PNG has a
    lower limit (MAX_PNG_PIXELS). At the limit the header passes and the missing pixel data is
    what makes the file invalid."""
    limit = MAX_PIXELS if header is _jpeg_header else images.MAX_PNG_PIXELS
    assert (width * height > limit) is bomb
    path = tmp_path / "wide"
    path.write_bytes(header(width, height))

    with pytest.raises(MediaError) as caught:
        inspect_image(path)
    assert caught.value.code == "invalid_image"
    assert ("decompression bomb" in caught.value.detail) is bomb


def test_load_truncated_images_stays_false_and_is_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inspect_image(IMAGES / "gps_iphone7.jpg")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False

    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(RuntimeError, match="LOAD_TRUNCATED_IMAGES"):
        inspect_image(IMAGES / "truncated_jpeg.jpg")


def test_media_type_comes_from_content_not_name(tmp_path: Path) -> None:
    path = tmp_path / "photo.png"
    path.write_bytes((IMAGES / "gps_iphone7.jpg").read_bytes())

    assert inspect_image(path).media_type == "image/jpeg"


# Photos made here with chosen EXIF.


def _r(value: float, denominator: int = 1) -> IFDRational:
    return IFDRational(value, denominator)


def _dms(degrees: int, minutes: int, seconds: float) -> tuple[IFDRational, ...]:
    return (_r(degrees), _r(minutes), _r(round(seconds * 100), 100))


def _photo(
    path: Path,
    gps: dict[int, Any] | None = None,
    taken: str | None = None,
    offset: str | None = None,
    size: tuple[int, int] = (64, 32),
    orientation: int | None = None,
    fmt: str = "JPEG",
) -> Path:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Huawei\x00  "
    exif[ExifTags.Base.Model] = "P60 Pro"
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    if gps is not None:
        exif.get_ifd(ExifTags.IFD.GPSInfo).update(gps)
    exif_ifd = exif.get_ifd(ExifTags.IFD.Exif)
    if taken is not None:
        exif_ifd[ExifTags.Base.DateTimeOriginal] = taken
    if offset is not None:
        exif_ifd[ExifTags.Base.OffsetTimeOriginal] = offset
    Image.new("RGB", size, (200, 30, 30)).save(path, fmt, exif=exif)
    return path


G = ExifTags.GPS
SHANGHAI = {
    G.GPSLatitudeRef: "N",
    G.GPSLatitude: _dms(31, 13, 48.6),
    G.GPSLongitudeRef: "E",
    G.GPSLongitude: _dms(121, 28, 12.36),
    G.GPSAltitudeRef: b"\x00",
    G.GPSAltitude: _r(125, 10),
}
SYDNEY_HARBOUR_WEST = {  # southern and western hemispheres, below sea level
    G.GPSLatitudeRef: "S",
    G.GPSLatitude: _dms(33, 51, 25.2),
    G.GPSLongitudeRef: "W",
    G.GPSLongitude: _dms(151, 12, 36.0),
    G.GPSAltitudeRef: b"\x01",
    G.GPSAltitude: _r(32, 10),
}


@pytest.mark.parametrize(
    ("gps", "lat", "lon", "altitude"),
    [
        (SHANGHAI, 31.2301667, 121.4701, 12.5),
        (SYDNEY_HARBOUR_WEST, -33.857, -151.21, -3.2),
    ],
)
def test_gps_round_trip(
    tmp_path: Path, gps: dict[int, Any], lat: float, lon: float, altitude: float
) -> None:
    info = inspect_image(_photo(tmp_path / "p.jpg", gps=gps))

    assert info == ImageInfo("image/jpeg", 64, 32, info.exif)
    assert info.exif.lat == pytest.approx(lat, abs=1e-6)
    assert info.exif.lon == pytest.approx(lon, abs=1e-6)
    assert info.exif.altitude == pytest.approx(altitude, abs=1e-9)
    assert (info.exif.make, info.exif.model) == ("Huawei", "P60 Pro")


@pytest.mark.parametrize(
    "gps",
    [
        pytest.param({**SHANGHAI, G.GPSLatitude: (_r(0, 0),) * 3}, id="zero-denominators-lat"),
        pytest.param(
            {**SHANGHAI, G.GPSLatitude: (_r(0, 0),) * 3, G.GPSLongitude: (_r(0, 0),) * 3},
            id="all-zero-denominators",
        ),
        pytest.param({**SHANGHAI, G.GPSLatitudeRef: "\x00"}, id="no-lat-ref"),
        pytest.param({**SHANGHAI, G.GPSLongitudeRef: "X"}, id="bad-lon-ref"),
        pytest.param({**SHANGHAI, G.GPSLatitude: _dms(95, 0, 0)}, id="lat-out-of-range"),
        pytest.param({**SHANGHAI, G.GPSLongitude: _dms(181, 0, 0)}, id="lon-out-of-range"),
        pytest.param({**SHANGHAI, G.GPSLatitude: (_r(31), _r(13))}, id="two-rationals"),
        pytest.param({k: v for k, v in SHANGHAI.items() if k != G.GPSLongitude}, id="no-lon"),
    ],
)
def test_unusable_gps_is_no_gps(tmp_path: Path, gps: dict[int, Any]) -> None:
    exif = inspect_image(_photo(tmp_path / "p.jpg", gps=gps)).exif

    assert (exif.lat, exif.lon, exif.altitude) == (None, None, None)
    assert exif.make == "Huawei"


def test_zero_denominator_altitude_leaves_position(tmp_path: Path) -> None:
    exif = inspect_image(_photo(tmp_path / "p.jpg", gps={**SHANGHAI, G.GPSAltitude: _r(0, 0)})).exif

    assert exif.lat == pytest.approx(31.2301667, abs=1e-6)
    assert exif.altitude is None


@pytest.mark.parametrize(
    ("offset", "expected_tz"),
    [
        ("+08:00", datetime.timezone(datetime.timedelta(hours=8))),
        ("-03:30", datetime.timezone(-datetime.timedelta(hours=3, minutes=30))),
        (None, None),
        ("+8", None),
        ("+25:00", None),
        ("   :  ", None),
    ],
)
def test_taken_at_is_aware_only_with_a_valid_offset(
    tmp_path: Path, offset: str | None, expected_tz: datetime.timezone | None
) -> None:
    path = _photo(tmp_path / "p.jpg", taken="2024:05:06 07:08:09", offset=offset)

    taken_at = inspect_image(path).exif.taken_at

    assert taken_at == datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=expected_tz)
    assert taken_at.tzinfo == expected_tz  # == alone treats naive and aware as unequal


@pytest.mark.parametrize("taken", ["    :  :     :  :  ", "2024:13:40 07:08:09", "yesterday"])
def test_unreadable_taken_at_is_none(tmp_path: Path, taken: str) -> None:
    info = inspect_image(_photo(tmp_path / "p.jpg", taken=taken, offset="+08:00"))

    assert info.exif.taken_at is None


def test_png_made_by_pillow_is_accepted_with_its_exif(tmp_path: Path) -> None:
    path = _photo(tmp_path / "p.png", gps=SHANGHAI, orientation=8, fmt="PNG", size=(30, 20))

    info = inspect_image(path)

    assert (info.media_type, info.width, info.height) == ("image/png", 30, 20)
    assert info.exif.orientation == 8
    assert info.exif.lat == pytest.approx(31.2301667, abs=1e-6)


def test_photo_without_exif(tmp_path: Path) -> None:
    path = tmp_path / "plain.jpg"
    Image.new("L", (5, 3)).save(path)

    assert inspect_image(path) == ImageInfo("image/jpeg", 5, 3, Exif())


# Sniffing.


def _ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return (8 + len(body)).to_bytes(4, "big") + b"ftyp" + body + b"\x00\x00\x00\x08meta"


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg"),
        (b"\xff\xd8\xff\xe1\x12\x34Exif\x00\x00", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
        (_ftyp(b"heic", b"mif1", b"heic"), "image/heic"),
        (_ftyp(b"heix", b"mif1"), "image/heic"),
        (_ftyp(b"mif1", b"mif1", b"heic"), "image/heic"),
        (_ftyp(b"mif1", b"miaf", b"MiHB"), "image/heic"),
        (_ftyp(b"msf1", b"hevc"), "image/heic"),
        (_ftyp(b"avif", b"mif1", b"miaf"), "image/avif"),
        (_ftyp(b"avis", b"msf1", b"avif"), "image/avif"),
        (_ftyp(b"mif1", b"avif", b"miaf"), "image/avif"),
        (_ftyp(b"isom", b"iso2", b"mp41"), None),
        (b"GIF89a\x01\x00\x01\x00", "image/gif"),
        (b"GIF87a\x01\x00\x01\x00", "image/gif"),
        (b"BM" + b"\x00" * 16, "image/bmp"),
        (b"II*\x00\x08\x00\x00\x00", "image/tiff"),
        (b"MM\x00*\x00\x00\x00\x08", "image/tiff"),
        (b"RIFF\x00\x10\x00\x00WEBPVP8 ", "image/webp"),
        (b"RIFF\x00\x10\x00\x00WAVEfmt ", None),
        (b"%PDF-1.7\n", "application/pdf"),
        (b"PK\x03\x04\x14\x00", "application/zip"),
        (b'<svg xmlns="http://www.w3.org/2000/svg">', "image/svg+xml"),
        (b"", None),
        (b"\xff\xd8", None),
        (b"\x89PN", None),
        (b"hello world, this is not an image at all", None),
    ],
)
def test_sniff_image_type(head: bytes, expected: str | None) -> None:
    assert sniff_image_type(head) == expected


@pytest.mark.parametrize("entry", MANIFEST, ids=[entry["file"] for entry in MANIFEST])
def test_sniff_agrees_with_manifest_from_64_bytes(entry: dict[str, Any]) -> None:
    head = (IMAGES / entry["file"]).read_bytes()[:64]
    expected = None if entry["media_type"] == "application/x-empty" else entry["media_type"]

    assert sniff_image_type(head) == expected
    unsupported = expected is not None and expected not in ACCEPTED
    assert unsupported == (entry["expect"] == "unsupported_media_type")


def test_unsupported_is_decided_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_open(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("Image.open() called for an unsupported type")

    monkeypatch.setattr(Image, "open", no_open)
    with pytest.raises(MediaError) as caught:
        inspect_image(IMAGES / "bomb_gif.gif")

    assert caught.value.code == "unsupported_media_type"
    assert caught.value.detail == "The file is image/gif; accepted: JPEG, HEIC/HEIF, PNG."


# Thumbnails.


def _size(jpeg: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(jpeg)) as im:
        assert im.format == "JPEG"
        assert im.mode == "RGB"
        return im.size


@pytest.mark.parametrize(("max_px", "size"), [(640, (200, 400)), (100, (50, 100))])
def test_thumbnail_applies_orientation(tmp_path: Path, max_px: int, size: tuple[int, int]) -> None:
    path = _photo(tmp_path / "landscape.jpg", size=(400, 200), orientation=6, gps=SHANGHAI)

    jpeg = thumbnail_jpeg(path, max_px=max_px)

    assert jpeg[:2] == b"\xff\xd8"
    assert _size(jpeg) == size
    with Image.open(io.BytesIO(jpeg)) as im:
        assert ExifTags.IFD.GPSInfo not in im.getexif()  # no location leaks into thumbnails


@pytest.mark.parametrize(
    ("name", "size"),
    [
        ("gps_iphone6_fullsize.jpg", (640, 480)),
        ("nogps_iphone8plus.heic", (480, 640)),  # rotated by pillow-heif, not twice
        ("nogps_xiaomi_orientation6.jpg", (10, 10)),
        ("png_exif_orientation3.png", (512, 512)),
        ("exif_corrupt_data.jpg", (500, 500)),  # mode L becomes RGB
    ],
)
def test_thumbnail_of_corpus_photos(name: str, size: tuple[int, int]) -> None:
    assert _size(thumbnail_jpeg(IMAGES / name)) == size


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("truncated_half.jpg", "invalid_image"),
        ("bomb_png_20000x20000.png", "invalid_image"),
        ("zero_bytes.jpg", "invalid_image"),
        ("gif_real.gif", "unsupported_media_type"),
    ],
)
def test_thumbnail_refuses_what_inspect_refuses(name: str, code: str) -> None:
    with pytest.raises(MediaError) as caught:
        thumbnail_jpeg(IMAGES / name)
    assert caught.value.code == code


# Decoding memory: reserved per decode, so a small photo never waits behind a large one.


def _rgba_png(path: Path, size: tuple[int, int]) -> Path:
    Image.new("RGBA", size, (10, 20, 30, 255)).save(path, "PNG")
    return path


def _overlap_of_concurrent_inspections(monkeypatch: pytest.MonkeyPatch, path: Path) -> int:
    """Most decodes seen running at once while four threads inspect ``path`` together."""
    real_decode = images._decode
    lock = threading.Lock()
    running = 0
    most = 0

    def slow_decode(*args: Any) -> Any:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        try:
            time.sleep(0.2)
            return real_decode(*args)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(images, "_decode", slow_decode)
    start = threading.Barrier(4)
    results: list[ImageInfo] = []

    def work() -> None:
        start.wait()
        results.append(inspect_image(path))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(results) == 4
    return most


def test_large_decodes_wait_for_each_other_small_ones_do_not(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With room for one 2000x2000 RGBA PNG (16 MB of pixels) at a time, those are decoded one
    after the other, while small photos are decoded together."""
    large = _rgba_png(tmp_path / "large.png", (2000, 2000))
    monkeypatch.setattr(images, "DECODE_MEMORY", images.DecodeMemory(50 * 10**6))

    assert _overlap_of_concurrent_inspections(monkeypatch, large) == 1
    # A small PNG: a baseline JPEG is proved whole by its structure, not decoded at all.
    assert _overlap_of_concurrent_inspections(monkeypatch, IMAGES / "png_no_exif.png") > 1


def test_a_small_photo_is_not_held_up_by_a_slow_decode(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A 2 s decode of a large photo runs; a small photo inspected meanwhile answers at once."""
    large = _rgba_png(tmp_path / "large.png", (3000, 2000))
    real_decode = images._decode
    started = threading.Event()

    def decode(im: Any, path: Any, *args: Any) -> Any:
        if Path(path) == large:
            started.set()
            time.sleep(2)
        return real_decode(im, path, *args)

    monkeypatch.setattr(images, "_decode", decode)
    slow = threading.Thread(target=inspect_image, args=(large,))
    slow.start()
    try:
        assert started.wait(10)
        begin = time.perf_counter()
        inspect_image(IMAGES / "gps_iphone7.jpg")
        assert time.perf_counter() - begin < 1
        assert slow.is_alive()
    finally:
        slow.join(timeout=30)


def test_an_image_needing_more_memory_than_allowed_is_refused_not_queued(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    large = _rgba_png(tmp_path / "large.png", (2000, 2000))
    monkeypatch.setattr(images, "DECODE_MEMORY", images.DecodeMemory(20 * 10**6))

    with pytest.raises(MediaError) as caught:
        inspect_image(large)
    assert caught.value.code == "invalid_image"
    assert "MB" in caught.value.detail and "decompression bomb" in caught.value.detail
    assert images.DECODE_MEMORY.free == images.DECODE_MEMORY.capacity
    assert inspect_image(IMAGES / "gps_iphone7.jpg").media_type == "image/jpeg"


def test_exif_is_frozen() -> None:
    with pytest.raises(AttributeError):
        Exif().lat = 1.0  # type: ignore[misc]


def test_the_decode_memory_budget_is_a_setting() -> None:
    """``IMAGE_DECODE_MEMORY_BYTES`` sets each server process's decode budget."""
    import os
    import subprocess
    import sys

    code = (
        "import django; django.setup(); from fieldvisit.media import images; "
        "print(images.DECODE_MEMORY.capacity)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    env["IMAGE_DECODE_MEMORY_BYTES"] = "300000000"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "300000000"
