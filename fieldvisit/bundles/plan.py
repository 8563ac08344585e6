"""Planning a bundle: which ledger entries, which checkpoint, which evidence files and
thumbnails, decided before a byte is sent so that the same evidence always gives the same
bundle: fixed order, and the first checkpoint that covers the evidence (not the newest).

Planning only reads. The checkpoint it cites is signed beforehand by the action
(``actions.bundles``), which asks ``covering_size`` how far it must reach.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.db.models import Max, Q

from fieldvisit.bundles.members import Member, generated
from fieldvisit.evidence.thumbnails import thumbnail
from fieldvisit.ledger import store, timestamps
from fieldvisit.ledger.checkpoints import first_checkpoint_covering
from fieldvisit.media import MediaError
from fieldvisit.models import (
    Case,
    Checkpoint,
    CheckpointTimestamp,
    EvidenceFile,
    LedgerEntry,
    Visit,
)
from fieldvisit.queries.recordings import VisitRecording
from fieldvisit.queries.visits import VisitRecords, cited_records, segment_key, visit_records
from fieldvisit.texts import _, format_lazy

EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/heic": "heic",
    "audio/mp4": "m4a",
    "audio/3gpp": "3gp",
    "audio/aac": "aac",
    "audio/mpeg": "mp3",
    "audio/amr": "amr",
    "audio/amr-wb": "awb",
    "audio/ogg": "ogg",
    "audio/wav": "wav",
    "audio/flac": "flac",
    "audio/webm": "webm",
}


@dataclass(frozen=True)
class Subject:
    """What a bundle is of: one visit, or a case with its visits in time order."""

    kind: str
    subject_id: str
    name: str
    visits: list[Visit]


def of_visit(visit: Visit) -> Subject:
    visit = Visit.objects.select_related("stop__route", "stop__case", "stop__address").get(
        pk=visit.pk
    )
    return Subject("visit", str(visit.pk), f"visit-{visit.pk}", [visit])


def of_case(case: Case) -> Subject:
    return Subject("case", str(case.pk), f"case-{case.number}", list(Visit.of_case(case)))


@dataclass(frozen=True)
class Item:
    """One evidence file of the bundle, as its manifest lists it."""

    path: str
    file: EvidenceFile
    record: dict[str, Any]  # which record it belongs to, to find the entry that records it
    ledger_entry: int | None  # the index of the entry that records it


@dataclass(frozen=True)
class Plan:
    subject: Subject
    checkpoint: Checkpoint
    entries: list[LedgerEntry]
    records: dict[Any, VisitRecords]  # by visit id
    items: list[Item]
    thumbnails: list[tuple[Member, str]]  # (thumbnail, the original's SHA-256)
    stamps: list[CheckpointTimestamp]  # the checkpoint's RFC 3161 tokens, one per authority
    earlier_sizes: set[int]  # checkpoint sizes this bundle proves it extends


def _about(visits: list[Visit]) -> Q:
    """The visits' own entries: each visit's whole chain (``ledger.chains``: its check-ins,
    evidence, reports, reviews, seals and the alerts naming it), and its entries from before
    chains existed. Never the route's: route entries name every stop of the day (other
    debtors' addresses), which a bundle handed to a court must not carry."""
    return Q(chain_visit__in=[str(v.pk) for v in visits]) | Q(
        subject__in=[f"visit:{v.pk}" for v in visits]
    )


def covering_size(subject: Subject, consistent_with: int | None = None) -> int:
    """How many ledger entries the bundle's checkpoint must cover: every entry of its visits,
    and ``consistent_with`` (an older checkpoint's tree size the bundle must prove it
    extends; a larger one makes the bundle cite a checkpoint that big)."""
    if consistent_with is not None and not 1 <= consistent_with <= store.tree_size():
        raise store.LedgerRangeError(
            format_lazy(_("consistent_with must be between 1 and {size}"), size=store.tree_size())
        )
    last = LedgerEntry.objects.filter(_about(subject.visits)).aggregate(last=Max("index"))["last"]
    return max(1 if last is None else last + 1, consistent_with or 0)


