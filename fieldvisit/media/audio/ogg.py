"""Ogg Opus and Ogg Vorbis: mutagen's stream information, and the end-of-stream page."""

from __future__ import annotations

from typing import BinaryIO

from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis

from fieldvisit.media.audio.checksums import _OGG_CRC_TABLE, _crc
from fieldvisit.media.audio.common import AudioInfo, _info, _invalid, _truncated

_OGG_MAX_PAGE = 27 + 255 + 255 * 255


def _read_ogg(f: BinaryIO, size: int) -> AudioInfo:
    """Opus or Vorbis by the first packet's magic; both must end with an end-of-stream page.

    mutagen's length is the granule position of the last page it finds, so a cut Ogg file
    would pass as a shorter recording; the missing end-of-stream flag shows the cut.
    """
    f.seek(0)
    first = f.read(27)
    if len(first) < 27 or first[4] != 0:
        raise _invalid("The Ogg file starts with a malformed page.")
    f.seek(27 + first[26])
    magic = f.read(8)
    _check_ogg_end(f, size)
    f.seek(0)
    if magic == b"OpusHead":
        opus = OggOpus(f).info
        # Opus always decodes at 48 kHz (RFC 7845); mutagen gives no sample_rate for it.
        return _info("ogg-opus", opus.length, 48000, opus.channels)
    if magic[:7] == b"\x01vorbis":
        vorbis = OggVorbis(f).info
        return _info("ogg-vorbis", vorbis.length, vorbis.sample_rate, vorbis.channels)
    raise _invalid("The Ogg file holds neither Opus nor Vorbis audio.")


def _check_ogg_end(f: BinaryIO, size: int) -> None:
    """The file must end with a complete page (checksum verified) flagged end-of-stream."""
    start = max(0, size - _OGG_MAX_PAGE)
    f.seek(start)
    tail = f.read(size - start)
    pos = len(tail)
    while (pos := tail.rfind(b"OggS", 0, pos)) >= 0:
        page = tail[pos:]
        if _is_whole_ogg_page(page):
            if not page[5] & 0x04:
                raise _truncated("The Ogg stream has no end-of-stream page")
            return
    raise _truncated("The Ogg file does not end with a complete page")


def _is_whole_ogg_page(page: bytes) -> bool:
    if len(page) < 27 or page[4] != 0 or len(page) < 27 + page[26]:
        return False
    segments = page[26]
    if 27 + segments + sum(page[27 : 27 + segments]) != len(page):
        return False
    unchecked = page[:22] + b"\0\0\0\0" + page[26:]
    return _crc(unchecked, _OGG_CRC_TABLE, 32) == int.from_bytes(page[22:26], "little")
