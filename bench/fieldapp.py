"""The field app's phone-side costs, in Debian's Chromium against a real server.

    .venv/bin/python bench/fieldapp.py [--photo-mb 20] [--minutes 30] [--up-kbps 1000]
                                       [--segment-s 60] [--skip-backlog]

1. Hashing on the phone: the app's own ``hashing.js`` (hash-wasm, in 4 MB slices) over a
   20 MB camera-sized JPEG and over a 60 s segment that Chromium's MediaRecorder made with the
   app's settings, each timed in the page (best of 5); baseline in the same run: ``sha256sum``
   of the same bytes (best of 5). Prints phone throughput / sha256sum throughput, and checks
   both give the same hash.
2. Upload backlog on a slow network: agent A signs in to the app, taps "Record on this
   phone" on the first stop and records for ``--minutes`` with the upload throttled to
   ``--up-kbps`` (Chrome DevTools Protocol network emulation, 40 ms latency). Every 10 s the
   phone's own backlog (segments and bytes waiting in its outbox) is sampled. Then the
   throttle is lifted, the recording stopped, and the time until the backlog is empty is
   measured. Prints the recording's bitrate / the link's capacity (the backlog can only stay
   bounded below 1), the largest backlog seen and the drain time, and checks the server holds
   every segment the phone recorded, chained and continuous.

The server is ``manage.py runserver`` in a child process on a fresh SQLite database with a new
demo world; Chromium is started with a fake microphone.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _django import setup
from _server import Server

MB = 1024 * 1024
LAUNCH_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
]  # fmt: skip

HASH_IN_PAGE = """async ({url, runs}) => {
  const {sha256Hex} = await import("/static/fieldvisit/app/hashing.js");
  const blob = await (await fetch(url)).blob();
  let best = Infinity, hex = "";
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    hex = await sha256Hex(blob);
    best = Math.min(best, performance.now() - t0);
  }
  return {hex, ms: best, size: blob.size};
}"""

RECORD_SEGMENT = """async (seconds) => {
  const {pickMimeType} = await import("/static/fieldvisit/app/chain.js");
  const stream = await navigator.mediaDevices.getUserMedia({audio: true});
  const mimeType = pickMimeType((t) => MediaRecorder.isTypeSupported(t));
  const recorder = new MediaRecorder(stream, {mimeType, audioBitsPerSecond: 32000});
  const parts = [];
  recorder.ondataavailable = (e) => parts.push(e.data);
  const stopped = new Promise((ok) => { recorder.onstop = ok; });
  recorder.start(1000);
  await new Promise((ok) => setTimeout(ok, seconds * 1000));
  recorder.stop();
  await stopped;
  const blob = new Blob(parts, {type: mimeType});
  const bytes = new Uint8Array(await blob.arrayBuffer());
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return {mimeType, b64: btoa(text)};
}"""

OUTBOX = """async () => {
  const request = (r) => new Promise((ok, ko) => { r.onsuccess = () => ok(r.result);
    r.onerror = () => ko(r.error); });
  const db = await request(indexedDB.open("fieldapp"));
  try {
    const items = await request(db.transaction("outbox").objectStore("outbox").getAll());
    const segments = items.filter((i) => i.kind === "segment");
    return {count: segments.length, bytes: segments.reduce((s, i) => s + (i.size || 0), 0)};
  } finally { db.close(); }
}"""


def chromium() -> str:
    for name in (os.environ.get("CHROMIUM", ""), "/usr/bin/chromium", "chromium"):
        if name and shutil.which(name):
            return shutil.which(name) or name
    sys.exit("No Chromium: apt-get install chromium (or set CHROMIUM).")


def best_sha256sum(path: Path, runs: int = 5) -> tuple[str, float]:
    best, hex_ = float("inf"), ""
    for _ in range(runs):
        start = time.perf_counter()
        out = subprocess.run(["sha256sum", str(path)], capture_output=True, text=True, check=True)
        best = min(best, time.perf_counter() - start)
        hex_ = out.stdout.split()[0]
    return hex_, best


def best_hashlib(path: Path, runs: int = 5) -> float:
    data = path.read_bytes()
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        hashlib.sha256(data).hexdigest()
        best = min(best, time.perf_counter() - start)
    return best


def compare(label: str, path: Path, page: Any, url: str) -> None:
    native_hex, native_s = best_sha256sum(path)
    in_process_s = best_hashlib(path)
    phone = page.evaluate(HASH_IN_PAGE, {"url": url, "runs": 5})
    size_mb = path.stat().st_size / MB
    assert phone["hex"] == native_hex, (phone["hex"], native_hex)
    phone_s = phone["ms"] / 1000
    print(
        f"{label}: {size_mb:.2f} MB  phone (hash-wasm) {phone_s * 1000:.1f} ms "
        f"= {size_mb / phone_s:.0f} MB/s  |  sha256sum {native_s * 1000:.1f} ms "
        f"= {size_mb / native_s:.0f} MB/s  |  ratio phone/sha256sum {native_s / phone_s:.2f}"
        f"  (hashlib in process, no process start: {in_process_s * 1000:.1f} ms, ratio "
        f"{in_process_s / phone_s:.2f})"
    )


def hashing(page: Any, server_url: str, work: Path, photo_mb: int, segment_s: int) -> None:
    from photos import noise_jpeg

    photo = work / "photo.jpg"
    noise_jpeg(photo, photo_mb)
    page.route("**/bench/photo.jpg", lambda route: route.fulfill(path=str(photo)))
    compare("photo", photo, page, f"{server_url}/bench/photo.jpg")
    print(f"recording a {segment_s} s segment in Chromium (fake microphone) ...", flush=True)
    recorded = page.evaluate(RECORD_SEGMENT, segment_s)
    segment = work / "segment.webm"
    segment.write_bytes(base64.b64decode(recorded["b64"]))
    page.route("**/bench/segment.webm", lambda route: route.fulfill(path=str(segment)))
    compare(f"segment ({recorded['mimeType']}, {segment_s} s)", segment, page,
            f"{server_url}/bench/segment.webm")  # fmt: skip


def backlog(
    page: Any, context: Any, stop: dict[str, Any], minutes: float, up_kbps: int
) -> dict[str, Any]:
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    throttled = {"offline": False, "latency": 40, "downloadThroughput": -1,
                 "uploadThroughput": up_kbps * 1000 / 8}  # fmt: skip
    cdp.send("Network.emulateNetworkConditions", throttled)
    page.goto(f"/app/#/visit/{stop['id']}")
    page.wait_for_selector("#fa-rec-start")
    page.click("#fa-rec-start")
    page.wait_for_selector("#fa-rec-state[data-recording=live]")
    started = time.monotonic()
    samples = []
    print(f"recording {minutes} min with the upload at {up_kbps} kbit/s ...", flush=True)
    while time.monotonic() - started < minutes * 60:
        time.sleep(10)
        waiting = page.evaluate(OUTBOX)
        samples.append((time.monotonic() - started, waiting["count"], waiting["bytes"]))
        if len(samples) % 18 == 0:
            print(f"  {samples[-1][0] / 60:5.1f} min: {waiting['count']} segments, "
                  f"{waiting['bytes'] / 1000:.0f} KB waiting", flush=True)  # fmt: skip
    cdp.send("Network.emulateNetworkConditions", {**throttled, "uploadThroughput": -1})
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#fa-rec-stop")
    page.wait_for_selector("#fa-rec-state[data-recording=off]")
    recorded = int(page.get_attribute("#fa-rec-state", "data-segments"))
    lifted = time.monotonic()
    page.wait_for_selector("#fa-rec-backlog[data-count='0']", timeout=600_000)
    drain_s = time.monotonic() - lifted
    return {"recorded": recorded, "samples": samples, "drain_s": drain_s,
            "elapsed": lifted - started, "up_kbps": up_kbps}  # fmt: skip


def report_backlog(stop: dict[str, Any], run: dict[str, Any]) -> None:
    """What the server holds after the run (read outside Playwright's event loop)."""
    from fieldvisit.models import AudioSegment, EvidenceFile, Visit
    from fieldvisit.queries.recordings import visit_recording

    on_server = AudioSegment.objects.filter(recording__visit_id=stop["visit_id"])
    total = sum(EvidenceFile.objects.filter(segments__in=on_server).values_list("size", flat=True))
    elapsed, samples, up_kbps = run["elapsed"], run["samples"], run["up_kbps"]
    bitrate = total * 8 / elapsed / 1000
    largest = max(samples, key=lambda s: s[2]) if samples else (0, 0, 0)
    half = [s for s in samples if s[0] >= elapsed / 2]
    print(
        f"recording: {run['recorded']} segments, {total / 1000:.0f} KB in {elapsed / 60:.1f} min"
        f" = {bitrate:.1f} kbit/s  |  link {up_kbps} kbit/s  |  ratio bitrate/link "
        f"{bitrate / up_kbps:.3f}"
    )
    print(
        f"backlog: largest {largest[1]} segments / {largest[2] / 1000:.0f} KB (at "
        f"{largest[0] / 60:.1f} min); second half's largest "
        f"{max((s[1] for s in half), default=0)} segments  |  drained in {run['drain_s']:.1f} s "
        f"after the throttle was lifted"
    )
    indexes = list(on_server.order_by("index").values_list("index", flat=True))
    assert indexes == list(range(run["recorded"])), (indexes, run["recorded"])
    verdict = visit_recording(Visit.objects.get(pk=stop["visit_id"])).verdict
    print(f"server: {len(indexes)} segments, chained, continuous={verdict.continuous}, "
          f"gaps={[(g.after_index, g.seconds) for g in verdict.gaps]}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photo-mb", type=int, default=20)
    parser.add_argument("--segment-s", type=int, default=60)
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--up-kbps", type=int, default=1000)
    parser.add_argument("--skip-backlog", action="store_true")
    parser.add_argument("--skip-hashing", action="store_true")
    args = parser.parse_args()
    print("database:", setup("sqlite", "fieldapp"))
    os.environ["FIELDAPP_SEGMENT_SECONDS"] = str(args.segment_s)
    from fieldvisit.demo import build_world, zone_for

    world = build_world(zone_name=zone_for(datetime.datetime.now(datetime.UTC)))  # visiting time
    agent = world["users"]["agent_a"]
    stop = world["stops"][0]
    server = Server()
    try:
        run = measure(server, args, agent, stop)
    finally:
        server.stop()
    if run is not None:
        report_backlog(stop, run)
    print(json.dumps({"done": True}))


def measure(server: Server, args: Any, agent: dict[str, str], stop: dict[str, Any]) -> Any:
    """The browser's part: sign in, hash, record; the run's figures for ``report_backlog``."""
    base = server.url.removesuffix("/api/v1")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium(), args=LAUNCH_ARGS)
        context = browser.new_context(
            base_url=base, viewport={"width": 360, "height": 640}, is_mobile=True,
            has_touch=True, permissions=["geolocation", "microphone"],
            geolocation={"latitude": stop["lat"], "longitude": stop["lon"]},
        )  # fmt: skip
        page = context.new_page()
        page.goto("/app/")
        page.fill("#fa-username", agent["username"])
        page.fill("#fa-password", agent["password"])
        page.click("#fa-signin-submit")
        page.wait_for_selector("#fa-stops li.stop")
        if not args.skip_hashing:
            hashing(page, base, Path(tmp), args.photo_mb, args.segment_s)
        run = (
            None if args.skip_backlog else backlog(page, context, stop, args.minutes, args.up_kbps)
        )
        browser.close()
    return run


if __name__ == "__main__":
    main()
