"""MP3: mutagen checks the stream and any Xing/VBRI header, the frames are walked here."""

from __future__ import annotations

from typing import BinaryIO

import mutagen
from mutagen.mp3 import MP3

from fieldvisit.media.audio.common import AudioInfo, _info, _invalid, _Peek, _truncated

# kbit/s by bitrate index, keyed by (MPEG-1 or 2/2.5, layer; MPEG-2 layers II and III share).
_MP3_KBPS = {
    (1, 1): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (1, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (1, 3): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (2, 1): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (2, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
# Sample rates by rate index, keyed by the version bits (3 = MPEG-1, 2 = MPEG-2, 0 = 2.5).
_MP3_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
# Tags that may follow the last frame.
_MP3_END_TAGS = (b"TAG", b"APETAGEX", b"LYRICSBEGIN", b"ID3")


def _read_mp3(f: BinaryIO, size: int) -> AudioInfo:
    """mutagen checks the stream; the frames are then walked to the end of the file.

    With a Xing/VBRI header, mutagen's (gapless) length is the header's, written for the
    whole file: the header's byte and frame counts must be there. Without one, mutagen only
    guesses from the first frame's bitrate (4.79 s for 2.81 s of VBR audio in the tests),
    which could hide a gap, so the duration is the frames actually counted.
    """
    f.seek(0)
    info = MP3(f).info
    if info.sketchy:
        raise _invalid("Too few MPEG audio frames to be sure the file is MP3 audio.")
    declared_frames, declared_bytes = _mp3_vbr_header(f, info)
    if declared_bytes and info.frame_offset + declared_bytes > size:
        raise _truncated(
            f"The MP3 header declares {declared_bytes} bytes of audio from byte "
            f"{info.frame_offset}, past the end of the {size}-byte file"
        )
    frames, samples = _walk_mp3(f, info.frame_offset, size)
    if declared_frames is None:
        return _info("mp3", samples / info.sample_rate, info.sample_rate, info.channels)
    # The count may or may not include the header's own frame: one frame of slack.
    if frames < declared_frames:
        raise _truncated(
            f"The MP3 header declares {declared_frames} frames, the file holds {frames}"
        )
    return _info("mp3", info.length, info.sample_rate, info.channels)


def _mp3_vbr_header(f: BinaryIO, info: mutagen.mp3.MPEGInfo) -> tuple[int | None, int | None]:
    """(frames, bytes) a Xing/Info or VBRI header declares, None where it does not."""
    mono = info.mode == 3
    xing_at = (21 if mono else 36) if info.version == 1 else (13 if mono else 21)
    f.seek(info.frame_offset + xing_at)
    tag = f.read(16)
    if tag[:4] in (b"Xing", b"Info"):
        flags, at = int.from_bytes(tag[4:8], "big"), 8
        frames = declared = None
        if flags & 0x1:
            frames, at = int.from_bytes(tag[8:12], "big"), 12
        if flags & 0x2:
            declared = int.from_bytes(tag[at : at + 4], "big")
        return frames, declared
    f.seek(info.frame_offset + 36)
    tag = f.read(18)
    if tag[:4] == b"VBRI":
        return int.from_bytes(tag[14:18], "big"), int.from_bytes(tag[10:14], "big")
    return None, None


def _walk_mp3(f: BinaryIO, pos: int, size: int) -> tuple[int, int]:
    """(frames, samples) from ``pos`` to the end; only tags may follow the last frame."""
    peek = _Peek(f)
    frames = samples = 0
    stream: tuple[int, int, int] | None = None
    while pos < size:
        header = peek.at(pos, 4)
        if len(header) < 4:
            raise _truncated(f"The MP3 file ends inside a frame header at byte {pos}")
        frame = _mp3_frame(header)
        if frame is None or stream not in (None, frame[2]):
            if frames and peek.at(pos, 11).startswith(_MP3_END_TAGS):
                break
            raise _invalid(f"The MP3 stream has no MPEG audio frame at byte {pos}.")
        length, count, stream = frame
        if pos + length > size:
            raise _truncated(f"The MP3 frame at byte {pos} runs past the end of the file")
        pos += length
        frames += 1
        samples += count
    return frames, samples


def _mp3_frame(h: bytes) -> tuple[int, int, tuple[int, int, int]] | None:
    """(bytes, samples, (version, layer, rate) bits) of an MPEG audio frame header."""
    if h[0] != 0xFF or h[1] & 0xE0 != 0xE0:
        return None
    version_bits, layer_bits = (h[1] >> 3) & 0x03, (h[1] >> 1) & 0x03
    bitrate_index, rate_index, padding = h[2] >> 4, (h[2] >> 2) & 0x03, (h[2] >> 1) & 0x01
    if version_bits == 1 or layer_bits == 0 or rate_index == 3 or bitrate_index in (0, 15):
        return None  # reserved values, or free format (which has no computable length)
    layer, mpeg1 = 4 - layer_bits, version_bits == 3
    kbps = _MP3_KBPS[(1, layer) if mpeg1 else (2, min(layer, 2))][bitrate_index]
    rate = _MP3_RATES[version_bits][rate_index]
    if layer == 1:
        return (12000 * kbps // rate + padding) * 4, 384, (version_bits, layer_bits, rate_index)
    samples = 576 if layer == 3 and not mpeg1 else 1152
    length = samples // 8 * 1000 * kbps // rate + padding
    return length, samples, (version_bits, layer_bits, rate_index)


def _is_mpeg_audio(b: bytes) -> bool:
    return len(b) >= 2 and b[0] == 0xFF and b[1] & 0xE0 == 0xE0 and (b[1] >> 1) & 0x03 != 0
