"""FLAC: mutagen's stream information, and a last frame ending at the declared sample."""

from __future__ import annotations

from typing import BinaryIO

import mutagen
from mutagen.flac import FLAC

from fieldvisit.media.audio.checksums import _FLAC_CRC8_TABLE, _FLAC_CRC16_TABLE, _crc
from fieldvisit.media.audio.common import AudioInfo, _info, _truncated

_FLAC_UNKNOWN_FRAME = 1024 * 1024


def _read_flac(f: BinaryIO, size: int) -> AudioInfo:
    """mutagen's length is STREAMINFO's sample count, written for the whole file; the last
    frame must be complete and end at that very sample, or the file was cut."""
    f.seek(0)
    info = FLAC(f).info
    result = _info("flac", info.length, info.sample_rate, info.channels)
    _check_flac_end(f, size, info)
    return result


def _check_flac_end(f: BinaryIO, size: int, info: mutagen.flac.StreamInfo) -> None:
    end = size
    if size >= 128:
        f.seek(size - 128)
        if f.read(3) == b"TAG":  # an ID3v1 tag appended by some taggers
            end -= 128
    window = info.max_framesize + 16 if info.max_framesize else _FLAC_UNKNOWN_FRAME
    start = max(0, end - window)
    f.seek(start)
    tail = f.read(end - start)
    crc = int.from_bytes(tail[-2:], "big")
    pos = len(tail)
    while (pos := tail.rfind(b"\xff", 0, pos)) >= 0:
        header = _flac_frame_header(tail[pos : pos + 16], info.max_blocksize)
        if header is None or _crc(tail[pos:-2], _FLAC_CRC16_TABLE, 16) != crc:
            continue
        first_sample, block_size = header
        if first_sample + block_size != info.total_samples:
            raise _truncated(
                f"The FLAC stream declares {info.total_samples} samples, but its last frame "
                f"ends at sample {first_sample + block_size}"
            )
        return
    raise _truncated("The FLAC file does not end with a complete audio frame")


def _flac_frame_header(h: bytes, fixed_block_size: int) -> tuple[int, int] | None:
    """(first sample, block size) of a frame header whose CRC-8 checks, else None."""
    if len(h) < 6 or h[1] not in (0xF8, 0xF9):
        return None
    variable = h[1] & 0x01
    size_code, rate_code = h[2] >> 4, h[2] & 0x0F
    if size_code == 0 or rate_code == 15 or h[3] >> 4 > 10 or h[3] & 0x01:
        return None
    lead = h[4]
    if lead < 0x80:
        count, number = 1, lead
    elif 0xC0 <= lead <= 0xFE:
        count = 8 - (~lead & 0xFF).bit_length()  # leading one bits = bytes in the number
        number = lead & (0x7F >> count)
    else:
        return None
    i = 4 + count
    # Header length depends on the codes; the (at most 16-byte) header ends with CRC-8.
    i_block = i + {6: 1, 7: 2}.get(size_code, 0)
    i_crc = i_block + {12: 1, 13: 2, 14: 2}.get(rate_code, 0)
    if len(h) <= i_crc or _crc(h[:i_crc], _FLAC_CRC8_TABLE, 8) != h[i_crc]:
        return None
    for b in h[5:i]:
        if b & 0xC0 != 0x80:
            return None
        number = number << 6 | b & 0x3F
    if size_code in (6, 7):
        block_size = int.from_bytes(h[i:i_block], "big") + 1
    elif size_code == 1:
        block_size = 192
    elif size_code <= 5:
        block_size = 576 << (size_code - 2)
    else:
        block_size = 256 << (size_code - 8)
    first_sample = number if variable else number * fixed_block_size
    return first_sample, block_size
