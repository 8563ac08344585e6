"""Photos as evidence: what a file really is, whether it is whole, and where and when it was taken.

The type is judged from the leading bytes, never from the file name, and before any decoding: a
GIF pixel bomb is refused as an unsupported type without Pillow ever parsing it. Then the file
must be proved whole (``Image.open()`` and ``verify()`` succeed on a JPEG cut in half):

- a baseline JPEG (one scan of every component, 8-bit Huffman: what every camera writes) by
  its structure, ``_jpeg_proved_whole``: every marker segment complete, the quantisation and
  Huffman tables that libjpeg would refuse checked as libjpeg checks them, the scan's
  entropy-coded data walked to its end (in C, by ``re``: each 0xFF must be stuffed, a restart
  marker in sequence, or the EOI that ends it) and, with restart markers, as many as the frame
  has restart intervals. That is what a decode refuses: libjpeg takes damaged entropy-coded
  data with a warning only (bit errors decode to wrong pixels, an EOI inside the data to grey
  ones), so Pillow refuses a JPEG only when its file ends before the decoder does. The walk
  reads the file once at memory speed; decoding a 20 MB photo, even at 1/8 scale, takes
  about 7 times as long as hashing and writing it;
- anything the walk does not prove whole (another kind of JPEG, an unexpected marker, a file
  that ends before its EOI), and every PNG and HEIC, by decoding every pixel once, which also
  makes the photo's thumbnail. A JPEG proved whole by its structure gets its thumbnail on
  first use instead (``thumbnail_jpeg``), decoded once then.

EXIF is best effort: damaged metadata never makes a photo invalid, it only leaves the
unreadable values as ``None``.

Decoding is the expensive, memory-hungry step (a 200 MP HEIC needs about 0.9 GB), and small
files can declare enormous work, so what a decode will cost is judged from the headers first
and refused when implausible (``invalid_image``, in milliseconds):

- pixels: ``MAX_PIXELS`` for camera formats, ``MAX_PNG_PIXELS`` for PNG, which phones write for
  screens (screenshots, signature pads), not for 200 MP camera sensors; an all-zero RGBA PNG
  deflates 1030:1, so 1 MB is 1 GB of pixels, and Pillow cannot decode a PNG at a smaller scale.
- a JPEG that libjpeg must buffer whole (progressive, or its first scan not carrying every
  component) is decoded scan by scan over the whole image: ``MAX_SCAN_PIXELS`` bounds pixels x
  scans (a 46 KB greyscale JPEG of 15000 x 15000 pixels and 150 empty scans took 10 s), and its
  coefficient buffer (2 bytes per pixel per component) counts in its memory.
- memory: each decode reserves its estimated memory from ``DECODE_MEMORY`` (per process,
  ``settings.IMAGE_DECODE_MEMORY_BYTES``) and
  waits only while the reservations of others leave too little, so a small photo is never held
  up behind a large decode; an image that alone needs more is refused.
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
from array import array
from bisect import bisect_left
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

import pillow_heif
from django.conf import settings
from PIL import ExifTags, Image, ImageFile

from fieldvisit.media import MediaError
from fieldvisit.texts import _, format_lazy

ACCEPTED = {"image/jpeg", "image/png", "image/heic"}

# Above real phone cameras: the Galaxy S24 Ultra writes 200 MP (16320x12240) photos, which
# Pillow's default limit (89 MP, hard error at 179 MP) would refuse.
MAX_PIXELS = 250_000_000
# The long side of thumbnails (admin, bundles' report.html).
THUMBNAIL_PX = 640
# PNG: a 64 MP camera (9248x6936) saving PNG, 8K screenshots, long scrolling screenshots.
# Decoding it whole takes 256 MB and about 2 s at most.
MAX_PNG_PIXELS = 1 << 26
# libjpeg's simple progression has 10 scans (6 for greyscale); a 12 MP photo may have 250.
MAX_SCAN_PIXELS = 12 * MAX_PIXELS
# Decoded bytes per pixel of a HEIF through pillow-heif (measured: 0.9 GB for 200 MP).
_HEIF_BYTES_PER_PIXEL = 4.5
_BASE_DECODE_BYTES = 16 * 1024 * 1024


class DecodeMemory:
    """Bytes of decoding this process allows at once, reserved by each decode for its run.

    A reservation waits only while others hold too much, so a 1 KB photo is decoded at once
    next to a 200 MP one, while two 200 MP photos are decoded one after the other. A decode
    that alone needs more than the whole allowance is refused by the caller, never queued.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.free = capacity
        self._changed = threading.Condition()

    @contextlib.contextmanager
    def reserve(self, amount: int) -> Iterator[None]:
        amount = min(amount, self.capacity)
        with self._changed:
            self._changed.wait_for(lambda: self.free >= amount)
            self.free -= amount
        try:
            yield
        finally:
            with self._changed:
                self.free += amount
                self._changed.notify_all()


