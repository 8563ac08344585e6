"""tus upload throughput (tuspy over loopback) and the server's memory during a 1 GB upload.

    .venv/bin/python bench/uploads.py [--db sqlite|postgres] [--mb 256] [--big-gb 1]
        [--server gunicorn|runserver]

A child process runs the server (``_server.py``): by default gunicorn as production runs it
(``config/gunicorn.py``, one gthread worker, persistent database connections), or Django's
``manage.py runserver`` with ``--server runserver`` (what this bench used before: it opens and
closes a database connection for every request, which production does not); the bench
prints which. tuspy, as shipped, uploads WAV segments of one
recording (each chained to the previous) with 1 MB and 8 MB chunks. Baseline, in the same
run: ``hashlib.sha256`` over the same file plus writing it to a new file with one ``fsync``
per MB, the durability the server owes each chunk (it syncs every PATCH before answering
its offset); the baseline without the syncs is printed too. Prints throughput / baseline
(goal >= 0.5 for 1 MB chunks); the same for 1 MB chunks sent on one kept connection, as the
field app's tus-js-client sends them (tuspy opens a new connection and a new ``requests``
session for every PATCH); what one 1 MB PATCH costs beyond the baseline's MB, and the
parts of the PATCH, measured by sending lighter requests the same way tuspy does (a new
connection each), so that they add up to tuspy's PATCH:

- ``OPTIONS``: connection, HTTP server, Django and DRF, no database;
- ``HEAD`` minus that: the token and the upload read (under runserver, with the database
  connection each request opens and closes);
- an empty ``PATCH`` minus ``HEAD``: the uploader check, the lease taken and given back, the
  writer lock and the partial file opened;
- a 1 MB ``PATCH`` minus the empty one, next to the baseline's MB: the body over loopback,
  SHA-256 and CRC-32, the write and the sync (the last block hashed while it syncs);
- tuspy's PATCH minus ours: the client's own work (reading the chunk, ``requests``).

Then the server's peak memory above idle during a 1 GB upload (goal: flat; ``--big-gb 0``
leaves it out).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import http.client
import os
import statistics
import struct
import sys
import tempfile
import time
import urllib.parse
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _django import demo_agent, setup
from _server import SERVERS, Server
from photos import CHUNK, MB, baseline, sha256_of

OFFSET_STREAM = "application/offset+octet-stream"


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


def durable_baseline(path: Path, out_dir: Path) -> float:
    """Hash the file and write it to a new file, syncing each MB as the server syncs each
    1 MB PATCH before acknowledging it."""
    start = time.perf_counter()
    digest = hashlib.sha256()
    with path.open("rb") as source, (out_dir / uuid.uuid4().hex).open("wb") as target:
        while block := source.read(CHUNK):
            digest.update(block)
            target.write(block)
            target.flush()
            os.fsync(target.fileno())
    return time.perf_counter() - start


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

    def metadata(self, path: Path, digest: str) -> dict[str, str]:
        return {
            "visit": self.visit_id,
            "recording": self.id,
            "segment": str(self.index),
            "started_at": (self.started + dt.timedelta(minutes=self.index)).isoformat(),
            "sha256": digest,
            "prev_sha256": self.prev,
            "filename": path.name,
            "content_type": "audio/wav",
        }

    def upload(self, path: Path, chunk: int, kept_alive: bool = False) -> float:
        """Seconds to upload ``path`` as the next segment with tuspy; ``kept_alive``: created
        with tuspy, then every PATCH on one ``http.client`` connection, as tus-js-client in
        the field app (the browser's connection pool) and phones' HTTP stacks send them."""
        digest = sha256_of(path)
        uploader = self.client.uploader(
            file_path=str(path), chunk_size=chunk, metadata=self.metadata(path, digest)
        )
        start = time.perf_counter()
        if kept_alive:
            self._patch_on_one_connection(uploader.create_url(), path, chunk)
        else:
            uploader.upload()
        elapsed = time.perf_counter() - start
        self.index += 1
        self.prev = digest
        return elapsed

    def _patch_on_one_connection(self, url: str, path: Path, chunk: int) -> None:
        location = urllib.parse.urlsplit(url)
        connection = http.client.HTTPConnection(location.hostname, location.port)
        headers = {**self.client.headers, "Tus-Resumable": "1.0.0", "Content-Type": OFFSET_STREAM}
        offset = 0
        with path.open("rb") as f, contextlib.closing(connection):
            while block := f.read(chunk):
                headers["Upload-Offset"] = str(offset)
                connection.request("PATCH", location.path, body=block, headers=headers)
                response = connection.getresponse()
                response.read()
                assert response.status == 204, response.status
                offset += len(block)


def patch_parts(recording: Recording, token: str, path: Path, rounds: int) -> dict[str, float]:
    """Median seconds of OPTIONS, HEAD, an empty PATCH and a 1 MB PATCH on an upload of
    ``path``, each sent with ``requests`` and a new connection, as tuspy sends its PATCHes,
    taking turns."""
    import requests

    url = recording.client.url
    tus = {"Tus-Resumable": "1.0.0"}
    auth = {**tus, "Authorization": f"Token {token}"}
    uploader = recording.client.uploader(
        file_path=str(path), chunk_size=MB, metadata=recording.metadata(path, sha256_of(path))
    )
    upload_url = uploader.create_url()
    with path.open("rb") as f:
        chunks = [f.read(MB) for _ in range(rounds)]
    offset = 0

    def options() -> None:
        assert requests.options(url, headers=tus, timeout=60).status_code == 204

    def head() -> None:
        assert requests.head(upload_url, headers=auth, timeout=60).status_code == 200

    def empty() -> None:
        headers = {**auth, "Upload-Offset": str(offset), "Content-Type": OFFSET_STREAM}
        assert requests.patch(upload_url, data=b"", headers=headers, timeout=60).status_code == 204

    def full(chunk: bytes) -> None:
        nonlocal offset
        headers = {**auth, "Upload-Offset": str(offset), "Content-Type": OFFSET_STREAM}
        response = requests.patch(upload_url, data=chunk, headers=headers, timeout=60)
        assert response.status_code == 204, response.content
        offset += len(chunk)

    # One of each per round, so that a busy moment weighs on every kind alike.
    times: dict[str, list[float]] = {"options": [], "head": [], "empty": [], "full": []}
    for chunk in chunks:
        for name, send in (("options", options), ("head", head), ("empty", empty)):
            start = time.perf_counter()
            send()
            times[name].append(time.perf_counter() - start)
        start = time.perf_counter()
        full(chunk)
        times["full"].append(time.perf_counter() - start)
    parts = {name: statistics.median(values) for name, values in times.items()}
    requests.delete(upload_url, headers=auth, timeout=60)
    return parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--database", help="PostgreSQL database (default bench_uploads; dropped)")
    parser.add_argument("--mb", type=int, default=256)
    parser.add_argument("--big-gb", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--server", choices=SERVERS, default="gunicorn")
    args = parser.parse_args()
    os.environ["THROTTLE_USER"] = "100000000/min"
    os.environ["THROTTLE_WRITE"] = "100000000/min"
    print("database:", setup(args.db, "uploads", args.database))

    token, visit_id = demo_agent()

    work = Path(tempfile.mkdtemp(prefix="bench-uploads-"))
    segment, big = work / "segment.wav", work / "big.wav"
    wav(segment, args.mb * MB)
    server = Server(args.server)
    print("server:", server.describe())
    try:
        recording = Recording(server.port, token, visit_id)
        recording.upload(segment, 8 * MB)  # warm up
        # Baselines and uploads take turns, so that the disk's busy moments weigh on both.
        runs: dict[str, list[float]] = {"plain": [], "base": [], "1": [], "8": [], "kept": []}
        for _ in range(args.runs):
            runs["plain"].append(baseline(segment, work))
            runs["base"].append(durable_baseline(segment, work))
            for chunk in (1, 8):
                runs[str(chunk)].append(recording.upload(segment, chunk * MB))
            runs["kept"].append(recording.upload(segment, MB, kept_alive=True))
        plain, base = min(runs["plain"]), min(runs["base"])
        size = segment.stat().st_size
        print(f"segment: {size / MB:.0f} MB WAV; baseline sha256 + file write + fsync per MB "
              f"{size / MB / base:.0f} MB/s ({base / size * MB * 1000:.2f} ms per MB); "
              f"without the fsyncs {size / MB / plain:.0f} MB/s; best of {args.runs}")  # fmt: skip
        per_patch = min(runs["1"]) / (size / MB)
        for chunk in (1, 8):
            best = min(runs[str(chunk)])
            print(f"  tuspy, {chunk} MB chunks: {size / MB / best:6.0f} MB/s, "
                  f"ratio {base / best:.2f} (goal >= 0.5)")  # fmt: skip
        kept = min(runs["kept"])
        print(f"  1 MB chunks on one kept connection (as the field app's tus-js-client): "
              f"{size / MB / kept:.0f} MB/s, ratio {base / kept:.2f}; one PATCH "
              f"{kept / (size / MB) * 1000:.2f} ms")  # fmt: skip

        parts = patch_parts(recording, token, segment, rounds=min(64, args.mb))
        base_mb = base / size * MB
        ms = 1000
        data_mb = parts["full"] - parts["empty"]
        rows = [
            ("connection, HTTP server, Django, DRF (OPTIONS)", parts["options"]),
            (
                "token and upload read, DB connection (HEAD - OPTIONS)",
                parts["head"] - parts["options"],
            ),
            (
                "uploader check, lease, lock, file (empty PATCH - HEAD)",
                parts["empty"] - parts["head"],
            ),
            ("1 MB sent, hashed, written, synced (1 MB PATCH - empty)", data_mb),
            ("tuspy's own work (its PATCH - ours)", per_patch - parts["full"]),
        ]
        print(
            f"one 1 MB PATCH (tuspy): {per_patch * ms:.2f} ms; the baseline's MB "
            f"{base_mb * ms:.2f} ms; overhead {(per_patch - base_mb) * ms:.2f} ms. Its parts:"
        )
        for name, seconds in rows:
            print(f"  {name:<56} {seconds * ms:6.2f} ms")
        print(
            f"  (the fixed parts, all but the MB itself: {(per_patch - data_mb) * ms:.2f} ms; "
            f"the MB itself {data_mb * ms:.2f} ms against the baseline's {base_mb * ms:.2f} ms)"
        )

        if not args.big_gb:
            return
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
