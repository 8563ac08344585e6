"""MP4 / 3GP: top-level boxes, and the duration from the audio track's sample tables."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from mutagen.mp4 import MP4

from fieldvisit.media.audio.common import AudioInfo, _info, _invalid, _truncated

# Caps on structures that real recordings have a handful of; beyond them a file is hostile.
_MAX_BOXES = 10_000
_MAX_FTYP = 4096


# AMR in 3GPP files: the sample entry's channel count is a fixed template value of 2
# (3GPP TS 26.244), while AMR is always mono.
_MONO_CODECS = {"samr", "sawb"}


def _read_mp4(f: BinaryIO, size: int) -> AudioInfo:
    """mutagen reads the codec, rate and channels; the duration is the audio track's sample
    table (``_mp4_sample_duration``), never a header's claim."""
    fmt = _mp4_format(f)
    boxes = _walk_boxes(f, size)
    types = {box_type for box_type, _, _ in boxes}
    if b"moov" not in types:
        raise _invalid("The MP4 file has no 'moov' box: the recording was never finalised.")
    if b"mdat" not in types:
        raise _truncated("The MP4 file has no 'mdat' box holding the audio data")
    f.seek(0)
    info = MP4(f).info
    if not info.codec:
        # Without a 'soun' track mutagen falls back to the movie header's length.
        raise _invalid("The MP4 file has no audio track.")
    channels = 1 if info.codec in _MONO_CODECS else info.channels
    duration = _mp4_sample_duration(f, boxes, size)
    return _info(fmt, duration, info.sample_rate, channels)


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


def _walk_boxes(f: BinaryIO, size: int) -> list[tuple[bytes, int, int]]:
    """(type, start, end) of the top-level boxes, which must exactly cover the file.

    mutagen reads only ``moov``: with moov before mdat an upload cut short still shows the
    full duration. The cut shows here as a box (mdat) running past the end of the file.
    """
    seen: list[tuple[bytes, int, int]] = []
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
        seen.append((box_type, pos, pos + box_size))
        pos += box_size
    raise _invalid("The MP4 file has too many top-level boxes to be a recording.")


# The sample tables, not the headers, say how long an MP4 plays. A header is a number the
# writer chose: Chrome's MediaRecorder writes its track duration in milliseconds against a
# 48 kHz timescale (mutagen reads 0.042 s for 2.04 s of audio), and a fragmented file (what
# browsers record: an empty sample table in 'moov', the samples in 'moof' fragments) has
# nothing else to go on. So the duration is the sum of the audio track's sample durations
# ('stts' plus every fragment's 'trun'), and the samples must lie inside the file.
_MAX_MOOV = 16 * 1024 * 1024
_MAX_MOOF = 4 * 1024 * 1024
# A header may claim this much more than the samples hold (rounding, encoder delay).
_MP4_DECLARED_SLACK_S = 0.25
# A sample is one coded audio frame (AAC: 1024 or 2048 samples, Opus: at most 120 ms, AMR:
# 20 ms); one lasting longer is a sample table stretching a few bytes over a long time.
_MP4_MAX_SAMPLE_S = 1.0


@dataclass
class _Mp4Track:
    track_id: int = 0
    timescale: int = 0
    declared: int = 0  # mdhd duration, in the track's timescale
    ticks: int = 0  # sum of sample durations
    samples: int = 0
    default_duration: int = 0  # trex
    default_size: int = 0


def _mp4_children(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, body start, end) of the boxes in ``data[start:end]``, which they must fill."""
    pos = start
    for _ in range(_MAX_BOXES):
        if pos == end:
            return
        if end - pos < 8:
            raise _invalid(f"The MP4 box at byte {pos} of its parent is malformed.")
        box_size, header = int.from_bytes(data[pos : pos + 4], "big"), 8
        if box_size == 1:
            box_size, header = int.from_bytes(data[pos + 8 : pos + 16], "big"), 16
        elif box_size == 0:
            box_size = end - pos
        if box_size < header or pos + box_size > end:
            name = data[pos + 4 : pos + 8].decode("latin-1")
            raise _invalid(f"The MP4 '{name}' box inside its parent has an impossible size.")
        yield data[pos + 4 : pos + 8], pos + header, pos + box_size
        pos += box_size
    raise _invalid("The MP4 file has too many boxes to be a recording.")


def _mp4_child(data: bytes, start: int, end: int, *path: bytes) -> tuple[int, int] | None:
    """Body (start, end) of the first box along ``path`` below ``data[start:end]``."""
    for name in path:
        for box_type, body, stop in _mp4_children(data, start, end):
            if box_type == name:
                start, end = body, stop
                break
        else:
            return None
    return start, end


def _body_at(box: bytes) -> int:
    """Where a whole box's children start: after its 8-byte header, or 16 with a largesize."""
    return 16 if box[:4] == b"\0\0\0\x01" else 8


