"""Bundle throughput and memory for a visit with 1 GB of evidence, run by hand.

    .venv/bin/python bench/bundles.py [--db sqlite|postgres] [--gb 1] [--segments 4]

Builds a visit whose recording is ``--segments`` WAV segments totalling ``--gb`` GB (stored
through the evidence storage like real uploads), then streams its bundle (the ZIP bytes are
counted and dropped, as a network socket would take them). Baseline, in the same run: reading
and SHA-256-hashing the same evidence files. Prints bundle throughput / baseline (goal >= 0.7)
and this process's peak memory above idle while streaming (goal: flat, < 150 MB).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import sys
import tempfile
import time
import uuid
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _django import setup

MB = 1024 * 1024


def status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def make_visit(total: int, segments: int):  # type: ignore[no-untyped-def]
    from django.contrib.auth.models import User
    from django.core.files.base import File
    from django.db import transaction
    from django.utils import timezone

    from fieldvisit.demo import build_world, zone_for
    from fieldvisit.evidence import storage
    from fieldvisit.ledger import store as ledger
    from fieldvisit.models import AudioSegment, EvidenceFile, Recording, Visit

    world = build_world(zone_name=zone_for(dt.datetime.now(dt.UTC)))  # visiting time
    agent = User.objects.get(username=world["users"]["agent_a"]["username"])
    visit = Visit.objects.get(pk=world["stops"][0]["visit_id"])
    recording = Recording.objects.create(
        id=uuid.uuid4(), visit=visit, started_by=agent, created_at=timezone.now()
    )
    size = total // segments
    block = os.urandom(MB)
    prev = ""
    paths = []
    work = Path(tempfile.mkdtemp(prefix="bench-bundles-"))
    for index in range(segments):
        path = work / f"seg{index}.wav"
        digest, crc = hashlib.sha256(), 0
        with path.open("wb") as f:
            for n in range(size // MB):
                chunk = bytes([index, n % 256]) + block[2:]
                f.write(chunk)
                digest.update(chunk)
                crc = zlib.crc32(chunk, crc)
        sha = digest.hexdigest()
        with path.open("rb") as f:
            staged = storage.stage(File(f, name=path.name), sha)
        storage.promote(staged, sha, "audio/wav")
        with transaction.atomic():
            file = EvidenceFile.objects.create(
                sha256=sha, size=path.stat().st_size, crc32=crc, media_type="audio/wav",
                stored_at=timezone.now(),
            )  # fmt: skip
            AudioSegment.objects.create(
                id=uuid.uuid4(), recording=recording, index=index, file=file, prev_sha256=prev,
                started_at=timezone.now() + dt.timedelta(minutes=index), duration_s=60.0,
                format="wav", agent=agent, device_id="bench", received_at=timezone.now(),
            )  # fmt: skip
            ledger.append(
                "recording.segment_added", ledger.actor_for(agent, "bench"), f"visit:{visit.pk}",
                {"recording": recording.id, "segment": index, "file": {"sha256": sha}},
            )  # fmt: skip
        prev = sha
        path.unlink()
        paths.append(sha)
    return visit, paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--gb", type=float, default=1.0)
    parser.add_argument("--segments", type=int, default=4)
    args = parser.parse_args()
    print("database:", setup(args.db, "bundles"))
    from fieldvisit.actions.bundles import prepare
    from fieldvisit.bundles.zipping import zip_chunks
    from fieldvisit.evidence.storage import open_evidence

    visit, hashes = make_visit(int(args.gb * 1024 * MB), args.segments)

    def baseline() -> tuple[float, int]:
        start, total = time.perf_counter(), 0
        for sha in hashes:
            digest = hashlib.sha256()
            with open_evidence(sha) as f:
                while block := f.read(MB):
                    digest.update(block)
                    total += len(block)
        return time.perf_counter() - start, total

    def bundle() -> tuple[float, int]:
        start, total = time.perf_counter(), 0
        for chunk in zip_chunks(prepare(visit)):
            total += len(chunk)  # what a socket would take
        return time.perf_counter() - start, total

    baseline()  # warm the page cache for both sides alike
    idle = status("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")
    bundle_time, zip_size = min(bundle() for _ in range(2))
    peak = status("VmHWM")
    base_time, evidence = min(baseline() for _ in range(2))
    print(f"evidence {evidence / MB:.0f} MB in {len(hashes)} files; bundle {zip_size / MB:.0f} MB")
    print(f"  read + SHA-256 of the files: {evidence / MB / base_time:7.0f} MB/s")
    print(f"  bundle streamed: {zip_size / MB / bundle_time:7.0f} MB/s")
    print(f"  ratio bundle / baseline: {base_time / bundle_time:.2f} (goal >= 0.7)")
    print(f"  memory: RSS idle {idle / MB:.0f} MB, peak {peak / MB:.0f} MB while streaming, "
          f"above idle {(peak - idle) / MB:.0f} MB (goal < 150 MB)")  # fmt: skip


if __name__ == "__main__":
    main()
