"""What every audio reader shares: the formats and the verdict (``AudioInfo``, or a
``MediaError``), and reading small headers through a window (``_Peek``, ``_skip_id3``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import BinaryIO

from fieldvisit.media import MediaError

FORMATS: dict[str, str] = {
    "m4a": "audio/mp4",
    "3gp": "audio/3gpp",
    "aac": "audio/aac",
    "mp3": "audio/mpeg",
    "amr": "audio/amr",
    "amr-wb": "audio/amr-wb",
    "ogg-vorbis": "audio/ogg",
    "ogg-opus": "audio/ogg",
    "wav": "audio/wav",
    "flac": "audio/flac",
    "webm-opus": "audio/webm",
}

_CHUNK = 64 * 1024
# Caps on structures that real recordings have a handful of; beyond them a file is hostile.
_MAX_ID3_TAGS = 8


@dataclass(frozen=True)
class AudioInfo:
    """What an accepted file is; ``duration_s`` is what the recording rule adds up."""

    format: str
    media_type: str
    duration_s: float
    sample_rate: int | None
    channels: int | None


def _invalid(detail: str) -> MediaError:
    return MediaError("invalid_audio", detail)


def _truncated(detail: str) -> MediaError:
    return _invalid(f"{detail}: the file was cut short (an interrupted upload?).")


def _info(fmt: str, duration: float, sample_rate: int | None, channels: int | None) -> AudioInfo:
    """The verdict every reader ends with: a recording must actually play for some time."""
    if not isinstance(duration, int | float) or not math.isfinite(duration) or duration <= 0:
        raise _invalid(f"The {fmt} file has no playable duration.")
    return AudioInfo(
        format=fmt,
        media_type=FORMATS[fmt],
        duration_s=float(duration),
        sample_rate=int(sample_rate) if sample_rate else None,
        channels=int(channels) if channels else None,
    )


class _Peek:
    """Small reads at increasing offsets through one buffer.

    Frame walks touch every frame header; a ``read()`` per frame is slow and the whole file
    may be too big for memory, so headers are served from a sliding 64 KiB window.
    """

    def __init__(self, f: BinaryIO) -> None:
        self._f = f
        self._start = 0
        self._buf = b""

    def at(self, pos: int, n: int) -> bytes:
        """Up to ``n`` bytes at ``pos`` (fewer at the end of the file)."""
        offset = pos - self._start
        if offset < 0 or offset + n > len(self._buf):
            self._f.seek(pos)
            self._buf = self._f.read(max(n, _CHUNK))
            self._start, offset = pos, 0
        return self._buf[offset : offset + n]


def _skip_id3(f: BinaryIO) -> int:
    """Offset just past any ID3v2 tags at the start (some writers stack several)."""
    offset = 0
    for _ in range(_MAX_ID3_TAGS):
        f.seek(offset)
        header = f.read(10)
        if len(header) < 10 or not header.startswith(b"ID3"):
            break
        size = (header[6] & 0x7F) << 21 | (header[7] & 0x7F) << 14
        size |= (header[8] & 0x7F) << 7 | (header[9] & 0x7F)
        footer = 10 if header[5] & 0x10 else 0
        offset += 10 + size + footer
    return offset