def _u32(data: bytes, at: int) -> int:
    if at + 4 > len(data):
        raise _invalid("An MP4 box is too short for the fields it must hold.")
    return int.from_bytes(data[at : at + 4], "big")


def _u64(data: bytes, at: int) -> int:
    return _u32(data, at) << 32 | _u32(data, at + 4)


def _mp4_sample_duration(f: BinaryIO, boxes: list[tuple[bytes, int, int]], size: int) -> float:
    (moov_at, moov_end) = next((p, e) for t, p, e in boxes if t == b"moov")
    if moov_end - moov_at > _MAX_MOOV:
        raise _invalid("The MP4 'moov' box is too large for an audio recording.")
    f.seek(moov_at)
    moov = f.read(moov_end - moov_at)
    track = _mp4_audio_track(moov)
    mdat_bytes = sum(e - p for t, p, e in boxes if t == b"mdat")
    fragments = [(p, e) for t, p, e in boxes if t == b"moof"]
    if track.samples and not fragments:
        _check_mp4_chunks(moov, track, mdat_bytes, size)
    for moof_at, moof_end in fragments:
        if moof_end - moof_at > _MAX_MOOF:
            raise _invalid(f"The MP4 'moof' box at byte {moof_at} is too large.")
        f.seek(moof_at)
        _add_fragment(f.read(moof_end - moof_at), moof_at, track, size)
    if not track.ticks:
        raise _invalid("The MP4 audio track holds no samples.")
    duration = track.ticks / track.timescale
    declared = track.declared / track.timescale
    movie = _mp4_movie_duration(moov)
    for what, claim in (("track header", declared), ("movie header", movie)):
        if claim > duration + _MP4_DECLARED_SLACK_S:
            raise _truncated(
                f"The MP4 {what} declares {claim:.3f} s, but its samples last {duration:.3f} s"
            )
    return duration


def _mp4_movie_duration(moov: bytes) -> float:
    """What 'mehd' (fragmented) or 'mvhd' declares for the whole movie, in seconds."""
    found = _mp4_child(moov, _body_at(moov), len(moov), b"mvhd")
    if found is None:
        return 0.0
    at = found[0]
    version = moov[at]
    timescale = _u32(moov, at + (20 if version == 1 else 12))
    duration = _u64(moov, at + 24) if version == 1 else _u32(moov, at + 16)
    mehd = _mp4_child(moov, _body_at(moov), len(moov), b"mvex", b"mehd")
    if mehd is not None:
        at = mehd[0]
        duration = _u64(moov, at + 4) if moov[at] == 1 else _u32(moov, at + 4)
    if duration in (0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF) or not timescale:
        return 0.0  # "unknown", as live writers put it
    return duration / timescale


def _mp4_audio_track(moov: bytes) -> _Mp4Track:
    """The first sound track: its id, timescale, sample table totals, fragment defaults.
    A file with a video track is a camera recording, not an audio segment."""
    handlers = []
    for box_type, body, end in _mp4_children(moov, _body_at(moov), len(moov)):
        if box_type == b"trak":
            hdlr = _mp4_child(moov, body, end, b"mdia", b"hdlr")
            handlers.append(moov[hdlr[0] + 8 : hdlr[0] + 12] if hdlr else b"")
    if b"vide" in handlers:
        raise _invalid("The MP4 file holds a video track; a recording segment is audio only.")
    for box_type, body, end in _mp4_children(moov, _body_at(moov), len(moov)):
        if box_type != b"trak":
            continue
        hdlr = _mp4_child(moov, body, end, b"mdia", b"hdlr")
        if hdlr is None or moov[hdlr[0] + 8 : hdlr[0] + 12] != b"soun":
            continue
        track = _Mp4Track()
        tkhd = _mp4_child(moov, body, end, b"tkhd")
        mdhd = _mp4_child(moov, body, end, b"mdia", b"mdhd")
        if tkhd is None or mdhd is None:
            raise _invalid("The MP4 audio track lacks its 'tkhd' or 'mdhd' box.")
        at = tkhd[0]
        track.track_id = _u32(moov, at + (20 if moov[at] == 1 else 12))
        at = mdhd[0]
        if moov[at] == 1:
            track.timescale, track.declared = _u32(moov, at + 20), _u64(moov, at + 24)
        else:
            track.timescale, track.declared = _u32(moov, at + 12), _u32(moov, at + 16)
        if track.declared in (0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF):
            track.declared = 0  # "unknown"
        if not track.timescale:
            raise _invalid("The MP4 audio track has a timescale of 0.")
        stts = _mp4_child(moov, body, end, b"mdia", b"minf", b"stbl", b"stts")
        if stts is not None:
            _add_sample_times(moov, stts, track)
        _add_fragment_defaults(moov, track)
        return track
    raise _invalid("The MP4 file has no audio track.")


