"""What browsers record (``tests/media/browser_audio/``, made by Chromium's MediaRecorder):
WebM/Opus and fragmented MP4, timed from their blocks and sample tables, and the hostile
variants a phone, a proxy or an attacker could send instead."""

from __future__ import annotations

import json
import struct
import time
from pathlib import Path
from typing import Any

import pytest
from mutagen.mp4 import MP4

from fieldvisit.bundles.plan import EXTENSIONS
from fieldvisit.media import MediaError
from fieldvisit.media.audio import FORMATS, inspect_audio

HERE = Path(__file__).resolve().parent / "browser_audio"
RECORDED: dict[str, Any] = json.loads((HERE / "recordings.json").read_text())
WEBM_SEGMENTS = sorted(p.name for p in HERE.glob("chrome_opus*.webm"))
MP4_SEGMENTS = sorted(p.name for p in HERE.glob("chrome_mp4*.mp4"))
EBML_MAGIC = b"\x1a\x45\xdf\xa3"
SEGMENT_ID = b"\x18\x53\x80\x67"
CLUSTER_ID = b"\x1f\x43\xb6\x75"


def data_of(name: str) -> bytes:
    return (HERE / name).read_bytes()


def write(tmp_path: Path, data: bytes, name: str = "upload") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def elements(data: bytes) -> list[tuple[int, int, int]]:
    """(id, start, end) of the elements of a WebM file in order, the Segment and Clusters
    entered rather than skipped (sizes as written; unknown sizes read as "enter")."""
    found, pos = [], 0
    while pos < len(data):
        length = 9 - data[pos].bit_length()
        element_id = int.from_bytes(data[pos : pos + length], "big")
        size_len = 9 - data[pos + length].bit_length()
        size = int.from_bytes(data[pos + length : pos + length + size_len], "big")
        size &= (1 << (7 * size_len)) - 1
        body = pos + length + size_len
        found.append((element_id, pos, body + size))
        pos = body if element_id in (0x18538067, 0x1F43B675) else body + size
    return found


def blocks_of(data: bytes) -> list[int]:
    return [start for element_id, start, _ in elements(data) if element_id == 0xA3]


def refused(path: Path) -> str:
    with pytest.raises(MediaError) as caught:
        inspect_audio(path)
    assert caught.value.code == "invalid_audio"
    assert caught.value.detail
    return caught.value.detail


# -- what Chromium records ------------------------------------------------------------------


@pytest.mark.parametrize("name", WEBM_SEGMENTS)
def test_chrome_webm_opus_is_timed_by_its_blocks(name: str) -> None:
    """Each block is 3 Opus frames of 20 ms (TOC 0xfb); the recorder ran ``recorded_ms``."""
    info = inspect_audio(HERE / name)

    assert (info.format, info.media_type) == ("webm-opus", "audio/webm")
    assert (info.sample_rate, info.channels) == (48000, 1)
    assert RECORDED[name]["mime"] == "audio/webm;codecs=opus"
    assert info.duration_s == pytest.approx(RECORDED[name]["recorded_ms"] / 1000, abs=0.07)


def test_chrome_declares_the_last_blocks_start_not_the_end() -> None:
    """Chrome's finished file declares Duration 1980 ms (the last block's timecode); its 34
    blocks of 60 ms play 2.04 s. A reader of the header would lose 60 ms per segment."""
    data = data_of("chrome_opus_seg0.webm")
    at = data.index(b"\x44\x89\x84") + 3  # Duration, a 4-byte float
    assert struct.unpack(">f", data[at : at + 4])[0] == 1980.0

    assert inspect_audio(HERE / "chrome_opus_seg0.webm").duration_s == 2.04


def test_live_webm_without_duration_and_unknown_sizes_is_timed() -> None:
    """With a timeslice Chrome streams: no Duration, Segment and Clusters of unknown size."""
    data = data_of("chrome_opus_timeslice.webm")
    assert b"\x44\x89" not in data[: data.index(CLUSTER_ID)]
    assert data[data.index(SEGMENT_ID) + 4 : data.index(SEGMENT_ID) + 12] == b"\x01" + b"\xff" * 7
    assert data.count(CLUSTER_ID) == 3

    info = inspect_audio(HERE / "chrome_opus_timeslice.webm")

    assert info.duration_s == 3.06  # 51 blocks of 60 ms; the recorder ran 3.001 s


