"""Tests for fieldvisit.media.audio against the real audio corpus (/work/shared/corpus/audio).

Every manifest entry is inspected and compared with what the manifest records (mutagen's
length, the reference frame count for AMR). Then the content-not-name rule, and truncation:
a recording is evidence, so an upload cut short must never pass as a complete segment where
the container says how long it should be. Where a format declares no total (AMR, ADTS, MP3
without a VBR header), a cut exactly between two frames is a shorter, honest recording, and
the tests pin that down too: its shorter duration is what shows the missing time.
"""

from __future__ import annotations

import io
import json
import shutil
import tracemalloc
from pathlib import Path
from typing import Any

import mutagen
import pytest
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4

from fieldvisit.media import MediaError
from fieldvisit.media.audio import FORMATS, AudioInfo, inspect_audio

AUDIO = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "audio"
MANIFEST: list[dict[str, Any]] = (
    json.loads((AUDIO / "manifest.json").read_text()) if AUDIO.is_dir() else []
)
ACCEPTED = [entry for entry in MANIFEST if entry["expect"] == "accept"]
REFUSED = [entry for entry in MANIFEST if entry["expect"] != "accept"]

# The manifest's format strings, in this module's names.
FORMAT_NAMES = {
    "m4a/aac": "m4a",
    "3gp/amr-nb": "3gp",
    "aac/adts": "aac",
    "mp3": "mp3",
    "amr-nb": "amr",
    "amr-wb": "amr-wb",
    "ogg/vorbis": "ogg-vorbis",
    "ogg/opus": "ogg-opus",
    "wav": "wav",
    "flac": "flac",
}

pytestmark = pytest.mark.skipif(not MANIFEST, reason="the audio corpus is not available")


def name_of(entry: dict[str, Any]) -> str:
    return entry["file"]


def corpus_bytes(name: str) -> bytes:
    return (AUDIO / name).read_bytes()


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def refused(path: Path) -> MediaError:
    with pytest.raises(MediaError) as caught:
        inspect_audio(path)
    assert caught.value.code == "invalid_audio"
    assert caught.value.detail  # every refusal says why, in words
    return caught.value


# -- the corpus -----------------------------------------------------------------------------


@pytest.mark.parametrize("entry", ACCEPTED, ids=name_of)
def test_accepted_file_format_and_duration(entry: dict[str, Any]) -> None:
    info = inspect_audio(AUDIO / entry["file"])

    assert info.format == FORMAT_NAMES[entry["format"]]
    assert info.media_type == FORMATS[info.format]
    if entry["mutagen"] is None:  # AMR: mutagen has no support, frames x 20 ms
        assert info.duration_s == entry["reference"]["amr_frame_duration_s"]
    else:
        assert abs(info.duration_s - entry["mutagen"]["length_s"]) <= 0.1
    assert info.sample_rate == entry["reference"]["sample_rate"]


@pytest.mark.parametrize("entry", ACCEPTED, ids=name_of)
def test_accepted_file_channels(entry: dict[str, Any]) -> None:
    """Channels as the stream has them, except AAC in MP4: for mono AAC-LC mutagen falls
    back to the sample entry's 2 (manifest 'mutagen findings'), and that is passed on."""
    info = inspect_audio(AUDIO / entry["file"])

    codec = (entry["mutagen"] or {}).get("codec", "")
    expected = 2 if codec.startswith("mp4a") else entry["reference"]["channels"]
    assert info.channels == expected


@pytest.mark.parametrize("entry", REFUSED, ids=name_of)
def test_refused_file(entry: dict[str, Any]) -> None:
    refused(AUDIO / entry["file"])


def test_every_manifest_file_is_covered() -> None:
    """Every format but what browsers record, which tests/media/test_browser_audio.py
    covers with Chromium's own recordings."""
    assert len(MANIFEST) == 21
    assert {FORMAT_NAMES[e["format"]] for e in ACCEPTED} == set(FORMATS) - {"webm-opus"}


