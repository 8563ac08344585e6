"""Print, as JSON, what a server's database and evidence storage hold and how they agree.

Run in the server's environment (``DATABASE_URL``, ``STATE_DIR``, ...) by the fault tests:
every stored object cited by a row, every row's bytes stored and intact, every record with its
one ledger entry, the ledger's indexes without a gap.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def walk(storage: Any, directory: str) -> list[str]:
    try:
        dirs, files = storage.listdir(directory)
    except FileNotFoundError:
        return []
    found = [f"{directory}/{name}" for name in files]
    for sub in dirs:
        found += walk(storage, f"{directory}/{sub}")
    return found


def report() -> dict[str, Any]:
    from django.db.models import Q

    from fieldvisit.evidence.storage import STAGING, evidence_storage, key_for
    from fieldvisit.models import (
        AudioSegment,
        EvidenceFile,
        LedgerEntry,
        LedgerHead,
        Photo,
        Receipt,
        Upload,
    )

    storage = evidence_storage()
    rows = {f.sha256: f for f in EvidenceFile.objects.all()}
    cited = (
        set(Photo.objects.values_list("file_id", flat=True))
        | set(AudioSegment.objects.values_list("file_id", flat=True))
        | set(Receipt.objects.exclude(signature=None).values_list("signature_id", flat=True))
        | set(Receipt.objects.exclude(photo=None).values_list("photo_id", flat=True))
    )
    corrupt = []
    for sha256, row in rows.items():
        if storage.exists(key_for(sha256)):
            with storage.open(key_for(sha256), "rb") as f:
                data = f.read()
            if hashlib.sha256(data).hexdigest() != sha256 or len(data) != row.size:
                corrupt.append(sha256)
    final_keys = set(walk(storage, "sha256"))
    entries: dict[str, list[dict[str, Any]]] = {}
    indexes = []
    for index, kind, raw in LedgerEntry.objects.order_by("index").values_list(
        "index", "kind", "entry_bytes"
    ):
        indexes.append(index)
        entries.setdefault(kind, []).append(json.loads(bytes(raw))["data"])
    photo_entries = sorted(e["photo"] for e in entries.get("photo.added", []))
    segment_entries = sorted(e["upload"] for e in entries.get("recording.segment_added", []))
    ledger_files = {
        e["file"]["sha256"]
        for kind in ("photo.added", "recording.segment_added")
        for e in entries.get(kind, [])
    }
    head = LedgerHead.objects.filter(pk=1).first()
    return {
        "evidence_files": sorted(rows),
        "uncited_rows": sorted(set(rows) - cited),
        "rows_missing_bytes": sorted(s for s in rows if key_for(s) not in final_keys),
        "corrupt": corrupt,
        "orphan_objects": sorted(final_keys - {key_for(s) for s in rows}),
        "staging": sorted(walk(storage, STAGING)),
        "photos": sorted(str(pk) for pk in Photo.objects.values_list("pk", flat=True)),
        "photo_entries": photo_entries,
        "segments": sorted(str(pk) for pk in AudioSegment.objects.values_list("pk", flat=True)),
        "segment_entries": segment_entries,
        "ledger_files_without_row": sorted(ledger_files - set(rows)),
        "ledger_size": len(indexes),
        "ledger_gap": indexes != list(range(len(indexes))),
        "ledger_head_size": head.size if head else 0,
        "uploads": {
            str(u.pk): {"status": u.status, "offset": u.offset, "length": u.length}
            for u in Upload.objects.all()
        },
        "uploads_with_lease": sorted(
            str(pk) for pk in Upload.objects.filter(~Q(lease="")).values_list("pk", flat=True)
        ),
    }


def main(argv: list[str]) -> dict[str, Any]:
    """``--sweep`` first runs ``manage.py sweep_evidence --older-than 0``; ``--verify`` then
    ends with ``manage.py verify_ledger --strict`` (one process for all: tests stay quick)."""
    import io

    from django.core.management import CommandError, call_command

    out: dict[str, Any] = {}
    if "--sweep" in argv:
        printed = io.StringIO()
        call_command("sweep_evidence", "--older-than", "0", stdout=printed)
        out["swept"] = json.loads(printed.getvalue())
    out.update(report())
    if "--verify" in argv:
        printed = io.StringIO()
        try:
            call_command("verify_ledger", "--strict", stdout=printed, stderr=printed)
            out["verify_ledger"] = {"exit": 0, "output": printed.getvalue()}
        except CommandError as error:
            out["verify_ledger"] = {"exit": 1, "output": f"{printed.getvalue()}{error}"}
    return out


if __name__ == "__main__":
    import django

    django.setup()
    print(json.dumps(main(sys.argv[1:])))
