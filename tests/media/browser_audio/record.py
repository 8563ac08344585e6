"""Record the browser audio fixtures beside this file with Debian's Chromium.

    .venv/bin/python tests/media/browser_audio/record.py [--seconds-long 60 --out DIR]

Chromium runs headless with its fake microphone (``--use-fake-device-for-media-stream``,
a 1 kHz beep each second) and records with ``MediaRecorder`` exactly as the field app does:
one recorder per segment, stopped and replaced by a new one on the same stream, so each
segment is a self-contained file with its own header. ``recordings.json`` keeps, for each
file, the MIME type the recorder reported, the wall-clock time of its ``start`` event (the
segment's ``started_at``) and the milliseconds between its ``start`` and ``stop`` events.

With ``--seconds-long N`` it records single N-second segments into ``--out`` instead (WebM/Opus
finished and live, MP4 where offered): the benchmark's input, too big to commit.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]

# Runs in the page: records `plan` (a list of {ms, pause_ms}) as consecutive segments, one
# MediaRecorder each, on one getUserMedia stream; resolves to [{b64, type, started_at, ms}].
RECORD_JS = """
async ([mime, plan, constraints]) => {
  const stream = await navigator.mediaDevices.getUserMedia(constraints);
  const out = [];
  const toB64 = async (blob) => {
    const bytes = new Uint8Array(await blob.arrayBuffer());
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) {
      s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(s);
  };
  for (const step of plan) {
    const rec = new MediaRecorder(stream, mime ? {mimeType: mime} : {});
    const chunks = [];
    rec.ondataavailable = (e) => { if (e.data.size) chunks.push(e.data); };
    const started = new Promise((r) => { rec.onstart = () => r(Date.now()); });
    const stopped = new Promise((r) => { rec.onstop = () => r(Date.now()); });
    rec.start(step.timeslice || undefined);
    const startedAt = await started;
    await new Promise((r) => setTimeout(r, step.ms));
    rec.stop();
    const stoppedAt = await stopped;
    const blob = new Blob(chunks, {type: rec.mimeType});
    out.push({b64: await toB64(blob), type: rec.mimeType, started_at: startedAt,
              ms: stoppedAt - startedAt});
    if (step.pause_ms) await new Promise((r) => setTimeout(r, step.pause_ms));
  }
  stream.getTracks().forEach((t) => t.stop());
  return out;
}
"""

AUDIO = {"audio": True}
VIDEO = {"video": True}
BOTH = {"audio": True, "video": True}


def chromium() -> str:
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def record(
    page: Any, mime: str, plan: list[dict[str, int]], constraints: dict[str, bool]
) -> list[dict[str, Any]]:
    return page.evaluate(RECORD_JS, [mime, plan, constraints])


def save(out: Path, name: str, take: dict[str, Any], log: dict[str, Any]) -> None:
    (out / name).write_bytes(base64.b64decode(take["b64"]))
    log[name] = {
        "mime": take["type"],
        "started_at_ms": take["started_at"],
        "recorded_ms": take["ms"],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds-long", type=int, default=0)
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    from playwright.sync_api import sync_playwright

    log: dict[str, Any] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), headless=True, args=ARGS)
        page = browser.new_page()
        # getUserMedia needs a secure context: a page of http://localhost (served here).
        page.route("http://localhost/", lambda route: route.fulfill(body="<title>rec</title>"))
        page.goto("http://localhost/")
        page.set_default_timeout(0)
        log["_browser"] = page.evaluate("navigator.userAgent")
        mp4 = page.evaluate("MediaRecorder.isTypeSupported('audio/mp4')")
        aac = page.evaluate("MediaRecorder.isTypeSupported('audio/mp4;codecs=mp4a.40.2')")
        log["_mp4_supported"] = {"audio/mp4": mp4, "audio/mp4;codecs=mp4a.40.2": aac}

        if args.seconds_long:
            ms = args.seconds_long * 1000
            (take,) = record(page, "audio/webm;codecs=opus", [{"ms": ms}], AUDIO)
            save(args.out, f"chrome_opus_{args.seconds_long}s.webm", take, log)
            live = [{"ms": ms, "timeslice": 1000}]
            (take,) = record(page, "audio/webm;codecs=opus", live, AUDIO)
            save(args.out, f"chrome_opus_{args.seconds_long}s_timeslice.webm", take, log)
            if mp4:
                (take,) = record(page, "audio/mp4", [{"ms": ms}], AUDIO)
                save(args.out, f"chrome_mp4_{args.seconds_long}s.mp4", take, log)
        else:
            # Three back-to-back 2-second segments, then three with a 3-second pause
            # before the third: what the field app uploads, continuous and not.
            plan = [{"ms": 2000}, {"ms": 2000}, {"ms": 2000}]
            for i, take in enumerate(record(page, "audio/webm;codecs=opus", plan, AUDIO)):
                save(args.out, f"chrome_opus_seg{i}.webm", take, log)
            plan = [{"ms": 2000}, {"ms": 2000, "pause_ms": 3000}, {"ms": 2000}]
            for i, take in enumerate(record(page, "audio/webm;codecs=opus", plan, AUDIO)):
                save(args.out, f"chrome_opus_gap_seg{i}.webm", take, log)
            # The recorder asked for data every second: the same file, more clusters.
            (take,) = record(
                page, "audio/webm;codecs=opus", [{"ms": 3000, "timeslice": 1000}], AUDIO
            )
            save(args.out, "chrome_opus_timeslice.webm", take, log)
            if mp4:
                plan = [{"ms": 2000}, {"ms": 2000}, {"ms": 2000}]
                for i, take in enumerate(record(page, "audio/mp4", plan, AUDIO)):
                    save(args.out, f"chrome_mp4_seg{i}.mp4", take, log)
            # Hostile for an audio recording: a camera recording, with and without sound.
            (take,) = record(page, "video/webm;codecs=vp8,opus", [{"ms": 1000}], BOTH)
            save(args.out, "chrome_video_vp8_opus.webm", take, log)
            (take,) = record(page, "video/webm;codecs=vp8", [{"ms": 1000}], VIDEO)
            save(args.out, "chrome_video_only.webm", take, log)
            if mp4:
                (take,) = record(page, "video/mp4", [{"ms": 1000}], BOTH)
                save(args.out, "chrome_video.mp4", take, log)
        browser.close()

    name = "recordings-long.json" if args.seconds_long else "recordings.json"
    (args.out / name).write_text(json.dumps(log, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
