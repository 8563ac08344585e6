"""Decode bombs through a real server: how long each takes, the server's memory, and how long a
small photo sent meanwhile waits.

    .venv/bin/python bench/bombs.py [--db sqlite|postgres]

A child process runs ``manage.py runserver`` (threaded); this process uploads, as photos,
a progressive greyscale JPEG of 15000 x 15000 pixels made of 150 empty scans (46 KB) and an
all-zero RGBA PNG of 15800 x 15800 pixels (0.97 MB), both built by ``tests/bombs.py``,
then the largest PNG still accepted (8192 x 8192 zeros, 0.26 MB).
For each: the answer and its time, the server's peak RSS above idle, and the latency of a
1 KB photo sent 0.3 s after the bomb (baseline: the same photo with nothing else running).
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import io
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _django import demo_agent, setup
from _server import Server, photo_multipart

MB = 1024 * 1024


def upload(port: int, token: str, visit_id: str, data: bytes) -> tuple[float, int, bytes]:
    boundary, head, tail = photo_multipart(
        hashlib.sha256(data).hexdigest(), "p", "application/octet-stream"
    )
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    start = time.perf_counter()
    connection.request(
        "POST",
        f"/api/v1/visits/{visit_id}/photos/",
        head + data + tail,
        {
            "Authorization": f"Token {token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    response = connection.getresponse()
    answer = response.read()
    return time.perf_counter() - start, response.status, answer


def small_photo() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.frombytes("RGB", (16, 16), os.urandom(16 * 16 * 3)).save(out, "JPEG", quality=70)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    os.environ["THROTTLE_USER"] = "100000000/min"
    os.environ["THROTTLE_WRITE"] = "100000000/min"
    print("database:", setup(args.db, "bombs"))
    token, visit_id = demo_agent()

    from tests.bombs import progressive_jpeg_bomb, zero_png_bomb

    work = Path(tempfile.mkdtemp(prefix="bench-bombs-"))
    bombs = {
        "progressive JPEG 15000x15000, 150 scans": progressive_jpeg_bomb(),
        "all-zero RGBA PNG 15800x15800": zero_png_bomb(work / "zero.png").read_bytes(),
        # The largest PNG still accepted (MAX_PNG_PIXELS): a slow decode that must not hold
        # up the small photo.
        "all-zero RGBA PNG 8192x8192 (accepted)": zero_png_bomb(
            work / "limit.png", 8192, rows_per_block=128
        ).read_bytes(),
    }
    server = Server()
    try:
        upload(server.port, token, visit_id, small_photo())  # warm up: imports, first decode
        alone = min(upload(server.port, token, visit_id, small_photo())[0] for _ in range(3))
        print(f"small photo ({len(small_photo())} bytes) alone: {alone * 1000:.0f} ms")
        for name, data in bombs.items():
            idle = server.rss()
            server.reset_peak()
            result: list[tuple[float, int, bytes]] = []
            thread = threading.Thread(
                target=lambda d=data, r=result: r.append(upload(server.port, token, visit_id, d))
            )
            thread.start()
            time.sleep(0.3)
            small_elapsed, small_status, _ = upload(server.port, token, visit_id, small_photo())
            thread.join()
            ((elapsed, status, answer),) = result
            peak = server.peak_rss()
            code = (
                answer.split(b'"code":', 1)[1][:20].decode(errors="replace")
                if status >= 400
                else ""
            )
            print(f"{name} ({len(data) / 1024:.0f} KB): {status} {code} in {elapsed:.2f} s")
            print(f"  server RSS idle {idle / MB:.0f} MB, "
                  f"peak above idle {(peak - idle) / MB:.0f} MB")  # fmt: skip
            print(f"  small photo sent 0.3 s later: {small_status} "
                  f"in {small_elapsed * 1000:.0f} ms")  # fmt: skip
    finally:
        server.stop()


if __name__ == "__main__":
    main()