def _decode_memory_bytes() -> int:
    """``settings.IMAGE_DECODE_MEMORY_BYTES`` (1.25 GB unless configured): per process, so a
    server's worst case is its workers x this."""
    default = 1_250_000_000
    return (
        int(getattr(settings, "IMAGE_DECODE_MEMORY_BYTES", default))
        if settings.configured
        else default
    )


DECODE_MEMORY = DecodeMemory(_decode_memory_bytes())
# Warnings are silenced around Pillow's parsing with catch_warnings, which swaps process-wide
# state: only one thread may do it at a time. Decoding runs outside it.
_WARNINGS = threading.Lock()

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
    """An accepted photo: its real type, its size as decoded, its EXIF, and the thumbnail
    (``thumbnail_jpeg``) made from the decode that checked it, when one was asked for and the
    check decoded it (a baseline JPEG is proved whole without decoding)."""

    media_type: str
    width: int
    height: int
    exif: Exif
    thumbnail: bytes | None = None


def inspect_image(
    path: str | os.PathLike[str],
    thumbnail_px: int | None = None,
    markers: JpegMarkers | None = None,
) -> ImageInfo:
    """Type, size and EXIF of a photo, after proving it is an accepted type and whole (a
    baseline JPEG by its structure, anything else by decoding it); with ``thumbnail_px``, also
    its thumbnail fitted in that square when the check decoded it, from the same decode
    (``None`` otherwise, or if Pillow cannot make one of an image it decoded). ``markers``:
    the file's markers, found while it was received (``JpegMarkers``), so that walking a
    JPEG's scan does not read the file again.

    Raises ``MediaError`` with ``unsupported_media_type`` (another type, judged before any
    decoding) or ``invalid_image`` (empty, unrecognised, too many pixels, too costly to decode,
    truncated, corrupt).
    """
    return _inspect(path, thumbnail_px, decode=False, markers=markers)


def _inspect(
    path: str | os.PathLike[str],
    thumbnail_px: int | None,
    *,
    decode: bool,
    markers: JpegMarkers | None = None,
) -> ImageInfo:
    """``inspect_image``; with ``decode``, the image is decoded even when its structure
    proves it whole (for its thumbnail)."""
    with _opened(path) as (im, media_type):
        width, height = im.size  # before decoding: draft() shrinks a JPEG's size
        heif, decoded = None, decode or not _proved_whole(im, path, media_type, markers)
        if decoded:
            heif = _decode(im, path, media_type, thumbnail_px or THUMBNAIL_PX)
        with _quiet():
            exif = _read_exif(im)
        thumbnail = None
        if thumbnail_px is not None and decoded:
            with contextlib.suppress(Exception):
                thumbnail = _thumbnail(im, heif, thumbnail_px, exif.orientation)
        return ImageInfo(media_type, width, height, exif, thumbnail)


def thumbnail_jpeg(path: str | os.PathLike[str], max_px: int = THUMBNAIL_PX) -> bytes:
    """JPEG bytes (RGB, quality 80, no metadata) of the photo fitted in ``max_px`` square,
    turned upright by its EXIF orientation: ``inspect_image`` with its checks, and one decode
    whatever the checks needed.
    """
    thumbnail = _inspect(path, max_px, decode=True).thumbnail
    if thumbnail is None:
        raise MediaError("invalid_image", _("No thumbnail can be made of this image."))
    return thumbnail


