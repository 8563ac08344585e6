"""Photo upload throughput and server memory, through a real server over loopback.

    .venv/bin/python bench/photos.py [--db sqlite|postgres] [--mb 20] [--big-mb 200] [--lone]
        [--runs 5] [--server gunicorn|runserver]

A child process runs the server (``_server.py``): by default gunicorn as production runs it
(``config/gunicorn.py``, one gthread worker, persistent database connections), or Django's
``manage.py runserver`` with ``--server runserver`` (what this bench used before: it opens a
database connection for every request, which production does not); the bench prints which.
This process streams multipart uploads to ``POST /api/v1/visits/{id}/photos/`` with
http.client (never holding the body in memory).
The visit is open (both agents arrived), as it is for nearly every door photo; with
``--lone`` agent A is alone there, and every photo also raises and delivers a lone-agent
alert (the scenario of the first measurements of issue 23).
Baseline, in the same run: ``hashlib.sha256`` over the same file plus writing it to a new
file, which is the least any upload must do; uploads and baselines take turns, so that the
busy moments of a shared machine weigh on both. Prints throughput / baseline (goal >= 0.5), the
same with a baseline that also syncs the file once (evidence is fsynced before its row
commits), what the check of the image costs, and the server's peak memory above idle while it
receives a big photo (goal: flat, < 100 MB).

Which check covers what (``fieldvisit/media/images.py``), in the order they run:

- the leading bytes: the type (GIF, WebP, AVIF, PDF, ... refused before any parsing);
- ``Image.open``: headers Pillow can read (a JPEG signature followed by text is refused);
- the headers' cost: pixels over the limit, a JPEG's scans x pixels, decode memory (bombs);
- a baseline JPEG's structure (every camera JPEG, the photo here): every marker segment
  complete, DQT/DHT as libjpeg checks them, one sequential scan of every component with its
  tables, the entropy-coded data walked to the EOI (stuffing, restart markers in sequence and
  as many as the frame's restart intervals): a JPEG cut anywhere in its data is refused. The
  scan's markers are found in each chunk as it arrives (``JpegMarkers``, on the request's
  thread while a helper thread hashes and writes the chunk), so the walk after the upload
  reads only the headers; the bench times both parts;
- a decode of every pixel, for everything the walk does not prove (progressive JPEGs, any
  JPEG the walk finds odd, every PNG and HEIC); it also makes the thumbnail at ingest. What a
  decode refuses that the walk does not check itself, the walk hands to the decode;
- a HEIC's top-level boxes within the file (libheif paints missing tiles green).

Neither the walk nor a decode sees bit errors inside a JPEG's entropy-coded data: libjpeg
decodes them to wrong pixels with a warning only. The SHA-256 the phone declared covers those.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _django import demo_agent, setup
from _server import SERVERS, Server, photo_multipart

CHUNK = 1024 * 1024
MB = 1024 * 1024


def noise_jpeg(path: Path, target_mb: int) -> None:
    """A camera-sized JPEG of noise (noise does not compress), about ``target_mb`` MB."""
    from PIL import Image

    pixels = int(target_mb * MB / 1.17)  # noise at quality 95: ~1.17 bytes per pixel
    width = int((pixels * 4 / 3) ** 0.5) // 16 * 16
    height = int(width * 3 / 4) // 16 * 16
    image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    image.save(path, "JPEG", quality=95)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def baseline(path: Path, out_dir: Path) -> float:
    """Hash the file and write it to a new file, as an upload must at least do."""
    start = time.perf_counter()
    digest = hashlib.sha256()
    with path.open("rb") as source, (out_dir / uuid.uuid4().hex).open("wb") as target:
        while block := source.read(CHUNK):
            digest.update(block)
            target.write(block)
    return time.perf_counter() - start


def durable_baseline(path: Path, out_dir: Path) -> float:
    """``baseline`` and one fsync of the new file, as evidence is synced before it is recorded."""
    start = time.perf_counter()
    digest = hashlib.sha256()
    with path.open("rb") as source, (out_dir / uuid.uuid4().hex).open("wb") as target:
        while block := source.read(CHUNK):
            digest.update(block)
            target.write(block)
        target.flush()
        os.fsync(target.fileno())
    return time.perf_counter() - start


def fed_markers(blocks: list[bytes]) -> object:
    """The JPEG's markers found chunk by chunk, as the receiving handler finds them."""
    from fieldvisit.media.images import JpegMarkers

    markers = JpegMarkers()
    for block in blocks:
        markers.feed(block)
    return markers