def _add_sample_times(moov: bytes, stts: tuple[int, int], track: _Mp4Track) -> None:
    """Add the samples and ticks of the time-to-sample table ('stts') to ``track``."""
    count = _u32(moov, stts[0] + 4)
    if 8 + 8 * count > stts[1] - stts[0]:
        raise _invalid("The MP4 'stts' box declares more entries than it holds.")
    for i in range(count):
        at = stts[0] + 8 + 8 * i
        samples, delta = _u32(moov, at), _u32(moov, at + 4)
        _check_sample_duration(delta, track)
        track.samples += samples
        track.ticks += samples * delta


def _add_fragment_defaults(moov: bytes, track: _Mp4Track) -> None:
    """Set the sample duration and size ``track``'s fragments default to ('mvex/trex')."""
    for box_type, at, mvex_end in _mp4_children(moov, _body_at(moov), len(moov)):
        if box_type != b"mvex":
            continue
        for trex_type, trex, _ in _mp4_children(moov, at, mvex_end):
            if trex_type == b"trex" and _u32(moov, trex + 4) == track.track_id:
                track.default_duration = _u32(moov, trex + 12)
                track.default_size = _u32(moov, trex + 16)


def _check_sample_duration(ticks: int, track: _Mp4Track) -> None:
    if ticks > track.timescale * _MP4_MAX_SAMPLE_S:
        raise _invalid(
            f"An MP4 audio sample lasts {ticks / track.timescale:.3f} s; an audio frame lasts "
            f"at most {_MP4_MAX_SAMPLE_S:g} s."
        )


def _check_mp4_chunks(moov: bytes, track: _Mp4Track, mdat_bytes: int, size: int) -> None:
    """The sample table's samples must exist: as many sizes as durations, their bytes no
    more than the media data holds, every chunk starting inside the file."""
    for box_type, body, end in _mp4_children(moov, _body_at(moov), len(moov)):
        if box_type != b"trak":
            continue
        tkhd = _mp4_child(moov, body, end, b"tkhd")
        if (
            tkhd is None
            or _u32(moov, tkhd[0] + (20 if moov[tkhd[0]] == 1 else 12)) != track.track_id
        ):
            continue
        stbl = _mp4_child(moov, body, end, b"mdia", b"minf", b"stbl")
        stsz = stbl and _mp4_child(moov, *stbl, b"stsz")
        if stbl is None or stsz is None:
            raise _invalid("The MP4 audio track lacks its sample size table.")
        total = _sample_bytes(moov, stsz, track)
        if total > mdat_bytes:
            raise _truncated(
                f"The MP4 sample table declares {total} bytes of audio, but the media data "
                f"holds {mdat_bytes}"
            )
        _check_chunk_offsets(moov, stbl, size)
        return


def _sample_bytes(moov: bytes, stsz: tuple[int, int], track: _Mp4Track) -> int:
    """The bytes of audio the sample size table ('stsz') declares, one size per sample."""
    at = stsz[0]
    fixed, count = _u32(moov, at + 4), _u32(moov, at + 8)
    if count != track.samples:
        raise _invalid(f"The MP4 sample table times {track.samples} samples but sizes {count}.")
    if fixed:
        total = fixed * count
    else:
        if 12 + 4 * count > stsz[1] - at:
            raise _invalid("The MP4 'stsz' box declares more sizes than it holds.")
        sizes = [
            int.from_bytes(moov[i : i + 4], "big") for i in range(at + 12, at + 12 + 4 * count, 4)
        ]
        if 0 in sizes:
            raise _invalid("The MP4 sample table has an empty audio sample.")
        total = sum(sizes)
    return total


