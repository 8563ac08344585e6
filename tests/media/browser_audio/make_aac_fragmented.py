"""Write ``ffmpeg_aac_fragmented.mp4``: 3 s of a 440 Hz tone, AAC-LC mono 48 kHz, as a
fragmented MP4 laid out like MediaRecorder's (an empty sample table in 'moov', then one
'moof' + 'mdat' per second, default-base-is-moof, a default sample duration in 'tfhd').

Debian's Chromium has no AAC encoder (``MediaRecorder.isTypeSupported('audio/mp4;
codecs=mp4a.40.2')`` is false; its ``audio/mp4`` is Opus), and Safari is not on Linux, so
AAC in fragmented MP4 is made with FFmpeg's encoder and muxer through PyAV. PyAV is not a
dependency of the project; run this in a scratch virtualenv:

    python3 -m venv /tmp/avenv && /tmp/avenv/bin/pip install av==18.1.0 numpy
    /tmp/avenv/bin/python tests/media/browser_audio/make_aac_fragmented.py
"""

from __future__ import annotations

import math
from pathlib import Path

import av
import numpy as np

OUT = Path(__file__).resolve().parent / "ffmpeg_aac_fragmented.mp4"
RATE, FRAME = 48000, 1024


def main() -> None:
    options = {"movflags": "frag_keyframe+empty_moov+default_base_moof", "frag_duration": "1000000"}
    with av.open(str(OUT), "w", format="mp4", options=options) as out:
        stream = out.add_stream("aac", rate=RATE, layout="mono")
        for n in range(0, 3 * RATE - FRAME + 1, FRAME):
            t = (np.arange(FRAME) + n) / RATE
            tone = (0.3 * np.sin(2 * math.pi * 440 * t)).astype(np.float32).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(tone, format="fltp", layout="mono")
            frame.sample_rate, frame.pts = RATE, n
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


if __name__ == "__main__":
    main()