@pytest.mark.parametrize("name", MP4_SEGMENTS)
def test_chrome_fragmented_mp4_is_timed_by_its_fragments(name: str) -> None:
    """Chrome writes its track duration in ms against a 48 kHz timescale: mutagen reads
    0.042 s for a 2 s segment. The fragment's sample durations say 2.001 s."""
    assert MP4(HERE / name).info.length == pytest.approx(2001 / 48000)

    info = inspect_audio(HERE / name)

    assert (info.format, info.media_type) == ("m4a", "audio/mp4")
    assert RECORDED[name]["mime"] == "audio/mp4;codecs=opus"
    assert info.duration_s == pytest.approx(RECORDED[name]["recorded_ms"] / 1000, abs=0.01)


def test_aac_in_fragmented_mp4_is_timed_by_its_fragments() -> None:
    """Safari's layout with AAC (made by FFmpeg, see the README): three fragments of 47 AAC
    frames, their duration a default in 'tfhd'. mutagen reads 0 s from the empty 'moov'."""
    path = HERE / "ffmpeg_aac_fragmented.mp4"
    assert MP4(path).info.length == 0
    assert MP4(path).info.codec == "mp4a.40.2"

    info = inspect_audio(path)

    assert (info.format, info.sample_rate, info.channels) == ("m4a", 48000, 1)
    assert info.duration_s == 141 * 1024 / 48000


def test_fragmented_mp4_cut_between_fragments_is_a_shorter_recording(tmp_path: Path) -> None:
    """No header declares the whole length (mvhd says 0): two whole fragments are 2.005 s,
    and the recording rule sees the rest as a gap."""
    data = data_of("ffmpeg_aac_fragmented.mp4")
    third = data.rindex(b"moof") - 4

    assert inspect_audio(write(tmp_path, data[:third])).duration_s == 94 * 1024 / 48000


def test_every_audio_media_type_has_a_bundle_extension() -> None:
    """A WebM segment is ``segment-000.webm`` in a bundle, not ``.bin``."""
    assert set(FORMATS.values()) <= set(EXTENSIONS)
    assert EXTENSIONS["audio/webm"] == "webm"


# -- not an audio recording -----------------------------------------------------------------


def test_a_camera_recording_with_sound_is_refused() -> None:
    assert "video" in refused(HERE / "chrome_video_vp8_opus.webm")


def test_a_camera_recording_in_mp4_is_refused() -> None:
    """Chromium's ``video/mp4`` (VP9 and Opus): its sound track alone would pass as audio."""
    assert RECORDED["chrome_video.mp4"]["mime"] == "video/mp4;codecs=vp9,opus"

    assert "video" in refused(HERE / "chrome_video.mp4")


def test_a_webm_without_audio_track_is_refused() -> None:
    assert "no audio track" in refused(HERE / "chrome_video_only.webm")


def test_a_webm_of_another_codec_is_refused(tmp_path: Path) -> None:
    data = data_of("chrome_opus_seg0.webm").replace(b"A_OPUS", b"A_PCMX")

    assert "not Opus" in refused(write(tmp_path, data))


def test_a_matroska_document_is_not_webm(tmp_path: Path) -> None:
    data = data_of("chrome_opus_seg0.webm")
    at = data.index(b"\x42\x82\x84webm")
    data = data[:at] + b"\x42\x82\x84mkv\0" + data[at + 7 :]

    assert "not WebM" in refused(write(tmp_path, data))


# -- cut short ------------------------------------------------------------------------------


