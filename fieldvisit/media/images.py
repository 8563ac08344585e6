"""Photos as evidence: what a file really is, whether it is whole, and where and when it was taken.

The type is judged from the leading bytes, never from the file name, and before any decoding: a
GIF pixel bomb is refused as an unsupported type without Pillow ever parsing it. Accepted files
are then fully decoded once, because only a full decode proves an image is not truncated
(``Image.open()`` and ``verify()`` succeed on a JPEG cut in half). Decoding is the expensive,
memory-hungry step (a 200 MP HEIC needs about 0.9 GB), so one decode at a time runs per process
(``DECODE_SLOTS``). EXIF is best effort: damaged metadata never makes a photo invalid, it only
leaves the unreadable values as ``None``.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import math
import numbers
import os
import re
import threading
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pillow_heif
from PIL import ExifTags, Image, ImageFile, ImageOps

from fieldvisit.media import MediaError

ACCEPTED = {"image/jpeg", "image/png", "image/heic"}

# Above real phone cameras: the Galaxy S24 Ultra writes 200 MP (16320x12240) photos, which
# Pillow's default limit (89 MP, hard error at 179 MP) would refuse.
MAX_PIXELS = 250_000_000

# One full decode at a time per process, so concurrent uploads never hold several decoded
# 200 MP images (0.6 GB of RGB each) in memory at once.
DECODE_SLOTS = threading.BoundedSemaphore(1)

_ACCEPTED_LABEL = "JPEG, HEIC/HEIF, PNG"
_LABELS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/heic": "HEIC/HEIF"}
_PILLOW_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/heic": "HEIF"}
_HEAD_BYTES = 256

# ISO-BMFF brands (ISO/IEC 23008-12): HEVC-coded HEIF images and sequences, and the generic
# HEIF structural brands. AVIF uses the same container and also lists mif1, so avif/avis decide.
_HEVC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs"}
_HEIF_BRANDS = {b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}

# Pillow refuses (DecompressionBombError) above twice this and warns above it; our own check
# against MAX_PIXELS runs before decoding, so this only has to let real 200 MP photos open.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
pillow_heif.register_heif_opener()


def sniff_image_type(head: bytes) -> str | None:
    """Media type from a file's leading bytes; ``None`` when unknown.

    Types we refuse are recognised too, so an error can say what the file is.
    """
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[4:8] == b"ftyp":
        return _bmff_type(head)
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "image/tiff"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        return "application/zip"
    if head.startswith(b"BM") and len(head) >= 18:
        return "image/bmp"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<svg") or (text.startswith(b"<?xml") and b"<svg" in text):
        return "image/svg+xml"
    return None


def _bmff_type(head: bytes) -> str | None:
    """HEIC or AVIF from an ISO-BMFF ``ftyp`` box: major brand, then compatible brands."""
    box_size = int.from_bytes(head[:4], "big")
    end = min(box_size, len(head)) if box_size >= 16 else len(head)
    major = head[8:12]
    brands = {head[i : i + 4] for i in range(16, end - 3, 4)} | {major}
    if major in _AVIF_BRANDS:
        return "image/avif"
    if brands & _HEVC_BRANDS:
        return "image/heic"
    if brands & _AVIF_BRANDS:
        return "image/avif"
    if brands & _HEIF_BRANDS:
        return "image/heic"
    return None


@dataclass(frozen=True)
class Exif:
    """What the photo's EXIF says; ``None`` wherever it is absent or unreadable.

    ``lat``/``lon`` are decimal degrees (S and W negative) and ``altitude`` metres (negative
    below sea level); all three are ``None`` unless both coordinates are valid. ``taken_at`` is
    DateTimeOriginal, aware when OffsetTimeOriginal is valid. ``orientation`` is the EXIF value
    still to apply to the pixels as Pillow decodes them: pillow-heif already applies a HEIF's
    rotation and rewrites its EXIF orientation to 1.
    """

    lat: float | None = None
    lon: float | None = None
    altitude: float | None = None
    taken_at: datetime.datetime | None = None
    make: str | None = None
    model: str | None = None
    orientation: int | None = None


@dataclass(frozen=True)
class ImageInfo:
    """An accepted photo: its real type, its size as decoded, and its EXIF."""

    media_type: str
    width: int
    height: int
    exif: Exif


def inspect_image(path: str | os.PathLike[str]) -> ImageInfo:
    """Type, size and EXIF of a photo, after proving it is an accepted type and decodes whole.

    Raises ``MediaError`` with ``unsupported_media_type`` (another type, judged before any
    decoding) or ``invalid_image`` (empty, unrecognised, too many pixels, truncated, corrupt).
    """
    with _opened(path) as (im, media_type):
        width, height = im.size  # before decoding: draft() shrinks a JPEG's size
        _decode(im, path, media_type)
        return ImageInfo(media_type, width, height, _read_exif(im))


def thumbnail_jpeg(path: str | os.PathLike[str], max_px: int = 640) -> bytes:
    """JPEG bytes (RGB, quality 80, no metadata) of the photo fitted in ``max_px`` square,
    turned upright by its EXIF orientation.

    ``Image.thumbnail()`` calls ``draft()`` before decoding, so a JPEG is decoded with DCT
    scaling and a HEIF from an embedded thumbnail when one is large enough. Fitting into a
    square before rotating gives the same size as rotating first, without a full-size copy.
    """
    with _opened(path) as (im, _media_type):
        im.thumbnail((max_px, max_px))
        upright = ImageOps.exif_transpose(im).convert("RGB")
        out = io.BytesIO()
        upright.save(out, "JPEG", quality=80)
        return out.getvalue()


def _accepted_type(path: str | os.PathLike[str]) -> str:
    """The accepted media type of the file's content, or the ``MediaError`` saying why not."""
    with open(path, "rb") as f:
        head = f.read(_HEAD_BYTES)
    if not head:
        raise MediaError("invalid_image", f"The file is empty; accepted: {_ACCEPTED_LABEL}.")
    media_type = sniff_image_type(head)
    if media_type is None:
        raise MediaError(
            "invalid_image",
            f"The file's content is not a recognised image format; accepted: {_ACCEPTED_LABEL}.",
        )
    if media_type not in ACCEPTED:
        raise MediaError(
            "unsupported_media_type", f"The file is {media_type}; accepted: {_ACCEPTED_LABEL}."
        )
    return media_type


