"""WAV: mutagen's stream information, once every RIFF chunk is known to fit the file."""

from __future__ import annotations

from typing import BinaryIO

from mutagen.wave import WAVE

from fieldvisit.media.audio.common import AudioInfo, _info, _invalid, _truncated

# Caps on structures that real recordings have a handful of; beyond them a file is hostile.
_MAX_CHUNKS = 10_000

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
