"""WebM (Matroska) Opus: an EBML walk over the blocks, timed by their Opus packets."""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from fieldvisit.media import MediaError
from fieldvisit.media.audio.common import AudioInfo, _info, _invalid, _Peek, _truncated

# EBML element IDs (Matroska spec, RFC 9559), with their marker bits.
_EBML = 0x1A45DFA3
_DOC_TYPE = 0x4282
_SEGMENT = 0x18538067
_INFO, _TRACKS, _CLUSTER = 0x1549A966, 0x1654AE6B, 0x1F43B675
_TIMECODE_SCALE, _DURATION = 0x2AD7B1, 0x4489
_TRACK_ENTRY, _TRACK_NUMBER, _TRACK_TYPE, _CODEC_ID = 0xAE, 0xD7, 0x83, 0x86
_AUDIO, _SAMPLING_FREQUENCY, _CHANNELS = 0xE1, 0xB5, 0x9F
_TIMECODE, _SIMPLE_BLOCK, _BLOCK_GROUP, _BLOCK, _BLOCK_DURATION = 0xE7, 0xA3, 0xA0, 0xA1, 0x9B
# What may follow a Cluster of unknown size at the top of the Segment: it ends the Cluster.
# (Void and CRC-32 may appear at any level, so they do not.)
_SEGMENT_CHILDREN = {
    *(0x114D9B74, _INFO, _TRACKS, _CLUSTER, 0x1C53BB6B),  # SeekHead, ..., Cues
    *(0x1941A469, 0x1043A770, 0x1254C367),  # Attachments, Chapters, Tags
}
_TRACK_TYPES = {1: "video", 2: "audio", 3: "complex", 0x10: "logo", 0x11: "subtitle"}
_MAX_WEBM_HEADER = 64 * 1024  # EBML header, Info, Tracks: a few hundred bytes in practice
# Work allowed on one file: elements read, plus laced frames and lace-size bytes. A minute
# of Opus in 20 ms blocks (Firefox) is about 3,000 steps, in 60 ms blocks (Chrome) 1,000;
# the cap allows about an hour (segments are a minute), yet keeps a hostile file of tiny
# elements or endless lacing to about a second.
_MAX_WEBM_STEPS = 200_000
_MAX_LACE_HEADER = 4096
# Opus frame length in 48 kHz samples by TOC configuration (RFC 6716, section 3.1).
_OPUS_FRAME = (
    *(480, 960, 1920, 2880) * 3,  # SILK-only: 10, 20, 40, 60 ms
    *(480, 960) * 2,  # hybrid: 10, 20 ms
    *(120, 240, 480, 960) * 4,  # CELT-only: 2.5, 5, 10, 20 ms
)


@dataclass
class _WebmTrack:
    number: int = 0
    kind: int = 0
    codec: str = ""
    sample_rate: float = 0.0
    channels: int = 1


def _read_webm(f: BinaryIO, size: int) -> AudioInfo:
    """Duration from the blocks themselves: the end of the last audio block (its timecode
    plus its own length, from the Opus packet's TOC) minus the start of the first, and never
    more than the blocks' lengths added up.

    mutagen does not read WebM, and the header's Duration cannot be relied on: a browser
    recording with a timeslice is a live stream with no Duration and elements of unknown
    size; Chrome's finished files declare the last block's start, not its end. When a
    Duration is declared, blocks must reach it, or the file was cut. Elements must fit in
    their parent and in the file; an element of unknown size is allowed where live streams
    write one (the Segment and its Clusters).
    """
    walk = _EbmlWalk(f, size)
    pos, segment_end = _segment(walk, size)
    declared, track = None, None
    first = last = None  # nanoseconds
    while pos < segment_end:
        element_id, body, end = walk.element(pos, segment_end, unknown_ok=True)
        if end == -1 and element_id != _CLUSTER:
            raise _invalid(f"The WebM element at byte {pos} has an unknown size.")
        if element_id == _INFO:
            declared = walk.info(body, end)
        elif element_id == _TRACKS:
            track = walk.audio_track(body, end)
        elif element_id == _CLUSTER:
            if track is None:
                raise _invalid("The WebM file has audio blocks before its Tracks.")
            end, span = walk.cluster(body, segment_end if end == -1 else end, end == -1, track)
            if span:
                first = span[0] if first is None else min(first, span[0])
                last = span[1] if last is None else max(last, span[1])
        pos = end
    if track is None:
        raise _invalid("The WebM file has no Tracks: no audio track is described.")
    if first is None or last is None:
        raise _invalid("The WebM file holds no audio blocks.")
    # Chrome declares the last block's start; one timecode unit of rounding is forgiven.
    if declared is not None and last < declared - walk.scale:
        raise _truncated(
            f"The WebM file declares {declared / 1e9:.3f} s, but its audio ends at "
            f"{last / 1e9:.3f} s"
        )
    # Timecodes are only numbers too: blocks dropped from the middle, or timecodes spread
    # apart, must not make a longer recording than the audio the blocks hold.
    duration = min(last - first, walk.audio_ns)
    return _info("webm-opus", duration / 1e9, int(track.sample_rate), track.channels)