def test_accepts_str_and_pathlike() -> None:
    path = AUDIO / "amr_nb.amr"
    assert inspect_audio(str(path)) == inspect_audio(path)


def test_missing_path_is_the_servers_problem_not_the_uploads(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        inspect_audio(tmp_path / "gone")


# -- content, not name ----------------------------------------------------------------------

MISLEADING_NAMES = ["upload.bin", "upload", "upload.mp3", "upload.aac", "upload.m4a"]


@pytest.mark.parametrize("entry", ACCEPTED, ids=name_of)
@pytest.mark.parametrize("name", MISLEADING_NAMES)
def test_accepted_file_under_any_name(entry: dict[str, Any], name: str, tmp_path: Path) -> None:
    copy = tmp_path / name
    shutil.copyfile(AUDIO / entry["file"], copy)

    assert inspect_audio(copy) == inspect_audio(AUDIO / entry["file"])


@pytest.mark.parametrize("entry", REFUSED, ids=name_of)
@pytest.mark.parametrize("name", MISLEADING_NAMES)
def test_refused_file_under_any_name(entry: dict[str, Any], name: str, tmp_path: Path) -> None:
    copy = tmp_path / name
    shutil.copyfile(AUDIO / entry["file"], copy)

    refused(copy)


def test_adts_is_found_where_mutagen_needs_the_name(tmp_path: Path) -> None:
    """mutagen.File() knows ADTS only by an .aac-like name; the content is enough here."""
    copy = tmp_path / "upload.bin"
    shutil.copyfile(AUDIO / "aac_adts.aac", copy)
    assert mutagen.File(copy) is None
    assert mutagen.File(io.BytesIO(copy.read_bytes())) is None

    assert inspect_audio(copy).format == "aac"


# -- truncation -----------------------------------------------------------------------------

CUTTABLE = [
    "mp3_vbr_xing.mp3",
    "flac_stereo.flac",
    "wav_pcm16_mono.wav",
    "amr_nb.amr",
    "amr_wb.awb",
    "recording_seg0.m4a",
    "m4a_aac_lc.m4a",
    "3gp_amr_nb.3gp",
    "ogg_vorbis.ogg",
    "ogg_opus.opus",
    "aac_adts.aac",
]


@pytest.mark.parametrize("name", CUTTABLE)
@pytest.mark.parametrize("cut", ["half", "last byte", "last 100 bytes"])
def test_cut_upload_is_refused(name: str, cut: str, tmp_path: Path) -> None:
    data = corpus_bytes(name)
    keep = {"half": len(data) // 2, "last byte": len(data) - 1, "last 100 bytes": -100}[cut]

    error = refused(write(tmp_path, "upload", data[:keep]))

    assert "cut short" in error.detail


def test_mp4_cut_with_moov_first_passes_mutagen_with_full_length(tmp_path: Path) -> None:
    """The phone's upload cut short: mutagen still reads the whole 20.064 s from the moov."""
    data = corpus_bytes("recording_seg0.m4a")
    cut = write(tmp_path, "upload", data[: len(data) // 2])

    assert MP4(cut).info.length == pytest.approx(20.064)
    assert "'mdat' box" in refused(cut).detail


def test_mp4_cut_exactly_after_moov_has_no_audio_data(tmp_path: Path) -> None:
    """The remaining boxes cover the file exactly, but the audio ('mdat') is missing."""
    data = corpus_bytes("recording_seg0.m4a")
    mdat_at = data.index(b"mdat") - 4
    assert data.index(b"moov") < mdat_at

    assert "'mdat'" in refused(write(tmp_path, "upload", data[:mdat_at])).detail


def test_mp4_without_audio_track_is_refused(tmp_path: Path) -> None:
    """Without a 'soun' track mutagen falls back to the movie header: a length, no codec."""
    data = corpus_bytes("m4a_aac_lc.m4a")
    assert data.count(b"soun") == 1
    video_only = write(tmp_path, "upload", data.replace(b"soun", b"vide"))

    info = MP4(video_only).info
    assert info.length > 0 and info.codec == ""
    assert "no audio track" in refused(video_only).detail


def test_mp4_box_running_past_the_end_is_refused(tmp_path: Path) -> None:
    data = corpus_bytes("m4a_aac_lc.m4a") + b"\x7f\xff\xff\xffjunk"

    refused(write(tmp_path, "upload", data))


def test_mp3_cut_keeps_full_length_in_mutagen_but_is_refused(tmp_path: Path) -> None:
    """The Xing header was written for the whole file: mutagen still says 2.808 s."""
    data = corpus_bytes("mp3_vbr_xing.mp3")
    cut = write(tmp_path, "upload", data[: len(data) // 2])

    assert MP3(cut).info.length == pytest.approx(2.808)
    assert "declares 38352 bytes" in refused(cut).detail


def without_xing(data: bytes) -> bytes:
    """The corpus MP3 with its Xing tag blanked: a plain sequence of VBR frames."""
    at = data.index(b"Xing")
    return data[:at] + b"\0\0\0\0" + data[at + 4 :]


def test_mp3_without_vbr_header_is_timed_by_its_frames(tmp_path: Path) -> None:
    """mutagen guesses from the first frame's bitrate (4.794 s); the frames say 2.832 s:
    118 frames (the blanked header frame is a silent frame now) of 1152 samples at 48 kHz."""
    plain = write(tmp_path, "upload", without_xing(corpus_bytes("mp3_vbr_xing.mp3")))

    assert MP3(plain).info.length == pytest.approx(4.794)
    info = inspect_audio(plain)
    assert info.duration_s == 118 * 1152 / 48000


def test_mp3_without_vbr_header_cut_inside_a_frame_is_refused(tmp_path: Path) -> None:
    data = without_xing(corpus_bytes("mp3_vbr_xing.mp3"))

    assert "runs past the end" in refused(write(tmp_path, "upload", data[:-1])).detail


def test_mp3_followed_by_an_id3v1_tag_is_accepted(tmp_path: Path) -> None:
    data = corpus_bytes("mp3_vbr_xing.mp3") + b"TAG" + bytes(125)

    assert inspect_audio(write(tmp_path, "upload", data)).duration_s == pytest.approx(2.808)


def test_mp3_followed_by_garbage_is_refused(tmp_path: Path) -> None:
    data = corpus_bytes("mp3_vbr_xing.mp3") + b"not audio at all"

    refused(write(tmp_path, "upload", data))


def test_flac_cut_after_a_whole_frame_is_refused(tmp_path: Path) -> None:
    """Every remaining frame is complete, but STREAMINFO counts 131568 samples."""
    data = corpus_bytes("flac_stereo.flac")
    last_frame = data.rindex(b"\xff\xf8")
    assert data[last_frame + 4] == 32  # frame number 32, after 32 frames of 4096 samples

    error = refused(write(tmp_path, "upload", data[:last_frame]))

    assert "declares 131568 samples" in error.detail
    assert "ends at sample 131072" in error.detail


def test_ogg_cut_before_the_last_page_is_refused(tmp_path: Path) -> None:
    """The file ends with a complete page, but not the end-of-stream one."""
    data = corpus_bytes("ogg_opus.opus")
    cut = data[: data.rindex(b"OggS")]

    assert "end-of-stream" in refused(write(tmp_path, "upload", cut)).detail


def test_wav_with_compressed_audio_is_refused(tmp_path: Path) -> None:
    """mutagen's data_size / block_align counts blocks, not samples, for ADPCM."""
    data = bytearray(corpus_bytes("wav_pcm16_mono.wav"))
    at = data.index(b"fmt ") + 8
    data[at : at + 2] = (2).to_bytes(2, "little")  # WAVE_FORMAT_ADPCM

    assert "compressed" in refused(write(tmp_path, "upload", bytes(data))).detail


def test_amr_cut_between_frames_is_a_shorter_recording(tmp_path: Path) -> None:
    """AMR declares no length: 100 whole 13-byte frames are 2 s of audio, no more."""
    data = corpus_bytes("amr_nb.amr")

    info = inspect_audio(write(tmp_path, "upload", data[: 6 + 100 * 13]))

    assert info.duration_s == 2.0


def test_adts_cut_between_frames_is_a_shorter_recording(tmp_path: Path) -> None:
    data = corpus_bytes("aac_adts.aac")
    end = 0
    for _ in range(50):
        end += (data[end + 3] & 0x03) << 11 | data[end + 4] << 3 | data[end + 5] >> 5

    info = inspect_audio(write(tmp_path, "upload", data[:end]))

    assert info.duration_s == 50 * 1024 / 44100


def test_adts_duration_counts_frames_not_mutagens_estimate() -> None:
    """144 frames of 1024 samples: 3.344 s; mutagen estimates 3.297 s from the bitrate."""
    assert inspect_audio(AUDIO / "aac_adts.aac").duration_s == 144 * 1024 / 44100


# -- hostile and odd input ------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"#!AMR\n", id="amr-no-frames"),
        pytest.param(b"#!AMR\n" + bytes([12 << 3]) + bytes(40), id="amr-reserved-ft"),
        pytest.param(b"#!AMR-WB\n" + bytes([10 << 3]) + bytes(40), id="amr-wb-reserved-ft"),
        pytest.param(b"#!AMR_MC1.0\n" + bytes(40), id="amr-multichannel"),
        pytest.param(b"\x00\x00\x00\x04ftypM4A " + bytes(8), id="mp4-ftyp-too-small"),
        pytest.param(b"\x00\x00\x00\x10ftypM4A \x00\x00\x00\x00", id="mp4-ftyp-only"),
        pytest.param(
            b"\x00\x00\x00\x10ftypM4A \x00\x00\x00\x00\x00\x00\x00\x03moov", id="mp4-box-size-3"
        ),
        pytest.param(
            b"\x00\x00\x00\x10ftypM4A \x00\x00\x00\x00\x00\x00\x00\x01mdat" + bytes(8),
            id="mp4-largesize-0",
        ),
        pytest.param(b"OggS" + bytes(60), id="ogg-garbage"),
        pytest.param(b"RIFF\x04\x00\x00\x00WAVE", id="wav-no-chunks"),
        pytest.param(b"RIFF\xff\xff\xff\xffWAVEdata\xff\xff\xff\xff", id="wav-streaming-sizes"),
        pytest.param(b"fLaC", id="flac-magic-only"),
        pytest.param(b"ID3\x04\x00\x00\x00\x00\x00\x00", id="id3-only"),
        pytest.param(b"\xff\xf1" + bytes(20), id="adts-sync-only"),
        pytest.param(b"\xff\xfb\x90\x00" + bytes(20), id="mp3-sync-only"),
        pytest.param(bytes(range(256)) * 4, id="random-bytes"),
    ],
)
def test_hostile_input_is_refused(data: bytes, tmp_path: Path) -> None:
    refused(write(tmp_path, "upload", data))


def test_large_segment_is_read_from_its_headers(tmp_path: Path) -> None:
    """A 512 MiB WAV (sparse on disk) is inspected without reading its audio into memory."""
    data_size = 512 * 1024 * 1024
    fmt = (1).to_bytes(2, "little") + (1).to_bytes(2, "little")  # PCM, mono
    fmt += (16000).to_bytes(4, "little") + (32000).to_bytes(4, "little")
    fmt += (2).to_bytes(2, "little") + (16).to_bytes(2, "little")
    header = b"WAVEfmt " + len(fmt).to_bytes(4, "little") + fmt
    header += b"data" + data_size.to_bytes(4, "little")
    path = tmp_path / "upload"
    with path.open("wb") as f:
        f.write(b"RIFF" + (len(header) + data_size).to_bytes(4, "little") + header)
        f.truncate(8 + len(header) + data_size)

    tracemalloc.start()
    try:
        info = inspect_audio(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert info == AudioInfo("wav", "audio/wav", data_size / 32000, 16000, 1)
    assert peak < 4 * 1024 * 1024
