"""ADTS AAC: mutagen checks the stream, the frames are counted here."""

from __future__ import annotations

from typing import BinaryIO

from mutagen.aac import AAC

from fieldvisit.media.audio.common import AudioInfo, _info, _invalid, _Peek, _skip_id3, _truncated

_ADTS_RATES = (
    *(96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050),
    *(16000, 12000, 11025, 8000, 7350),
)


def _read_adts(f: BinaryIO, size: int) -> AudioInfo:
    """ADTS has no total anywhere: mutagen (which only knows ADTS by file name, so it is
    called directly) checks the stream, and the duration is counted frame by frame, because
    mutagen's own length is a bitrate estimate from the first frames."""
    f.seek(0)
    info = AAC(f).info
    samples, sample_rate = _walk_adts(f, _skip_id3(f), size)
    return _info("aac", samples / sample_rate, info.sample_rate, info.channels)


def _walk_adts(f: BinaryIO, pos: int, size: int) -> tuple[int, int]:
    peek = _Peek(f)
    samples, rate_index = 0, -1
    while pos < size:
        header = peek.at(pos, 7)
        if len(header) < 7:
            raise _truncated(f"The AAC stream ends inside a frame header at byte {pos}")
        if not _is_adts(header):
            raise _invalid(f"The AAC stream has no ADTS frame at byte {pos}.")
        index = (header[2] >> 2) & 0x0F
        if rate_index == -1:
            rate_index = index
        if index != rate_index or index >= len(_ADTS_RATES):
            raise _invalid(f"The AAC frame at byte {pos} has an inconsistent sample rate.")
        length = (header[3] & 0x03) << 11 | header[4] << 3 | header[5] >> 5
        if length < 7:
            raise _invalid(f"The AAC frame at byte {pos} has an impossible length.")
        if pos + length > size:
            raise _truncated(f"The AAC frame at byte {pos} runs past the end of the file")
        samples += ((header[6] & 0x03) + 1) * 1024
        pos += length
    if rate_index == -1:
        raise _invalid("The AAC stream has no frames.")
    return samples, _ADTS_RATES[rate_index]


def _is_adts(b: bytes) -> bool:
    """12-bit sync with layer bits 00: ADTS AAC (MPEG audio uses layers 01-11)."""
    return len(b) >= 2 and b[0] == 0xFF and b[1] & 0xF6 == 0xF0