def _segment(walk: _EbmlWalk, size: int) -> tuple[int, int]:
    """Where the Segment's body starts and ends: it follows the EBML header and fills the
    rest of the file."""
    segment_id, body, segment_end = walk.element(walk.doc_header(), size, unknown_ok=True)
    if segment_id != _SEGMENT:
        raise _invalid("The WebM file has no Segment after its EBML header.")
    if segment_end == -1:  # a live stream: the Segment runs to the end of the file
        segment_end = size
    elif segment_end != size:
        raise _invalid(f"The WebM file has {size - segment_end} bytes after its Segment.")
    return body, segment_end


class _EbmlWalk:
    """Element-by-element reading of an EBML file through a small window (``_Peek``)."""

    def __init__(self, f: BinaryIO, size: int) -> None:
        self.peek = _Peek(f)
        self.size = size
        self.steps = 0
        self.audio_ns = 0  # the blocks' lengths, added up
        self.scale = 1_000_000  # nanoseconds per timecode unit (Info's TimecodeScale)

    def vint(self, pos: int, limit: int, is_id: bool) -> tuple[int, int, bool]:
        """(value, length, all ones) of the variable-size integer at ``pos``."""
        if pos >= limit:
            raise self.cut(pos)
        first = self.peek.at(pos, 1)[0]
        length = 9 - first.bit_length() if first else 9
        if length > (4 if is_id else 8):
            raise _invalid(f"The WebM element at byte {pos} has a malformed header.")
        raw = self.peek.at(pos, length)
        if len(raw) < length or pos + length > limit:
            raise self.cut(pos)
        value = int.from_bytes(raw, "big")
        if is_id:
            return value, length, False
        value &= (1 << (7 * length)) - 1
        return value, length, value == (1 << (7 * length)) - 1

    def cut(self, pos: int) -> MediaError:
        if pos >= self.size or len(self.peek.at(pos, 8)) < 8:
            return _truncated(f"The WebM file ends inside an element header at byte {pos}")
        return _invalid(f"The WebM element header at byte {pos} runs past its parent.")

    def element(self, pos: int, limit: int, unknown_ok: bool = False) -> tuple[int, int, int]:
        """(id, body start, end) of the element at ``pos`` inside ``[.., limit)``; end is -1
        for an unknown size (allowed only where ``unknown_ok``)."""
        self.spend()
        element_id, id_len, _ = self.vint(pos, limit, is_id=True)
        size, size_len, unknown = self.vint(pos + id_len, limit, is_id=False)
        body = pos + id_len + size_len
        if unknown:
            if not unknown_ok:
                raise _invalid(f"The WebM element at byte {pos} has an unknown size.")
            return element_id, body, -1
        if body + size > limit:
            where = "the end of the file" if limit == self.size else "its parent element"
            raise _truncated(
                f"The WebM element at byte {pos} declares {size} bytes, running past {where}"
            )
        return element_id, body, body + size

    def spend(self, steps: int = 1) -> None:
        self.steps += steps
        if self.steps > _MAX_WEBM_STEPS:
            raise _invalid(
                "The WebM file has too many elements or laced frames to be a recording segment."
            )

    def children(self, start: int, end: int) -> Iterator[tuple[int, int, int]]:
        pos = start
        while pos < end:
            element_id, body, pos = self.element(pos, end)
            yield element_id, body, pos

    def data(self, body: int, end: int) -> bytes:
        if end - body > _MAX_WEBM_HEADER:
            raise _invalid(f"The WebM element at byte {body} is too large for what it holds.")
        return self.peek.at(body, end - body)

    def uint(self, body: int, end: int) -> int:
        if end - body > 8:
            raise _invalid(f"The WebM number at byte {body} is longer than 8 bytes.")
        return int.from_bytes(self.data(body, end), "big")

    def float(self, body: int, end: int) -> float:
        raw = self.data(body, end)
        if len(raw) not in (0, 4, 8):
            raise _invalid(f"The WebM number at byte {body} is not a 4- or 8-byte float.")
        value = struct.unpack(">f" if len(raw) == 4 else ">d", raw)[0] if raw else 0.0
        if not math.isfinite(value) or value < 0:
            raise _invalid(f"The WebM number at byte {body} is not a usable value.")
        return value

    def doc_header(self) -> int:
        """Check the EBML header says "webm"; the Segment's offset."""
        element_id, body, end = self.element(0, self.size)
        if element_id != _EBML or end - body > _MAX_WEBM_HEADER:
            raise _invalid("The WebM file's EBML header is malformed.")
        doc_type = b""
        for child, start, stop in self.children(body, end):
            if child == _DOC_TYPE:
                doc_type = self.data(start, stop).rstrip(b"\0")
        if doc_type != b"webm":
            name = doc_type.decode("latin-1") or "none"
            raise _invalid(f"The EBML file's document type is {name!r}, not WebM.")
        return end

    def info(self, body: int, end: int) -> float | None:
        """Sets the TimecodeScale; the Duration in nanoseconds, if one is declared."""
        scale, duration = 1_000_000, None
        for child, start, stop in self.children(body, end):
            if child == _TIMECODE_SCALE:
                scale = self.uint(start, stop)
            elif child == _DURATION:
                duration = self.float(start, stop)
        if not 1 <= scale <= 1_000_000_000:
            raise _invalid(f"The WebM TimecodeScale {scale} ns is not usable.")
        self.scale = scale
        return None if duration is None else duration * scale

    def audio_track(self, body: int, end: int) -> _WebmTrack:
        """The one Opus audio track; anything else (video, a second track) is refused."""
        tracks = []
        for child, start, stop in self.children(body, end):
            if child != _TRACK_ENTRY:
                continue
            track = _WebmTrack()
            for field, at, until in self.children(start, stop):
                if field == _TRACK_NUMBER:
                    track.number = self.uint(at, until)
                elif field == _TRACK_TYPE:
                    track.kind = self.uint(at, until)
                elif field == _CODEC_ID:
                    track.codec = self.data(at, until).rstrip(b"\0").decode("latin-1")
                elif field == _AUDIO:
                    for detail, a, b in self.children(at, until):
                        if detail == _SAMPLING_FREQUENCY:
                            track.sample_rate = self.float(a, b)
                        elif detail == _CHANNELS:
                            track.channels = self.uint(a, b)
            tracks.append(track)
        kinds = [_TRACK_TYPES.get(t.kind, f"type {t.kind}") for t in tracks]
        if not tracks or kinds.count("audio") == 0:
            raise _invalid("The WebM file has no audio track.")
        if len(tracks) > 1:
            raise _invalid(
                f"The WebM file holds {', '.join(kinds)} tracks; a recording segment is one "
                "audio track (a video recording is not accepted)."
            )
        (track,) = tracks
        if track.codec != "A_OPUS":
            raise _invalid(f"The WebM audio is {track.codec or 'of no codec'}, not Opus.")
        if not track.number:
            raise _invalid("The WebM audio track has no track number.")
        if track.sample_rate <= 0:
            track.sample_rate = 8000.0  # the Matroska default
        return track

    def cluster(
        self, body: int, limit: int, open_ended: bool, track: _WebmTrack
    ) -> tuple[int, tuple[int, int] | None]:
        """(end of the Cluster, (first start, last end) of its blocks in nanoseconds).

        A Cluster of unknown size ends where the next top-level element starts."""
        timecode: int | None = None
        first = last = None
        pos = body
        while pos < limit:
            element_id, start, end = self.element(pos, limit, unknown_ok=open_ended)
            if open_ended and element_id in _SEGMENT_CHILDREN:
                self.steps -= 1  # read again by the Segment's loop
                return pos, (first, last) if first is not None else None
            if end == -1:
                raise _invalid(f"The WebM element at byte {pos} has an unknown size.")
            if element_id == _TIMECODE:
                timecode = self.uint(start, end)
            elif element_id in (_SIMPLE_BLOCK, _BLOCK_GROUP):
                if timecode is None:
                    raise _invalid(f"The WebM cluster at byte {body} has no Timecode first.")
                span = self.block(element_id, start, end, timecode, track)
                if span:
                    first = span[0] if first is None else min(first, span[0])
                    last = span[1] if last is None else max(last, span[1])
            pos = end
        return limit, (first, last) if first is not None else None

    def block(
        self, element_id: int, start: int, end: int, timecode: int, track: _WebmTrack
    ) -> tuple[int, int] | None:
        """(start, end) of one block in nanoseconds; its length is its BlockDuration or,
        failing that, what its Opus packets say (48 kHz samples)."""
        duration_units = None
        if element_id == _BLOCK_GROUP:
            found = None
            for child, at, until in self.children(start, end):
                if child == _BLOCK:
                    found = at, until
                elif child == _BLOCK_DURATION:
                    duration_units = self.uint(at, until)
            if found is None:
                raise _invalid(f"The WebM block group at byte {start} holds no Block.")
            start, end = found
        number, length, _ = self.vint(start, end, is_id=False)
        head = self.peek.at(start + length, 3)
        if len(head) < 3 or start + length + 3 > end:
            raise _invalid(f"The WebM block at byte {start} is too short.")
        if number != track.number:
            raise _invalid(f"The WebM block at byte {start} belongs to unknown track {number}.")
        begins = (timecode + int.from_bytes(head[:2], "big", signed=True)) * self.scale
        if duration_units is not None:
            length_ns = duration_units * self.scale
        else:
            frames = self.frames(start + length + 3, end, head[2])
            samples = sum(self.opus_samples(at, until) for at, until in frames)
            length_ns = samples * 1_000_000_000 // 48000
        self.audio_ns += length_ns
        return begins, begins + length_ns

    def frames(self, pos: int, end: int, flags: int) -> list[tuple[int, int]]:
        """The frames of a block, by its lacing (none, Xiph, fixed-size or EBML)."""
        lacing = (flags >> 1) & 0x03
        if lacing == 0:
            return [(pos, end)]
        count = self.peek.at(pos, 1)[0] + 1
        self.spend(count)
        pos += 1
        sizes: list[int] = []
        if lacing == 2:  # fixed-size
            total = end - pos
            if total % count:
                raise _invalid(f"The WebM block at byte {pos} splits unevenly into {count} frames.")
            sizes = [total // count] * count
        else:
            head_end = min(end, pos + _MAX_LACE_HEADER)
            for i in range(count - 1):
                if lacing == 1:  # Xiph: runs of 255
                    value = 0
                    while True:
                        if pos >= head_end:
                            raise _invalid(f"The WebM block's lacing at byte {pos} is malformed.")
                        byte = self.peek.at(pos, 1)[0]
                        self.spend()
                        pos += 1
                        value += byte
                        if byte != 255:
                            break
                else:  # EBML: first size, then signed differences
                    raw, length, _ = self.vint(pos, head_end, is_id=False)
                    if i:
                        raw -= (1 << (7 * length - 1)) - 1
                        value = sizes[-1] + raw
                    else:
                        value = raw
                    pos += length
                sizes.append(value)
            last = end - pos - sum(sizes)
            sizes.append(last)
        if any(s <= 0 for s in sizes) or pos + sum(sizes) != end:
            raise _invalid(f"The WebM block's {count} laced frames do not fill it exactly.")
        spans = []
        for s in sizes:
            spans.append((pos, pos + s))
            pos += s
        return spans

    def opus_samples(self, pos: int, end: int) -> int:
        """48 kHz samples in one Opus packet, from its TOC byte (RFC 6716, section 3.1)."""
        toc = self.peek.at(pos, 2)
        if not toc:
            return 0  # an empty packet: the encoder dropped a frame (DTX)
        frame = _OPUS_FRAME[toc[0] >> 3]
        code = toc[0] & 0x03
        if code == 0:
            count = 1
        elif code in (1, 2):
            count = 2
        else:
            if len(toc) < 2 or end - pos < 2:
                raise _invalid(f"The Opus packet at byte {pos} is cut inside its header.")
            count = toc[1] & 0x3F
        if not count or frame * count > 5760:  # at most 120 ms per packet
            raise _invalid(f"The Opus packet at byte {pos} declares an impossible length.")
        return frame * count