@contextlib.contextmanager
def _opened(path: str | os.PathLike[str]) -> Iterator[tuple[ImageFile.ImageFile, str]]:
    """Open an accepted photo with Pillow inside a decode slot, after the type and pixel checks.

    Every failure inside, from Pillow, pillow-heif or the caller's decoding, becomes
    ``MediaError("invalid_image")``. Warnings are silenced here rather than globally because
    ``-W error`` would otherwise turn 'Corrupt EXIF data' into an exception; the slot also keeps
    this process-wide ``catch_warnings`` from racing with itself.
    """
    media_type = _accepted_type(path)
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        # Pillow would then pad a truncated image silently; refuse to judge rather than accept.
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES must stay False")
    label = _LABELS[media_type]
    with DECODE_SLOTS, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if media_type == "image/heic":
                _check_bmff_boxes(path)
            with Image.open(path, formats=[_PILLOW_FORMATS[media_type]]) as im:
                if im.width * im.height > MAX_PIXELS:
                    raise MediaError(
                        "invalid_image", _bomb_detail(f"{im.width}x{im.height} pixels")
                    )
                yield im, media_type
        except MediaError:
            raise
        except Image.DecompressionBombError as exc:
            raise MediaError("invalid_image", _bomb_detail("more pixels")) from exc
        except MemoryError as exc:
            raise MediaError(
                "invalid_image", f"The {label} image is too large to decode on this server."
            ) from exc
        except Exception as exc:
            raise MediaError(
                "invalid_image",
                f"The file is not a whole, readable {label} image: it is truncated or corrupt.",
            ) from exc


def _bomb_detail(size: str) -> str:
    return (
        f"The image declares {size}, over the limit of {MAX_PIXELS:,} pixels: "
        "refused as a possible decompression bomb."
    )


def _check_bmff_boxes(path: str | os.PathLike[str]) -> None:
    """Refuse a HEIF whose top-level boxes run past the end of the file.

    libheif (1.23) decodes a truncated grid HEIC without error, painting the missing tiles
    green, so decoding alone does not prove a HEIC is whole; a cut file leaves its last box
    (usually ``mdat``) claiming more bytes than remain.
    """
    file_size = os.path.getsize(path)
    with open(path, "rb") as f:
        position = 0
        while position + 8 <= file_size:
            f.seek(position)
            header = f.read(16)
            box_size = int.from_bytes(header[:4], "big")
            if box_size == 0:  # the box runs to the end of the file
                return
            if box_size == 1:  # a 64-bit size follows the type
                box_size = int.from_bytes(header[8:16], "big") if len(header) == 16 else 0
            if box_size < 8 or position + box_size > file_size:
                raise MediaError(
                    "invalid_image", "The HEIC/HEIF file is truncated: its boxes run past its end."
                )
            position += box_size