def timed(function: object, *args: object) -> float:
    start = time.perf_counter()
    function(*args)  # type: ignore[operator]
    return time.perf_counter() - start


def upload(port: int, token: str, visit_id: str, path: Path, digest: str) -> tuple[float, int]:
    boundary, head, tail = photo_multipart(digest, "p.jpg", "image/jpeg")
    size = path.stat().st_size
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    start = time.perf_counter()
    connection.putrequest("POST", f"/api/v1/visits/{visit_id}/photos/")
    connection.putheader("Authorization", f"Token {token}")
    connection.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    connection.putheader("Content-Length", str(len(head) + size + len(tail)))
    connection.endheaders()
    connection.send(head)
    with path.open("rb") as f:
        while block := f.read(CHUNK):
            connection.send(block)
    connection.send(tail)
    response = connection.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - start
    if response.status != 201:
        raise RuntimeError(f"upload answered {response.status}: {body[:300]!r}")
    return elapsed, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--database", help="PostgreSQL database (default bench_photos; dropped)")
    parser.add_argument("--mb", type=int, default=20)
    parser.add_argument("--big-mb", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--server", choices=SERVERS, default="gunicorn")
    parser.add_argument("--lone", action="store_true", help="agent A alone at the visit")
    args = parser.parse_args()
    os.environ["THROTTLE_USER"] = "100000000/min"
    os.environ["THROTTLE_WRITE"] = "100000000/min"
    print("database:", setup(args.db, "photos", args.database))

    token, visit_id = demo_agent(at_the_door=not args.lone)
    print("visit:", "agent A alone (a lone-agent alert per photo)" if args.lone else "open")

    work = Path(tempfile.mkdtemp(prefix="bench-photos-"))
    photo, big = work / "photo.jpg", work / "big.jpg"
    noise_jpeg(photo, args.mb)
    digest = sha256_of(photo)
    server = Server(args.server)
    print("server:", server.describe())
    try:
        upload(server.port, token, visit_id, photo, digest)  # warm up: imports, first decode
        # Uploads and baselines take turns, so that a busy moment weighs on both.
        times, bases, durables = [], [], []
        for _ in range(args.runs):
            times.append(upload(server.port, token, visit_id, photo, digest)[0])
            bases.append(baseline(photo, work))
            durables.append(durable_baseline(photo, work))
        size = photo.stat().st_size
        best, base, durable = min(times), min(bases), min(durables)
        print(f"photo: {size / MB:.1f} MB JPEG, best of {args.runs}")
        print(f"  upload through the endpoint: {size / MB / best:8.1f} MB/s ({best:.3f} s)")
        print(f"  baseline sha256 + file write: {size / MB / base:8.1f} MB/s ({base:.3f} s)")
        print(f"  ratio upload / baseline: {base / best:.2f} (goal >= 0.5)")
        print(f"  baseline sha256 + file write + fsync: {size / MB / durable:8.1f} MB/s "
              f"({durable:.3f} s); ratio upload / that: {durable / best:.2f}")  # fmt: skip
        from fieldvisit.media import images

        with photo.open("rb") as f:
            blocks = list(iter(lambda: f.read(CHUNK), b""))
        arriving = min(timed(fed_markers, blocks) for _ in range(args.runs))
        markers = fed_markers(blocks)
        del blocks
        check = min(timed(images.inspect_image, photo, None, markers) for _ in range(args.runs))
        walk = min(timed(images.inspect_image, photo) for _ in range(args.runs))
        decode = min(timed(images.thumbnail_jpeg, photo) for _ in range(args.runs))
        print(f"  proving the image whole: its markers found as the chunks arrive {arriving:.3f} s "
              f"(beside the hashing, on the request's thread), then the JPEG's structure walked "
              f"with them after the upload {check:.3f} s (walked reading the file again: "
              f"{walk:.3f} s); decoding it whole at 1/8 scale, as before (and for its "
              f"thumbnail on first use): {decode:.3f} s")  # fmt: skip

        noise_jpeg(big, args.big_mb)
        big_digest = sha256_of(big)
        idle = server.rss()
        server.reset_peak()
        elapsed, big_size = upload(server.port, token, visit_id, big, big_digest)
        peak = server.peak_rss()
        print(f"big photo: {big_size / MB:.0f} MB in {elapsed:.1f} s")
        print(f"  server RSS idle {idle / MB:.0f} MB, peak {peak / MB:.0f} MB, "
              f"above idle {(peak - idle) / MB:.0f} MB (goal: < 100 MB)")  # fmt: skip
    finally:
        server.stop()


if __name__ == "__main__":
    main()
