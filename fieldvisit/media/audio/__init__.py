"""Recording segments: which audio format a file really is, and how long it really lasts.

The server stores uploads under opaque names, so the format comes from the content (magic
bytes), never from a file name. mutagen reads the stream information; on top of it this
module checks what mutagen does not, because a recording is evidence: a segment cut short
by a dropped upload must not pass as complete whenever its container declares more than
the file holds (an MP4 box, a WAV chunk, a FLAC sample count or an MP3 Xing byte count
running past the end, an Ogg stream without its end-of-stream page, an MP4 or WebM header
declaring more than the samples or blocks hold). What browsers record is timed here from
the content alone: WebM/Opus (which mutagen cannot read) by an EBML walk over its blocks,
MP4 (fragmented, as MediaRecorder writes it, or not) by its audio track's sample tables,
since mutagen's MP4 length is a header's claim (0.042 s for 2 s of Chrome audio). Streams
that declare no total (AMR, ADTS AAC, MP3 without a VBR header, a live WebM) are walked frame
by frame: a frame running past the end is refused, and a file cut exactly between two
frames is, honestly, a shorter recording, whose missing time the recording rule then
reports as a gap.

Files are read through an open handle, headers and frame headers only (an MP4's 'moov'
and 'moof' boxes whole, within caps): segments may be hundreds of megabytes. Every loop is
bounded by the file size or a fixed cap, so hostile input ends in
``MediaError("invalid_audio", ...)``, never in a hang.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import BinaryIO

import mutagen

from fieldvisit.media import MediaError
from fieldvisit.media.audio.aac import _is_adts, _read_adts
from fieldvisit.media.audio.amr import _read_amr_nb, _read_amr_wb
from fieldvisit.media.audio.common import FORMATS, AudioInfo, _invalid, _skip_id3
from fieldvisit.media.audio.flac import _read_flac
from fieldvisit.media.audio.mp3 import _is_mpeg_audio, _read_mp3
from fieldvisit.media.audio.mp4 import _read_mp4
from fieldvisit.media.audio.ogg import _read_ogg
from fieldvisit.media.audio.wav import _read_wav
from fieldvisit.media.audio.webm import _read_webm

__all__ = ["FORMATS", "AudioInfo", "inspect_audio"]


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
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return _read_webm
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


_LABELS: dict[_Reader, str] = {
    _read_mp4: "MP4/3GP audio",
    _read_adts: "ADTS AAC audio",
    _read_mp3: "MP3 audio",
    _read_amr_nb: "AMR audio",
    _read_amr_wb: "AMR-WB audio",
    _read_ogg: "Ogg audio",
    _read_wav: "WAV audio",
    _read_flac: "FLAC audio",
    _read_webm: "WebM audio",
}