def _decode(im: ImageFile.ImageFile, path: str | os.PathLike[str], media_type: str) -> None:
    """Decode every pixel once, to prove the image is whole; the pixels are freed when the
    image closes, still inside the decode slot.

    A JPEG is decoded at 1/8 scale (``draft``): the whole entropy-coded stream is still read,
    so truncation is still detected, for 1/64 of the memory. A HEIF is decoded by pillow-heif
    directly: through Pillow the decoded pixels would be copied once more (1.4 GB instead of
    0.9 GB peak for 200 MP).
    """
    if media_type == "image/heic":
        heif = pillow_heif.open_heif(os.fspath(path), convert_hdr_to_8bit=True)
        heif[heif.primary_index].load()
        return
    if media_type == "image/jpeg":
        im.draft("RGB", (max(1, im.width // 8), max(1, im.height // 8)))
    im.load()


def _read_exif(im: Image.Image) -> Exif:
    """EXIF values Pillow can read; each unreadable piece is ``None``, never an error."""
    try:
        base = im.getexif()
    except Exception:
        return Exif()
    exif_ifd = _ifd(base, ExifTags.IFD.Exif)
    gps = _ifd(base, ExifTags.IFD.GPSInfo)
    lat = _coordinate(gps, ExifTags.GPS.GPSLatitude, ExifTags.GPS.GPSLatitudeRef, "NS", 90)
    lon = _coordinate(gps, ExifTags.GPS.GPSLongitude, ExifTags.GPS.GPSLongitudeRef, "EW", 180)
    if lat is None or lon is None:
        lat = lon = None
    orientation = _get(base, ExifTags.Base.Orientation)
    return Exif(
        lat=lat,
        lon=lon,
        altitude=None if lat is None else _altitude(gps),
        taken_at=_taken_at(exif_ifd),
        make=_text(_get(base, ExifTags.Base.Make)),
        model=_text(_get(base, ExifTags.Base.Model)),
        orientation=orientation if orientation in range(1, 9) else None,
    )


def _ifd(exif: Image.Exif, tag: int) -> Mapping[int, Any]:
    try:
        return exif.get_ifd(tag)
    except Exception:
        return {}


def _get(mapping: Mapping[int, Any], tag: int) -> Any:
    """``mapping.get(tag)``; Pillow decodes EXIF values lazily, so reading one can fail."""
    try:
        return mapping.get(tag)
    except Exception:
        return None


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if not isinstance(value, str):
        return None
    # Text fields hold what a camera wrote: no NUL or other control characters (databases
    # refuse NUL), and no more than a make or model needs.
    cleaned = "".join(ch for ch in value.rstrip("\x00 ") if ch.isprintable())
    return cleaned.strip()[:TEXT_LIMIT] or None


def _number(value: Any) -> float | None:
    """A finite real (a rational 0/0 reads as NaN and is no number)."""
    if not isinstance(value, numbers.Real):
        return None
    try:
        number = float(value)
    except (ArithmeticError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _coordinate(
    gps: Mapping[int, Any], tag: int, ref_tag: int, refs: str, limit: int
) -> float | None:
    """Decimal degrees from (degrees, minutes, seconds) and the N/S or E/W reference."""
    ref = (_text(_get(gps, ref_tag)) or "").strip().upper()
    value = _get(gps, tag)
    if len(ref) != 1 or ref not in refs or not isinstance(value, tuple | list) or len(value) != 3:
        return None
    parts = [number for part in value if (number := _number(part)) is not None and number >= 0]
    if len(parts) != 3:
        return None
    degrees, minutes, seconds = parts
    decimal = degrees + minutes / 60 + seconds / 3600
    if decimal > limit:
        return None
    return -decimal if ref == refs[1] else decimal


def _altitude(gps: Mapping[int, Any]) -> float | None:
    altitude = _number(_get(gps, ExifTags.GPS.GPSAltitude))
    if altitude is None:
        return None
    ref = _get(gps, ExifTags.GPS.GPSAltitudeRef)
    below_sea_level = ref == 1 or (isinstance(ref, bytes) and ref[:1] == b"\x01")
    return -altitude if below_sea_level else altitude


TEXT_LIMIT = 128
# A photo's own clock outside these years is wrong, not a date to keep.
YEARS = range(1990, 2200)
_EXIF_DATETIME = re.compile(r"(\d{4}):(\d{2}):(\d{2}) (\d{2}):(\d{2}):(\d{2})")
_EXIF_OFFSET = re.compile(r"([+-])(\d{2}):(\d{2})")


def _taken_at(exif_ifd: Mapping[int, Any]) -> datetime.datetime | None:
    """DateTimeOriginal; aware with OffsetTimeOriginal when that is a valid offset."""
    text = _text(_get(exif_ifd, ExifTags.Base.DateTimeOriginal))
    match = _EXIF_DATETIME.fullmatch(text.strip()) if text else None
    if match is None:
        return None
    tz = None
    offset = _text(_get(exif_ifd, ExifTags.Base.OffsetTimeOriginal))
    offset_match = _EXIF_OFFSET.fullmatch(offset.strip()) if offset else None
    if offset_match:
        sign, hours, minutes = offset_match.groups()
        if int(hours) <= 14 and int(minutes) < 60:
            delta = datetime.timedelta(hours=int(hours), minutes=int(minutes))
            tz = datetime.timezone(-delta if sign == "-" else delta)
    try:
        moment = datetime.datetime(*(int(part) for part in match.groups()), tzinfo=tz)
    except ValueError:
        return None
    return moment if moment.year in YEARS else None
