"""tus upload throughput (tuspy over loopback) and the server's memory during a 1 GB upload.

    .venv/bin/python bench/uploads.py [--db sqlite|postgres] [--mb 256] [--big-gb 1]

A child process runs ``manage.py runserver``; tuspy, as shipped, uploads WAV segments of one
recording (each chained to the previous) with 1 MB and 8 MB chunks. Baseline, in the same
run: ``hashlib.sha256`` over the same file plus writing it to a new file. Prints throughput /
baseline (goal >= 0.5) and the server's peak memory above idle during a 1 GB upload
(goal: flat).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import struct
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _django import demo_agent, setup
from _server import Server
from photos import MB, baseline, sha256_of


def wav(path: Path, size: int) -> None:
    """A PCM WAV of ``size`` bytes: 16 kHz mono, random-ish audio (not sparse zeros)."""
    data = size - 44
    header = b"RIFF" + struct.pack("<I", 36 + data) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16)
    header += b"data" + struct.pack("<I", data)
    block = os.urandom(MB)
    with path.open("wb") as f:
        f.write(header)
        left = data
        while left:
            f.write(block[: min(MB, left)])
            left -= min(MB, left)


class Recording:
    """Segments of one recording, each naming the previous one's SHA-256."""

    def __init__(self, port: int, token: str, visit_id: str) -> None:
        from tusclient import client

        self.client = client.TusClient(
            f"http://127.0.0.1:{port}/api/v1/uploads/",
            headers={"Authorization": f"Token {token}"},
        )
        self.visit_id = visit_id
        self.id = str(uuid.uuid4())
        self.index = 0
        self.prev = ""
        self.started = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)

    def upload(self, path: Path, chunk: int) -> float:
        digest = sha256_of(path)
        uploader = self.client.uploader(
            file_path=str(path),
            chunk_size=chunk,
            metadata={
                "visit": self.visit_id,
                "recording": self.id,
                "segment": str(self.index),
                "started_at": (self.started + dt.timedelta(minutes=self.index)).isoformat(),
                "sha256": digest,
                "prev_sha256": self.prev,
                "filename": path.name,
                "content_type": "audio/wav",
            },
        )
        start = time.perf_counter()
        uploader.upload()
        elapsed = time.perf_counter() - start
        self.index += 1
        self.prev = digest
        return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--mb", type=int, default=256)
    parser.add_argument("--big-gb", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    os.environ["THROTTLE_USER"] = "100000000/min"
    os.environ["THROTTLE_WRITE"] = "100000000/min"
    print("database:", setup(args.db, "uploads"))

    token, visit_id = demo_agent()

    work = Path(tempfile.mkdtemp(prefix="bench-uploads-"))
    segment, big = work / "segment.wav", work / "big.wav"
    wav(segment, args.mb * MB)
    server = Server()
    try:
        recording = Recording(server.port, token, visit_id)
        recording.upload(segment, 8 * MB)  # warm up
        base = min(baseline(segment, work) for _ in range(args.runs))
        size = segment.stat().st_size
        print(f"segment: {size / MB:.0f} MB WAV; baseline sha256 + file write "
              f"{size / MB / base:.0f} MB/s")  # fmt: skip
        for chunk in (1 * MB, 8 * MB):
            best = min(recording.upload(segment, chunk) for _ in range(args.runs))
            print(f"  tuspy, {chunk // MB} MB chunks: {size / MB / best:6.0f} MB/s, "
                  f"ratio {base / best:.2f} (goal >= 0.5)")  # fmt: skip

        wav(big, int(args.big_gb * 1024 * MB))
        idle = server.rss()
        server.reset_peak()
        elapsed = recording.upload(big, 8 * MB)
        peak = server.peak_rss()
        print(f"big segment: {big.stat().st_size / MB:.0f} MB in {elapsed:.1f} s; server RSS "
              f"idle {idle / MB:.0f} MB, peak {peak / MB:.0f} MB, above idle "
              f"{(peak - idle) / MB:.0f} MB (goal: flat)")  # fmt: skip
    finally:
        server.stop()


if __name__ == "__main__":
    main()