def _thumbnail(
    im: Image.Image, heif: pillow_heif.HeifImage | None, max_px: int, orientation: int | None
) -> bytes:
    """The decoded pixels shrunk by a whole factor band by band (Pillow's resize of a whole
    64 MP RGBA image copies all of it, twice), fitted in the square (never enlarged: a JPEG
    decoded at 1/8 may be a little smaller), then turned upright: the same size as turning
    first, without a full-size copy. A HEIF is upright already."""
    if heif is not None:
        width, height, mode, stride = *heif.size, heif.mode, heif.stride

        def band(top: int, count: int) -> Image.Image:
            data = heif.data[top * stride : (top + count) * stride]
            return Image.frombuffer(mode, (width, count), data, "raw", mode, stride, 1)

        orientation = None
    else:
        width, height = im.size

        def band(top: int, count: int) -> Image.Image:
            return im.crop((0, top, width, top + count))

    factor = max(1, max(width, height) // max_px)
    if factor == 1 and heif is None:
        small = im.convert("RGB") if im.mode != "RGB" else im
    else:
        small = Image.new("RGB", (math.ceil(width / factor), math.ceil(height / factor)))
        rows = factor * max(1, 256 // factor)
        for top in range(0, height, rows):
            part = band(top, min(rows, height - top)).convert("RGB")
            small.paste(part.reduce(factor) if factor > 1 else part, (0, top // factor))
    small.thumbnail((max_px, max_px))
    method = _TRANSPOSE.get(orientation or 1)
    upright = small.transpose(method) if method is not None else small
    out = io.BytesIO()
    upright.save(out, "JPEG", quality=80)
    return out.getvalue()


# EXIF orientation -> the transposition that makes the pixels upright (as ImageOps.exif_transpose).
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _accepted_type(path: str | os.PathLike[str]) -> str:
    """The accepted media type of the file's content, or the ``MediaError`` saying why not."""
    with open(path, "rb") as f:
        head = f.read(_HEAD_BYTES)
    if not head:
        raise MediaError(
            "invalid_image",
            format_lazy(
                _("The file is empty; accepted: {ACCEPTED_LABEL}."), ACCEPTED_LABEL=_ACCEPTED_LABEL
            ),
        )
    media_type = sniff_image_type(head)
    if media_type is None:
        raise MediaError(
            "invalid_image",
            format_lazy(
                _(
                    "The file's content is not a recognised image format; accepted: "
                    "{ACCEPTED_LABEL}."
                ),
                ACCEPTED_LABEL=_ACCEPTED_LABEL,
            ),
        )
    if media_type not in ACCEPTED:
        raise MediaError(
            "unsupported_media_type",
            format_lazy(
                _("The file is {media_type}; accepted: {ACCEPTED_LABEL}."),
                media_type=media_type,
                ACCEPTED_LABEL=_ACCEPTED_LABEL,
            ),
        )
    return media_type


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Pillow's warnings silenced here rather than globally, because ``-W error`` would
    otherwise turn 'Corrupt EXIF data' into an exception; one thread at a time, since
    ``catch_warnings`` swaps process-wide state."""
    with _WARNINGS, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@contextlib.contextmanager
def _opened(path: str | os.PathLike[str]) -> Iterator[tuple[ImageFile.ImageFile, str]]:
    """Open an accepted photo with Pillow, judge the cost of decoding it from its headers, and
    hold that much of ``DECODE_MEMORY`` while the caller decodes it.

    Every failure inside, from Pillow, pillow-heif or the caller's decoding, becomes
    ``MediaError("invalid_image")``.
    """
    media_type = _accepted_type(path)
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        # Pillow would then pad a truncated image silently; refuse to judge rather than accept.
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES must stay False")
    label = _LABELS[media_type]
    try:
        with contextlib.ExitStack() as stack:
            with _quiet():
                if media_type == "image/heic":
                    _check_bmff_boxes(path)
                im = stack.enter_context(Image.open(path, formats=[_PILLOW_FORMATS[media_type]]))
                cost = _decode_cost(im, path, media_type)
            stack.enter_context(DECODE_MEMORY.reserve(cost))
            yield im, media_type
    except MediaError:
        raise
    except Image.DecompressionBombError as exc:
        raise MediaError("invalid_image", _bomb_detail(_("more pixels"), MAX_PIXELS)) from exc
    except MemoryError as exc:
        raise MediaError(
            "invalid_image",
            format_lazy(_("The {label} image is too large to decode on this server."), label=label),
        ) from exc
    except Exception as exc:
        raise MediaError(
            "invalid_image",
            format_lazy(
                _("The file is not a whole, readable {label} image: it is truncated or corrupt."),
                label=label,
            ),
        ) from exc


def _bomb_detail(size: str, limit: int) -> str:
    return format_lazy(
        _(
            "The image declares {size}, over the limit of {limit:,} pixels: refused as a "
            "possible decompression bomb."
        ),
        size=size,
        limit=limit,
    )


def _decode_cost(im: ImageFile.ImageFile, path: str | os.PathLike[str], media_type: str) -> int:
    """Bytes decoding ``im`` will take, judged from its headers; ``MediaError`` when the image
    is over a limit (pixels, JPEG scans, memory) and so not worth decoding at all."""
    pixels = im.width * im.height
    limit = MAX_PNG_PIXELS if media_type == "image/png" else MAX_PIXELS
    if pixels > limit:
        size = format_lazy(_("{width}x{height} pixels"), width=im.width, height=im.height)
        raise MediaError("invalid_image", _bomb_detail(size, limit))
    if media_type == "image/heic":
        cost = int(pixels * _HEIF_BYTES_PER_PIXEL)
    elif media_type == "image/png":
        cost = pixels * _bytes_per_pixel(im.mode)
    else:
        cost = pixels // 4 + _jpeg_buffer_bytes(path, im.width, im.height)
    cost += _BASE_DECODE_BYTES
    if cost > DECODE_MEMORY.capacity:
        raise MediaError(
            "invalid_image",
            format_lazy(
                _(
                    "Decoding this {width}x{height} image would take about {value:,} MB, over"
                    " the {value2:,} MB allowed: refused as a possible decompression bomb."
                ),
                width=im.width,
                height=im.height,
                value=cost // 10**6,
                value2=DECODE_MEMORY.capacity // 10**6,
            ),
        )
    return cost


def _bytes_per_pixel(mode: str) -> int:
    """What Pillow keeps per pixel: one byte for 1, L and P, two for I;16, else four (RGB too)."""
    if mode in ("1", "L", "P"):
        return 1
    return 2 if mode.startswith("I;16") else 4


_JPEG_SOF = set(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_PROGRESSIVE = {0xC2, 0xC6, 0xCA, 0xCE}


def _jpeg_buffer_bytes(path: str | os.PathLike[str], width: int, height: int) -> int:
    """The whole-image coefficient buffer libjpeg keeps for a JPEG of several scans, after
    checking the number of scans; 0 for a single-scan JPEG (every camera's baseline JPEG).

    libjpeg buffers every DCT coefficient (2 bytes per pixel per full-size component) when the
    frame is progressive or its first scan does not carry every component, and then walks every
    block once per scan, however empty the scan: pixels x scans is the decoding time. Each scan
    starts with an SOS marker (FF DA), which never occurs in entropy-coded data, so counting
    them after the first bounds the scans from above without decoding anything.
    """
    frame = _jpeg_frame(path)
    if frame is None:  # no scan at all: Pillow will find the file truncated
        return 0
    progressive, sampling, first_scan_components, scans_start = frame
    if not progressive and first_scan_components >= len(sampling):
        return 0
    most = max(1, MAX_SCAN_PIXELS // max(1, width * height))
    scans = _count_scans(path, scans_start, most)
    if scans > most:
        raise MediaError(
            "invalid_image",
            format_lazy(
                _(
                    "The {width}x{height} JPEG has more than {most:,} scans: decoding it "
                    "would walk over {MAX_SCAN_PIXELS:,} pixels. Refused as a possible "
                    "decompression bomb."
                ),
                width=width,
                height=height,
                most=most,
                MAX_SCAN_PIXELS=MAX_SCAN_PIXELS,
            ),
        )
    h_max = max(h for h, _ in sampling)
    v_max = max(v for _, v in sampling)
    blocks = sum(
        math.ceil(math.ceil(width * h / h_max) / 8) * math.ceil(math.ceil(height * v / v_max) / 8)
        for h, v in sampling
    )
    return blocks * 64 * 2


def _jpeg_frame(
    path: str | os.PathLike[str],
) -> tuple[bool, list[tuple[int, int]], int, int] | None:
    """(progressive, sampling factors per component, components in the first scan, offset
    after the first SOS marker) from walking the marker segments as libjpeg does (bytes
    between segments skipped); ``None`` if the file ends before a scan."""
    progressive, sampling = False, []
    with open(path, "rb") as f:
        f.read(2)  # SOI, checked by the type sniffing
        while byte := f.read(1):
            if byte != b"\xff":
                continue
            marker = f.read(1)
            while marker == b"\xff":  # fill bytes
                marker = f.read(1)
            if not marker or marker == b"\xd9":
                return None
            code = marker[0]
            if code in (0x00, 0x01) or 0xD0 <= code <= 0xD7:  # no length follows
                continue
            size = int.from_bytes(f.read(2), "big")
            body_start = f.tell()
            if code in _JPEG_SOF:
                body = f.read(max(0, size - 2))
                count = body[5] if len(body) > 5 else 0
                parts = body[6 : 6 + 3 * count]
                sampling = [(b >> 4 or 1, b & 15 or 1) for b in parts[1::3]]
                progressive = code in _JPEG_PROGRESSIVE
            elif code == 0xDA:
                components = f.read(1)
                if not sampling or not components:
                    return None
                return progressive, sampling, components[0], body_start + size - 2
            f.seek(body_start + max(0, size - 2))
    return None


def _count_scans(path: str | os.PathLike[str], start: int, most: int) -> int:
    """1 + the SOS markers after ``start``; stops counting past ``most``."""
    scans, tail = 1, b""
    with open(path, "rb") as f:
        f.seek(start)
        while scans <= most and (block := f.read(1024 * 1024)):
            data = tail + block
            scans += data.count(b"\xff\xda")
            tail = data[-1:]
    return scans


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
                    "invalid_image",
                    _("The HEIC/HEIF file is truncated: its boxes run past its end."),
                )
            position += box_size


def _proved_whole(
    im: ImageFile.ImageFile,
    path: str | os.PathLike[str],
    media_type: str,
    markers: JpegMarkers | None = None,
) -> bool:
    """Whether the file's structure alone proves it whole: only a baseline JPEG can be."""
    if media_type != "image/jpeg":
        return False
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if markers is not None and not markers.covers(size):
                markers = None  # not every byte of this file was seen: read the file
            return _jpeg_walk(f, size, im.size, markers)
    except (OSError, ValueError, IndexError):
        return False


# In entropy-coded data every 0xFF byte is followed by a stuffed 0x00; any other byte after it
# makes a marker (or a fill byte before one).
_JPEG_MARKER = re.compile(rb"\xff(?!\x00)")
_JPEG_SEQUENTIAL_HUFFMAN = (0xC0, 0xC1)  # SOF0 baseline, SOF1 extended sequential
_JPEG_EOI, _JPEG_SOS, _JPEG_DQT, _JPEG_DHT, _JPEG_DRI = 0xD9, 0xDA, 0xDB, 0xC4, 0xDD
_SCAN_BLOCK = 1024 * 1024


def _jpeg_walk(
    f: BinaryIO, end_of_file: int, size: tuple[int, int], markers: JpegMarkers | None = None
) -> bool:
    """True when the file ``f`` is a whole baseline JPEG of ``size``: its marker segments up to the
    scan, then the scan's entropy-coded data up to the EOI that ends it. False wherever it is
    not that, without saying why: the decode then judges the file, as it judged every file
    before (so the walk never refuses what a decode would accept, and accepts only what a
    decode would accept: libjpeg's errors for such a file are all in its tables and headers,
    checked here as libjpeg checks them).
    """
    position = 2  # after SOI, checked by the type sniffing
    quant: set[int] = set()
    huffman: set[tuple[int, int]] = set()
    frame: dict[int, tuple[int, int, int]] | None = None
    restart_interval = 0
    while True:
        f.seek(position)
        head = f.read(4)
        if len(head) < 4 or head[0] != 0xFF:
            return False  # bytes between segments: libjpeg skips them with a warning
        marker = head[1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        length = int.from_bytes(head[2:4], "big")
        body_end = position + 2 + length
        if length < 2 or body_end > end_of_file:
            return False
        body = f.read(length - 2)
        if marker == _JPEG_DQT:
            if not _jpeg_quant_tables(body, quant):
                return False
        elif marker == _JPEG_DHT:
            if not _jpeg_huffman_tables(body, huffman):
                return False
        elif marker in _JPEG_SEQUENTIAL_HUFFMAN:
            if frame is not None:
                return False
            frame = _jpeg_frame_components(body, size)
            if frame is None:
                return False
        elif marker == _JPEG_DRI:
            if length != 4:
                return False
            restart_interval = int.from_bytes(body, "big")
        elif marker == _JPEG_SOS:
            if frame is None or not _jpeg_scan_ready(body, frame, quant, huffman):
                return False
            position = body_end
            break
        elif not (0xE0 <= marker <= 0xEF or marker == 0xFE):  # APPn and COM are skipped
            return False  # another frame type, DNL, arithmetic conditioning, a marker out of place
        position = body_end

    restarts = 0
    expected = 0
    if restart_interval:
        expected = -(-_jpeg_mcus(frame, size) // restart_interval) - 1
    codes = markers.codes_from(position) if markers is not None else _jpeg_scan_markers(f, position)
    for code in codes:
        if code == 0xFF:  # fill byte before a marker
            continue
        if 0xD0 <= code <= 0xD7:  # RSTn
            if not restart_interval or code != 0xD0 + restarts % 8:
                return False
            restarts += 1
            continue
        return code == _JPEG_EOI and restarts == expected
    return False  # the file ends inside the scan: truncated (the decode says so)


def _jpeg_scan_markers(f: BinaryIO, start: int) -> Iterator[int]:
    """The byte after each 0xFF not followed by 0x00, from ``start`` on: a block at a time (a
    file-wide memory map would count the whole photo in the process's memory)."""
    f.seek(start)
    block = f.read(_SCAN_BLOCK)
    while block:
        last = False
        for found in _JPEG_MARKER.finditer(block):
            if found.start() + 1 < len(block):
                yield block[found.start() + 1]
            else:
                last = True  # the next block's first byte says what this 0xFF is
        following = f.read(_SCAN_BLOCK)
        if last and following and following[0] != 0x00:
            yield following[0]
        block = following


class JpegMarkers:
    """What ``_jpeg_scan_markers`` finds in a file, found in its bytes as they arrive: fed each
    chunk in order (while another thread hashes and writes it), it keeps the position of
    each 0xFF not followed by 0x00 and the byte after it, so that the walk of the scan needs
    no second reading of the file. A file that does not begin as a JPEG is not searched; past
    ``MOST`` markers (a valid scan has one per restart interval) the search stops and the
    walk reads the file, as it does for any file not fed here whole.
    """

    MOST = 1 << 18

    def __init__(self) -> None:
        self.positions = array("q")
        self.codes = bytearray()
        self.size = 0
        self.usable = True
        self._ff_last = False  # the bytes so far end with a 0xFF: the next byte decides
        self._start = b""

    def feed(self, data: bytes) -> None:
        base, self.size = self.size, self.size + len(data)
        if not self.usable or not data:
            return
        if base < 2:  # the first bytes say whether it is a JPEG at all
            self._start += data[: 2 - base]
            if len(self._start) == 2 and self._start != b"\xff\xd8":
                self._give_up()
                return
        if self._ff_last:
            self._ff_last = False
            if data[0] != 0x00:
                self.positions.append(base - 1)
                self.codes.append(data[0])
        end = len(data) - 1
        for found in _JPEG_MARKER.finditer(data):
            at = found.start()
            if at < end:
                self.positions.append(base + at)
                self.codes.append(data[at + 1])
            else:
                self._ff_last = True
            if len(self.codes) > self.MOST:
                self._give_up()
                return

    def _give_up(self) -> None:
        self.usable = False
        self.positions = array("q")
        self.codes = bytearray()

    def covers(self, size: int) -> bool:
        """Whether every byte of a file of ``size`` bytes was fed and searched."""
        return self.usable and self.size == size

    def codes_from(self, start: int) -> Iterator[int]:
        """The byte after each marker's 0xFF at or after ``start``, in order."""
        return iter(self.codes[bisect_left(self.positions, start) :])


def _jpeg_quant_tables(body: bytes, defined: set[int]) -> bool:
    at = 0
    while at < len(body):
        precision, table = body[at] >> 4, body[at] & 15
        if precision > 1 or table > 3 or at + 1 + 64 * (precision + 1) > len(body):
            return False
        defined.add(table)
        at += 1 + 64 * (precision + 1)
    return True


def _jpeg_huffman_tables(body: bytes, defined: set[tuple[int, int]]) -> bool:
    """The DHT's tables, refused where libjpeg refuses them (``jpeg_make_d_derived_tbl``):
    more than 256 symbols, codes that do not fit their lengths, DC symbols over 15."""
    at = 0
    while at < len(body):
        if at + 17 > len(body):
            return False
        kind, table = body[at] >> 4, body[at] & 15
        counts = body[at + 1 : at + 17]
        total = sum(counts)
        if kind > 1 or table > 3 or total > 256 or at + 17 + total > len(body):
            return False
        symbols = body[at + 17 : at + 17 + total]
        if kind == 0 and any(symbol > 15 for symbol in symbols):
            return False
        used = [bits for bits in range(1, 17) if counts[bits - 1]]
        code = 0
        for bits in range(1, 17):
            code += counts[bits - 1]
            if used and used[0] <= bits <= used[-1] and code >= 1 << bits:
                return False
            code <<= 1
        defined.add((kind, table))
        at += 17 + total
    return True


def _jpeg_frame_components(
    body: bytes, size: tuple[int, int]
) -> dict[int, tuple[int, int, int]] | None:
    """Component id -> (horizontal, vertical sampling, quantisation table) of an 8-bit frame
    of the size Pillow read; None for anything else."""
    if len(body) < 6:
        return None
    height, width, count = (
        int.from_bytes(body[1:3], "big"),
        int.from_bytes(body[3:5], "big"),
        body[5],
    )
    if body[0] != 8 or (width, height) != size or count not in (1, 3, 4):
        return None
    if len(body) != 6 + 3 * count:
        return None
    components: dict[int, tuple[int, int, int]] = {}
    for at in range(6, 6 + 3 * count, 3):
        ident, sampling, table = body[at], body[at + 1], body[at + 2]
        horizontal, vertical = sampling >> 4, sampling & 15
        if ident in components or not (1 <= horizontal <= 4 and 1 <= vertical <= 4) or table > 3:
            return None
        components[ident] = (horizontal, vertical, table)
    if count > 1 and sum(h * v for h, v, _ in components.values()) > 10:
        return None  # libjpeg: too many blocks in an MCU
    return components


def _jpeg_scan_ready(
    body: bytes,
    frame: dict[int, tuple[int, int, int]],
    quant: set[int],
    huffman: set[tuple[int, int]],
) -> bool:
    """One sequential scan of every component of the frame, with every table it needs."""
    count = body[0] if body else 0
    if count != len(frame) or len(body) != 1 + 2 * count + 3:
        return False
    seen = set()
    for at in range(1, 1 + 2 * count, 2):
        ident, tables = body[at], body[at + 1]
        if ident not in frame or ident in seen:
            return False
        seen.add(ident)
        if (0, tables >> 4) not in huffman or (1, tables & 15) not in huffman:
            return False
        if frame[ident][2] not in quant:
            return False
    start, end, approximation = body[-3], body[-2], body[-1]
    return (start, end, approximation) == (0, 63, 0)


def _jpeg_mcus(frame: dict[int, tuple[int, int, int]], size: tuple[int, int]) -> int:
    """The MCUs of the frame's single scan: restart markers come between restart intervals."""
    width, height = size
    h_max = max(h for h, _, _ in frame.values())
    v_max = max(v for _, v, _ in frame.values())
    if len(frame) == 1:  # a non-interleaved scan: one block per MCU
        ((h, v, _),) = frame.values()
        blocks_wide = math.ceil(math.ceil(width * h / h_max) / 8)
        return blocks_wide * math.ceil(math.ceil(height * v / v_max) / 8)
    return math.ceil(width / (8 * h_max)) * math.ceil(height / (8 * v_max))


def _decode(
    im: ImageFile.ImageFile, path: str | os.PathLike[str], media_type: str, thumbnail_px: int
) -> pillow_heif.HeifImage | None:
    """Decode every pixel once, to prove the image is whole; the pixels are freed when the
    image closes. A HEIF's decoded pixels are returned (a thumbnail is made from them).

    A JPEG is decoded with DCT scaling (``draft``): at the smallest of 1/8, 1/4, 1/2 that is
    still at least 3/4 of ``thumbnail_px`` on its long side (1/8 for a 12 MP photo or larger:
    a thumbnail a little smaller than asked costs no slower decode); the whole entropy-coded
    stream is still read, so truncation is still detected, for 1/64 (or 1/16) of the memory.
    A HEIF is decoded by pillow-heif directly: through Pillow the decoded pixels would be
    copied once more (1.4 GB instead of 0.9 GB peak for 200 MP).
    """
    if media_type == "image/heic":
        heif = pillow_heif.open_heif(os.fspath(path), convert_hdr_to_8bit=True)
        primary = heif[heif.primary_index]
        primary.load()
        return primary
    if media_type == "image/jpeg":
        width, height = im.size
        scale = next((s for s in (8, 4, 2) if max(width, height) // s >= thumbnail_px * 3 // 4), 1)
        im.draft("RGB", (max(1, width // scale), max(1, height // scale)))
    im.load()
    return None


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