@pytest.mark.parametrize("cut", ["half", "last byte", "inside the header"])
def test_a_cut_webm_is_refused(cut: str, tmp_path: Path) -> None:
    data = data_of("chrome_opus_seg1.webm")
    keep = {"half": len(data) // 2, "last byte": len(data) - 1, "inside the header": 100}[cut]

    assert "cut short" in refused(write(tmp_path, data[:keep]))


def test_a_cut_live_webm_is_refused_inside_a_block(tmp_path: Path) -> None:
    data = data_of("chrome_opus_timeslice.webm")

    assert "cut short" in refused(write(tmp_path, data[: len(data) - 5]))


def test_a_live_webm_cut_between_clusters_is_a_shorter_recording(tmp_path: Path) -> None:
    """Nothing in a live stream says how long it should be: a cut between clusters is a
    shorter recording, and the recording rule sees the missing time as a gap."""
    data = data_of("chrome_opus_timeslice.webm")
    third = data.rindex(CLUSTER_ID)

    info = inspect_audio(write(tmp_path, data[:third]))

    assert info.duration_s < 2.1


def test_a_finished_webm_missing_its_last_blocks_is_refused(tmp_path: Path) -> None:
    """The Segment and Cluster sizes are rewritten to fit, but the Duration (1.98 s) is not
    reached by the blocks that are left."""
    data = bytearray(data_of("chrome_opus_seg0.webm"))
    found = elements(bytes(data))
    ((segment, _),) = [(at, end) for i, at, end in found if i == 0x18538067]
    ((cluster, _),) = [(at, end) for i, at, end in found if i == 0x1F43B675]
    blocks = blocks_of(bytes(data))
    assert len(blocks) == 34 and data[cluster + 4] == 0x01 and data[segment + 4] == 0x01
    del data[blocks[17] :]  # about 1 s in, and the Cues after the Cluster
    data[cluster + 4 : cluster + 12] = (0x01 << 56 | (len(data) - cluster - 12)).to_bytes(8, "big")
    data[segment + 4 : segment + 12] = (0x01 << 56 | (len(data) - segment - 12)).to_bytes(8, "big")

    detail = refused(write(tmp_path, bytes(data)))

    assert "declares 1.980 s" in detail and "cut short" in detail


def test_a_webm_with_blocks_dropped_from_the_middle_is_shorter(tmp_path: Path) -> None:
    """Timecodes are numbers too: with blocks 10-19 blanked (turned into Void elements), the
    span from the first to the last block is 2.04 s, the audio present 1.44 s."""
    data = bytearray(data_of("chrome_opus_timeslice.webm"))
    data = data[: data.rindex(CLUSTER_ID)]  # the first two clusters
    blocks = blocks_of(bytes(data))
    assert len(blocks) == 34
    for at in blocks[10:20]:
        data[at] = 0xEC  # Void: same size, no audio

    assert inspect_audio(write(tmp_path, bytes(data))).duration_s == pytest.approx(24 * 0.06)


# -- hostile --------------------------------------------------------------------------------


def live_header() -> bytes:
    """The real EBML header, Info and Tracks of the live recording, up to its first Cluster."""
    data = data_of("chrome_opus_timeslice.webm")
    return data[: data.index(CLUSTER_ID)]


def cluster(blocks: bytes) -> bytes:
    body = b"\xe7\x81\x00" + blocks  # Timecode 0
    return CLUSTER_ID + (0x01 << 56 | len(body)).to_bytes(8, "big") + body


def simple_block(payload: bytes, flags: int = 0x80, timecode: int = 0) -> bytes:
    body = b"\x81" + timecode.to_bytes(2, "big", signed=True) + bytes([flags]) + payload
    return b"\xa3" + (0x01 << 56 | len(body)).to_bytes(8, "big") + body


OPUS_60MS = b"\xfb\x03" + bytes(40)  # CELT 20 ms, code 3, 3 frames
GOOD = simple_block(OPUS_60MS)

# Each builds a file from the real live recording's header (``live_header()``) and parts.
HOSTILE_WEBM: dict[str, Any] = {
    "magic-only": lambda h: EBML_MAGIC,
    "ebml-header-unknown-size": lambda h: EBML_MAGIC + b"\x01" + b"\xff" * 7,
    "ebml-header-huge-size": lambda h: EBML_MAGIC + b"\x88" + b"\x7f" * 8,
    "size-vint-zero-byte": lambda h: EBML_MAGIC + b"\x00" + bytes(20),
    "no-segment": lambda h: h[: h.index(SEGMENT_ID)] + b"\xec\x80",
    "info-unknown-size": lambda h: h + b"\x15\x49\xa9\x66\x01" + b"\xff" * 7,
    "block-unknown-size": lambda h: h + cluster(b"\xa3\x01" + b"\xff" * 7 + bytes(20)),
    "cluster-absurd-size": lambda h: h + CLUSTER_ID + b"\x01\x7f\xff\xff\xff\xff\xff\xfe" + GOOD,
    "block-absurd-size": lambda h: h + cluster(b"\xa3\x08\xff\xff\xff\xff\xff\xff\xfe" + bytes(30)),
    # 256 frames announced, Xiph lace sizes of 255+255+... and no data behind them.
    "xiph-lace-count-255": lambda h: h + cluster(simple_block(b"\xff" + b"\xff" * 100, 0x82)),
    "ebml-lace-sizes-overflow": lambda h: (
        h + cluster(simple_block(b"\x02\x7f\xff\xc0\x00" + bytes(8), 0x86))
    ),
    "fixed-lace-uneven": lambda h: h + cluster(simple_block(b"\x02" + bytes(10), 0x84)),
    "opus-zero-frames": lambda h: h + cluster(simple_block(b"\xfb\x00" + bytes(10))),
    "opus-over-120ms": lambda h: h + cluster(simple_block(b"\xfb\x31" + bytes(10))),
    "block-of-unknown-track": lambda h: h + cluster(b"\xa3\x88\x82\x00\x00\x80" + OPUS_60MS[:4]),
    "block-before-cluster-timecode": lambda h: (
        h + CLUSTER_ID + (0x01 << 56 | len(GOOD)).to_bytes(8, "big") + GOOD
    ),
    "no-blocks": lambda h: h + cluster(b""),
    "cluster-before-tracks": lambda h: h[: h.index(b"\x16\x54\xae\x6b")] + cluster(GOOD),
    "bytes-after-segment": lambda h: data_of("chrome_opus_seg0.webm") + b"junk",
    "timecode-scale-zero": lambda h: (
        h.replace(b"\x2a\xd7\xb1\x83\x0f\x42\x40", b"\x2a\xd7\xb1\x83\x00\x00\x00") + cluster(GOOD)
    ),
}


@pytest.mark.parametrize("kind", HOSTILE_WEBM)
def test_hostile_webm_is_refused(kind: str, tmp_path: Path) -> None:
    refused(write(tmp_path, HOSTILE_WEBM[kind](live_header())))


def test_the_hostile_webm_builders_make_a_valid_file_from_good_parts(tmp_path: Path) -> None:
    """The same header and a well-formed block: 60 ms of audio, so the refusals above are
    about what each case changes."""
    assert inspect_audio(write(tmp_path, live_header() + cluster(GOOD))).duration_s == 0.06


def test_a_file_of_endless_tiny_elements_is_refused_quickly(tmp_path: Path) -> None:
    """Three million 2-byte Void elements in a live Segment: the step cap ends the walk."""
    path = write(tmp_path, live_header() + b"\xec\x80" * 3_000_000)

    started = time.perf_counter()
    detail = refused(path)

    assert "too many elements" in detail
    assert time.perf_counter() - started < 10  # uncapped, 256 MiB of them: minutes


def test_endless_lacing_is_refused_quickly(tmp_path: Path) -> None:
    """Blocks of 256 Xiph-laced 2-byte Opus packets (60 ms each, 15 s a block): each block
    costs hundreds of steps in under 800 bytes, and the same cap ends the walk."""
    payload = b"\xff" + b"\x02" * 255 + b"\xfb\x03" * 256
    block = simple_block(payload, 0x82)
    assert inspect_audio(write(tmp_path, live_header() + cluster(block))).duration_s == 15.36
    path = write(tmp_path, live_header() + cluster(block * 1000))

    started = time.perf_counter()
    refused(path)

    assert time.perf_counter() - started < 10  # uncapped, 256 MiB of them: minutes


# -- MP4 claiming more than it holds --------------------------------------------------------


def set_u32(data: bytearray, at: int, value: int) -> None:
    data[at : at + 4] = value.to_bytes(4, "big")


def test_fragmented_mp4_whose_movie_header_claims_a_minute_is_refused(tmp_path: Path) -> None:
    data = bytearray(data_of("chrome_mp4_seg0.mp4"))
    mvhd = data.index(b"mvhd")
    assert data[mvhd + 4] == 1  # version 1: 64-bit times, timescale 1000, duration 2001
    set_u32(data, mvhd + 4 + 28, 60_000)

    detail = refused(write(tmp_path, bytes(data)))

    assert "movie header declares 60.000 s" in detail and "2.001 s" in detail


def test_fragmented_mp4_whose_samples_run_past_the_data_is_refused(tmp_path: Path) -> None:
    """The fragment's data offset points 30 kB further than its 'mdat'."""
    data = bytearray(data_of("chrome_mp4_seg0.mp4"))
    trun = data.index(b"trun")
    offset = int.from_bytes(data[trun + 12 : trun + 16], "big")
    set_u32(data, trun + 12, offset + 30_000)

    assert "past the end" in refused(write(tmp_path, bytes(data)))


def test_fragmented_mp4_with_an_absurd_sample_count_is_refused(tmp_path: Path) -> None:
    data = bytearray(data_of("chrome_mp4_seg0.mp4"))
    trun = data.index(b"trun")
    set_u32(data, trun + 8, 0xFFFFFFFF)

    assert "does not hold" in refused(write(tmp_path, bytes(data)))


def test_fragmented_mp4_with_a_sample_stretched_over_an_hour_is_refused(tmp_path: Path) -> None:
    """34 samples of 60 ms; the first rewritten to last an hour (and the movie header to
    match, so only the sample itself is wrong)."""
    data = bytearray(data_of("chrome_mp4_seg0.mp4"))
    trun = data.index(b"trun")
    assert int.from_bytes(data[trun + 4 : trun + 8], "big") & 0x100  # per-sample durations
    assert int.from_bytes(data[trun + 16 : trun + 20], "big") == 2880
    set_u32(data, trun + 16, 48000 * 3600)
    set_u32(data, data.index(b"mvhd") + 4 + 28, 3_700_000)

    assert "lasts 3600.000 s" in refused(write(tmp_path, bytes(data)))


def test_fragmented_mp4_cut_before_its_fragment_is_refused(tmp_path: Path) -> None:
    data = data_of("chrome_mp4_seg0.mp4")
    moof = data.index(b"moof") - 4

    refused(write(tmp_path, data[:moof]))


CORPUS_M4A = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "audio"


@pytest.mark.skipif(not CORPUS_M4A.is_dir(), reason="the audio corpus is not available")
def test_mp4_whose_headers_claim_ten_times_the_samples_is_refused(tmp_path: Path) -> None:
    """mutagen reads the track header: 37 s for the 3.7 s the sample table holds."""
    data = bytearray((CORPUS_M4A / "m4a_aac_lc.m4a").read_bytes())
    for box in (b"mvhd", b"mdhd"):
        at = data.index(box) + 4
        assert data[at] == 0  # version 0: 32-bit timescale at +12, duration at +16
        duration = int.from_bytes(data[at + 16 : at + 20], "big")
        set_u32(data, at + 16, duration * 10)
    path = write(tmp_path, bytes(data))
    assert MP4(path).info.length == pytest.approx(37.08, abs=0.1)

    assert "declares" in refused(path)


@pytest.mark.skipif(not CORPUS_M4A.is_dir(), reason="the audio corpus is not available")
def test_mp4_whose_sample_table_stretches_its_frames_is_refused(tmp_path: Path) -> None:
    """159 AAC frames of 1024 samples (then one of 704), rewritten as 159 of 5 s each."""
    data = bytearray((CORPUS_M4A / "m4a_aac_lc.m4a").read_bytes())
    stts = data.index(b"stts") + 4
    assert data[stts + 8 : stts + 16] == (159).to_bytes(4, "big") + (1024).to_bytes(4, "big")
    set_u32(data, stts + 12, 44100 * 5)

    assert "lasts 5.000 s" in refused(write(tmp_path, bytes(data)))


@pytest.mark.skipif(not CORPUS_M4A.is_dir(), reason="the audio corpus is not available")
def test_mp4_whose_sample_sizes_exceed_its_data_is_refused(tmp_path: Path) -> None:
    data = bytearray((CORPUS_M4A / "m4a_aac_lc.m4a").read_bytes())
    stsz = data.index(b"stsz") + 4
    assert int.from_bytes(data[stsz + 4 : stsz + 8], "big") == 0  # sizes in a table
    set_u32(data, stsz + 12, 10_000_000)  # the first sample: 10 MB

    assert "media data holds" in refused(write(tmp_path, bytes(data)))
