"""AMR and AMR-WB (RFC 4867 storage format), timed by counting their frames."""

from __future__ import annotations

from typing import BinaryIO

from fieldvisit.media.audio.common import AudioInfo, _info, _invalid, _Peek, _truncated

# Bytes per frame (header byte included) by frame type FT, RFC 4867 storage format;
# 0 marks the reserved types (NB 12-14, WB 10-13). NO_DATA / SPEECH_LOST are header only.
_AMR_NB_SIZES = (13, 14, 16, 18, 20, 21, 27, 32, 6, 7, 6, 6, 0, 0, 0, 1)
_AMR_WB_SIZES = (18, 24, 33, 37, 41, 47, 51, 59, 61, 6, 0, 0, 0, 0, 1, 1)


def _read_amr_nb(f: BinaryIO, size: int) -> AudioInfo:
    frames = _walk_amr(f, len(b"#!AMR\n"), size, _AMR_NB_SIZES, "AMR")
    return _info("amr", frames / 50, 8000, 1)


def _read_amr_wb(f: BinaryIO, size: int) -> AudioInfo:
    frames = _walk_amr(f, len(b"#!AMR-WB\n"), size, _AMR_WB_SIZES, "AMR-WB")
    return _info("amr-wb", frames / 50, 16000, 1)


def _walk_amr(f: BinaryIO, pos: int, size: int, sizes: tuple[int, ...], name: str) -> int:
    """Count the 20 ms frames; mutagen has no AMR support at all."""
    peek = _Peek(f)
    frames = 0
    while pos < size:
        frame_type = (peek.at(pos, 1)[0] >> 3) & 0x0F
        length = sizes[frame_type]
        if not length:
            raise _invalid(f"The {name} frame at byte {pos} has reserved frame type {frame_type}.")
        if pos + length > size:
            raise _truncated(f"The {name} frame at byte {pos} runs past the end of the file")
        pos += length
        frames += 1
    return frames