def plan(subject: Subject, size: int, consistent_with: int | None = None) -> Plan:
    """The bundle of ``subject`` citing the first checkpoint that covers ``size`` entries
    (``covering_size``), which the caller has made sure exists."""
    checkpoint = first_checkpoint_covering(size)
    if checkpoint is None:
        raise RuntimeError(f"no checkpoint covers {size} entries: sign one before planning")
    entries = list(
        LedgerEntry.objects.filter(_about(subject.visits), index__lt=checkpoint.tree_size).order_by(
            "index"
        )
    )
    records = {visit.pk: visit_records(visit) for visit in subject.visits}
    cited = cited_records((e.index, e.kind, e.entry_bytes) for e in entries)
    items: list[Item] = []
    for number, visit in enumerate(subject.visits, 1):
        items += _visit_items(number, records[visit.pk], cited)
    # Evidence recorded after the checkpoint (or while this bundle was being read) waits for
    # the next bundle: every item must be proven by an entry in this one.
    items = [item for item in items if item.ledger_entry is not None]
    sizes = _earlier_sizes(subject) | ({consistent_with} if consistent_with else set())
    return Plan(
        subject=subject,
        checkpoint=checkpoint,
        entries=entries,
        records=records,
        items=items,
        thumbnails=_thumbnails(items),
        stamps=timestamps.granted_all(checkpoint),
        earlier_sizes=sizes,
    )


def _visit_items(
    number: int, records: VisitRecords, cited: dict[tuple[str, str], int]
) -> list[Item]:
    """One visit's evidence files in a fixed order: photos, receipts, then the recording's
    segments (photos and receipts by capture time, segments by index)."""
    folder = f"evidence/visit-{number:02d}-{records.visit.pk}"
    items = [
        Item(
            path=f"{folder}/photos/{photo.kind}-{photo.pk}.{_ext(photo.file)}",
            file=photo.file,
            record={"type": "photo", "id": str(photo.pk), "kind": photo.kind},
            ledger_entry=cited.get(("photo", str(photo.pk))),
        )
        for photo in records.photos
    ]
    for receipt in records.receipts:
        for role in ("signature", "photo"):
            file = getattr(receipt, role)
            if file is not None:
                items.append(
                    Item(
                        path=f"{folder}/receipts/{receipt.pk}-{role}.{_ext(file)}",
                        file=file,
                        record={"type": "receipt", "id": str(receipt.pk), "part": role},
                        ledger_entry=cited.get(("receipt", str(receipt.pk))),
                    )
                )
    return items + _segment_items(folder, records.recording, cited)


def _segment_items(
    folder: str, recording: VisitRecording, cited: dict[tuple[str, str], int]
) -> list[Item]:
    return [
        Item(
            path=f"{folder}/recording/segment-{segment.index:04d}.{_ext(segment.file)}",
            file=segment.file,
            record={
                "type": "audio_segment",
                "recording": str(recording.id),
                "index": segment.index,
            },
            ledger_entry=cited.get(("segment", segment_key(recording.id, segment.index))),
        )
        for segment in recording.segments
    ]


def _ext(file: EvidenceFile) -> str:
    return EXTENSIONS.get(file.media_type, "bin")


def _thumbnails(items: list[Item]) -> list[tuple[Member, str]]:
    """A JPEG thumbnail per distinct image, as (member, the original's SHA-256): browsers do
    not show HEIC, so ``report.html`` shows these and links the originals. Evidence from
    before ingest made thumbnails gets its own here, once (a cache, not a record)."""
    made: dict[str, Member] = {}
    for item in items:
        file = item.file
        if not file.media_type.startswith("image/") or file.sha256 in made:
            continue
        try:
            made[file.sha256] = generated(f"thumbnails/{file.sha256}.jpg", thumbnail(file.sha256))
        except MediaError:
            continue
    return [(member, sha) for sha, member in sorted(made.items())]


def _earlier_sizes(subject: Subject) -> set[int]:
    """The checkpoint sizes that earlier downloads of the same bundle cited."""
    sizes = set()
    for raw in LedgerEntry.objects.filter(
        kind="bundle.downloaded", subject=f"bundle:{subject.kind}:{subject.subject_id}"
    ).values_list("entry_bytes", flat=True):
        size = json.loads(bytes(raw))["data"].get("checkpoint", {}).get("tree_size")
        if isinstance(size, int):
            sizes.add(size)
    return sizes
