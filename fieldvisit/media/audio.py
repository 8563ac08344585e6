"""Recording segments: which audio format a file really is, and how long it really lasts.

The server stores uploads under opaque names, so the format comes from the content (magic
bytes), never from a file name. mutagen reads the stream information; on top of it this
module checks what mutagen does not, because a recording is evidence: a segment cut short
by a dropped upload must not pass as complete whenever its container declares more than
the file holds (an MP4 box, a WAV chunk, a FLAC sample count or an MP3 Xing byte count
running past the end, an Ogg stream without its end-of-stream page). Streams that declare
no total (AMR, ADTS AAC, MP3 without a VBR header) are walked frame by frame: a frame
running past the end is refused, and a file cut exactly between two frames is, honestly,
a shorter recording, whose missing time the recording rule then reports as a gap.

Files are read through an open handle, headers and frame headers only: segments may be
hundreds of megabytes. Every loop is bounded by the file size or a fixed cap, so hostile
input ends in ``MediaError("invalid_audio", ...)``, never in a hang.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

import mutagen
from mutagen.aac import AAC
from mutagen.flac import FLAC
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis
from mutagen.wave import WAVE

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
}

_CHUNK = 64 * 1024
# Caps on structures that real recordings have a handful of; beyond them a file is hostile.
_MAX_BOXES = 10_000
_MAX_CHUNKS = 10_000
_MAX_ID3_TAGS = 8
_MAX_FTYP = 4096


@dataclass(frozen=True)
class AudioInfo:
    """What an accepted file is; ``duration_s`` is what the recording rule adds up."""

    format: str
    media_type: str
    duration_s: float
    sample_rate: int | None
    channels: int | None


def inspect_audio(path: str | os.PathLike[str]) -> AudioInfo:
    """What the file at ``path`` is and how long it plays, judged from its content alone.

    Raises ``MediaError("invalid_audio", ...)`` for anything that is not a complete
    recording in one of ``FORMATS``. Not being able to open the path is the server's
    problem, not the upload's, so that ``OSError`` is left to propagate.
    """
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            raise _invalid("The file is empty.")
        reader = _sniff(f)
        try:
            return reader(f, size)
        except MediaError:
            raise
        except Exception as exc:
            # mutagen raises many types on hostile input (its own errors, but also struct,
            # index and value errors); all of them mean the upload is not readable audio.
            # A plain OSError is the disk failing, not the file being bad.
            if isinstance(exc, OSError) and not isinstance(exc, mutagen.MutagenError):
                raise
            label, reason = _LABELS[reader], str(exc) or type(exc).__name__
            raise _invalid(
                f"The file looks like {label} but could not be read ({reason})."
            ) from exc


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


# -- sniffing -------------------------------------------------------------------------------

_Reader = Callable[[BinaryIO, int], AudioInfo]


def _sniff(f: BinaryIO) -> _Reader:
    """Pick the reader from the magic bytes; the file name is never consulted."""
    f.seek(0)
    head = f.read(12)
    if head[4:8] == b"ftyp":
        return _read_mp4
    if head.startswith(b"#!AMR-WB\n"):
        return _read_amr_wb
    if head.startswith(b"#!AMR\n"):
        return _read_amr_nb
    if head.startswith(b"OggS"):
        return _read_ogg
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return _read_wav
    if head.startswith(b"fLaC"):
        return _read_flac
    start = _skip_id3(f)
    f.seek(start)
    first = f.read(4)
    if start and first.startswith(b"fLaC"):
        return _read_flac
    if _is_adts(first):
        return _read_adts
    if start or _is_mpeg_audio(first):
        # After an ID3 tag mutagen searches for the first MPEG frame itself.
        return _read_mp3
    raise _invalid(
        "The file is not audio in a supported format "
        f"({', '.join(FORMATS)}); its content was checked, not its name."
    )


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


def _is_adts(b: bytes) -> bool:
    """12-bit sync with layer bits 00: ADTS AAC (MPEG audio uses layers 01-11)."""
    return len(b) >= 2 and b[0] == 0xFF and b[1] & 0xF6 == 0xF0


def _is_mpeg_audio(b: bytes) -> bool:
    return len(b) >= 2 and b[0] == 0xFF and b[1] & 0xE0 == 0xE0 and (b[1] >> 1) & 0x03 != 0


# -- MP4 / 3GP ------------------------------------------------------------------------------

# AMR in 3GPP files: the sample entry's channel count is a fixed template value of 2
# (3GPP TS 26.244), while AMR is always mono.
_MONO_CODECS = {"samr", "sawb"}


def _read_mp4(f: BinaryIO, size: int) -> AudioInfo:
    fmt = _mp4_format(f)
    boxes = _walk_boxes(f, size)
    if b"moov" not in boxes:
        raise _invalid("The MP4 file has no 'moov' box: the recording was never finalised.")
    if b"mdat" not in boxes:
        raise _truncated("The MP4 file has no 'mdat' box holding the audio data")
    f.seek(0)
    info = MP4(f).info
    if not info.codec:
        # Without a 'soun' track mutagen falls back to the movie header's length.
        raise _invalid("The MP4 file has no audio track.")
    channels = 1 if info.codec in _MONO_CODECS else info.channels
    return _info(fmt, info.length, info.sample_rate, channels)


def _mp4_format(f: BinaryIO) -> str:
    """The format by brand: "3gp" for a 3GPP one, else "m4a".

    The major brand decides when it is a 3GPP or an iTunes audio brand (``M4A``...);
    otherwise a 3GPP compatible brand makes it 3GPP.
    """
    f.seek(0)
    box_size = int.from_bytes(f.read(4), "big")
    if not 16 <= box_size <= _MAX_FTYP:
        raise _invalid("The MP4 'ftyp' box is malformed.")
    f.seek(8)
    data = f.read(box_size - 8)
    major = data[:4]
    compatible = [data[i : i + 4] for i in range(8, len(data) - 3, 4)]
    if major.startswith(b"3g"):
        return "3gp"
    if major.startswith(b"M4"):
        return "m4a"
    return "3gp" if any(b.startswith(b"3g") for b in compatible) else "m4a"


def _walk_boxes(f: BinaryIO, size: int) -> set[bytes]:
    """Types of the top-level boxes, which must exactly cover the file.

    mutagen reads only ``moov``: with moov before mdat an upload cut short still shows the
    full duration. The cut shows here as a box (mdat) running past the end of the file.
    """
    seen: set[bytes] = set()
    pos = 0
    for _ in range(_MAX_BOXES):
        if pos == size:
            return seen
        f.seek(pos)
        header = f.read(16)
        if len(header) < 8:
            raise _truncated(f"The MP4 file ends inside a box header at byte {pos}")
        box_size, box_type = int.from_bytes(header[:4], "big"), header[4:8]
        if box_size == 1:
            if len(header) < 16:
                raise _truncated(f"The MP4 file ends inside a box header at byte {pos}")
            box_size = int.from_bytes(header[8:16], "big")
            if box_size < 16:
                raise _invalid(f"The MP4 box at byte {pos} has an impossible size.")
        elif box_size == 0:
            box_size = size - pos  # "to the end of the file", allowed for the last box
        elif box_size < 8:
            raise _invalid(f"The MP4 box at byte {pos} has an impossible size.")
        if pos + box_size > size:
            name = box_type.decode("latin-1")
            raise _truncated(
                f"The MP4 '{name}' box declares {box_size} bytes from byte {pos}, "
                f"past the end of the {size}-byte file"
            )
        seen.add(box_type)
        pos += box_size
    raise _invalid("The MP4 file has too many top-level boxes to be a recording.")


# -- ADTS AAC -------------------------------------------------------------------------------

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


# -- MP3 ------------------------------------------------------------------------------------

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


# -- AMR ------------------------------------------------------------------------------------

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


# -- Ogg ------------------------------------------------------------------------------------

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


# -- WAV ------------------------------------------------------------------------------------

# Formats with one sample frame per block, for which mutagen's data_size / block_align is
# the true sample count: PCM, IEEE float, A-law, mu-law. For ADPCM and the like it is not.
_WAV_PLAIN = {0x0001, 0x0003, 0x0006, 0x0007}


def _read_wav(f: BinaryIO, size: int) -> AudioInfo:
    _check_riff(f, size)
    f.seek(0)
    info = WAVE(f).info
    return _info("wav", info.length, info.sample_rate, info.channels)


def _check_riff(f: BinaryIO, size: int) -> None:
    """mutagen takes the length from the data chunk's declared size, so every chunk must fit
    in the file; the RIFF size (one missing final pad byte forgiven) must fit as well."""
    f.seek(4)
    riff_end = 8 + int.from_bytes(f.read(4), "little")
    if riff_end > size + 1:
        raise _truncated(f"The WAV file declares {riff_end} bytes but has {size}")
    end, pos = min(riff_end, size), 12
    chunks: dict[bytes, bytes] = {}
    for _ in range(_MAX_CHUNKS):
        if end - pos <= 1:
            break
        f.seek(pos)
        header = f.read(8)
        if len(header) < 8:
            raise _truncated(f"The WAV file ends inside a chunk header at byte {pos}")
        chunk_id, chunk_size = header[:4], int.from_bytes(header[4:8], "little")
        if pos + 8 + chunk_size > size:
            name = chunk_id.decode("latin-1")
            raise _truncated(
                f"The WAV '{name}' chunk declares {chunk_size} bytes from byte {pos}, "
                f"past the end of the {size}-byte file"
            )
        chunks.setdefault(chunk_id, f.read(min(chunk_size, 40)) if chunk_id == b"fmt " else b"")
        pos += 8 + chunk_size + (chunk_size & 1)
    else:
        raise _invalid("The WAV file has too many chunks to be a recording.")
    if b"fmt " not in chunks or b"data" not in chunks:
        raise _invalid("The WAV file lacks its 'fmt ' or 'data' chunk.")
    fmt = chunks[b"fmt "]
    tag = int.from_bytes(fmt[0:2], "little")
    if tag == 0xFFFE and len(fmt) >= 26:  # WAVE_FORMAT_EXTENSIBLE: the subformat decides
        tag = int.from_bytes(fmt[24:26], "little")
    if tag not in _WAV_PLAIN:
        raise _invalid(f"The WAV file holds compressed audio (format 0x{tag:04x}).")


# -- FLAC -----------------------------------------------------------------------------------

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


_LABELS: dict[_Reader, str] = {
    _read_mp4: "MP4/3GP audio",
    _read_adts: "ADTS AAC audio",
    _read_mp3: "MP3 audio",
    _read_amr_nb: "AMR audio",
    _read_amr_wb: "AMR-WB audio",
    _read_ogg: "Ogg audio",
    _read_wav: "WAV audio",
    _read_flac: "FLAC audio",
}

# -- checksums ------------------------------------------------------------------------------


def _crc_table(poly: int, width: int) -> tuple[int, ...]:
    """MSB-first CRC table, no reflection: the variant Ogg (32-bit) and FLAC (8/16) use."""
    top, mask = 1 << (width - 1), (1 << width) - 1
    table = []
    for byte in range(256):
        crc = byte << (width - 8)
        for _ in range(8):
            crc = (crc << 1) ^ poly if crc & top else crc << 1
        table.append(crc & mask)
    return tuple(table)


def _crc(data: bytes, table: tuple[int, ...], width: int) -> int:
    crc, shift, mask = 0, width - 8, (1 << width) - 1
    for byte in data:
        crc = ((crc << 8) & mask) ^ table[(crc >> shift) ^ byte]
    return crc


_OGG_CRC_TABLE = _crc_table(0x04C11DB7, 32)
_FLAC_CRC8_TABLE = _crc_table(0x07, 8)
_FLAC_CRC16_TABLE = _crc_table(0x8005, 16)