def _check_chunk_offsets(moov: bytes, stbl: tuple[int, int], size: int) -> None:
    """Every chunk the chunk offset table ('stco' or 'co64') lists starts inside the file."""
    for name, width in ((b"stco", 4), (b"co64", 8)):
        offsets = _mp4_child(moov, *stbl, name)
        if offsets is None:
            continue
        n = _u32(moov, offsets[0] + 4)
        if 8 + width * n > offsets[1] - offsets[0]:
            raise _invalid(f"The MP4 '{name.decode()}' box declares more chunks than it holds.")
        for i in range(n):
            at = offsets[0] + 8 + width * i
            offset = _u64(moov, at) if width == 8 else _u32(moov, at)
            if offset >= size:
                raise _truncated(
                    f"The MP4 sample table has a chunk at byte {offset}, past the end of "
                    f"the {size}-byte file"
                )


def _add_fragment(moof: bytes, moof_at: int, track: _Mp4Track, size: int) -> None:
    """Add the audio track's samples in one 'moof' to ``track``; their bytes must lie in
    the file."""
    for box_type, body, end in _mp4_children(moof, _body_at(moof), len(moof)):
        if box_type != b"traf":
            continue
        defaults = _fragment_defaults(moof, body, end, moof_at, track)
        if defaults is None:
            continue  # another track's fragment
        data_at = defaults.base
        for run_type, at, run_end in _mp4_children(moof, body, end):
            if run_type != b"trun":
                continue
            data_at = _add_run(moof, at, run_end, defaults, data_at, moof_at, track)
            if data_at < 0 or data_at > size:
                raise _truncated(
                    f"The MP4 fragment at byte {moof_at} places samples up to byte {data_at}, "
                    f"past the end of the {size}-byte file"
                )


@dataclass(frozen=True)
class _FragmentDefaults:
    """What a 'tfhd' box sets for its fragment's runs: where their data offsets count from,
    and the sample duration and size a run leaves out."""

    base: int
    duration: int
    size: int


def _fragment_defaults(
    moof: bytes, body: int, end: int, moof_at: int, track: _Mp4Track
) -> _FragmentDefaults | None:
    """The 'tfhd' of the 'traf' box in ``moof[body:end]``; None when it is another track's."""
    tfhd = _mp4_child(moof, body, end, b"tfhd")
    if tfhd is None:
        raise _invalid(f"The MP4 fragment at byte {moof_at} has no 'tfhd' box.")
    at = tfhd[0]
    flags = _u32(moof, at) & 0xFFFFFF
    if _u32(moof, at + 4) != track.track_id:
        return None
    at += 8
    base = moof_at
    if flags & 0x01:
        base, at = _u64(moof, at), at + 8
    if flags & 0x02:
        at += 4
    default_duration, default_size = track.default_duration, track.default_size
    if flags & 0x08:
        default_duration, at = _u32(moof, at), at + 4
    if flags & 0x10:
        default_size = _u32(moof, at)
    return _FragmentDefaults(base, default_duration, default_size)


def _add_run(
    moof: bytes,
    at: int,
    run_end: int,
    defaults: _FragmentDefaults,
    data_at: int,
    moof_at: int,
    track: _Mp4Track,
) -> int:
    """Add the samples of the 'trun' box whose body starts at ``at`` to ``track``; returns
    where the fragment's data continues after them (``data_at``: where it stood before)."""
    run_flags, count = _u32(moof, at) & 0xFFFFFF, _u32(moof, at + 4)
    at += 8
    if run_flags & 0x01:
        data_at = defaults.base + int.from_bytes(moof[at : at + 4], "big", signed=True)
        at += 4
    if run_flags & 0x04:
        at += 4
    fields = [bool(run_flags & bit) for bit in (0x100, 0x200, 0x400, 0x800)]
    width = 4 * sum(fields)
    if at + width * count > run_end:
        raise _invalid(
            f"The MP4 fragment at byte {moof_at} declares {count} samples its "
            "'trun' box does not hold."
        )
    if not fields[0]:
        _check_sample_duration(defaults.duration, track)
    if not fields[1] and count and not defaults.size:
        raise _invalid(f"The MP4 fragment at byte {moof_at} has empty audio samples.")
    if fields[0] or fields[1]:
        for i in range(count):
            entry = at + width * i
            duration = _u32(moof, entry) if fields[0] else defaults.duration
            sample_size = _u32(moof, entry + 4 * fields[0]) if fields[1] else defaults.size
            _check_sample_duration(duration, track)
            if not sample_size:
                raise _invalid(f"The MP4 fragment at byte {moof_at} has an empty audio sample.")
            track.ticks += duration
            data_at += sample_size
    else:
        track.ticks += defaults.duration * count
        data_at += defaults.size * count
    track.samples += count
    return data_at
