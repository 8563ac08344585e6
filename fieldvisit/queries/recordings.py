"""A visit's recording as the phone, the supervisor and the court see it: its segments and
whether they make one continuous recording covering the visit (DESIGN rule 6)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from fieldvisit.models import AudioSegment, EvidenceFile, Recording, Visit
from fieldvisit.queries import evidence
from fieldvisit.rules import recording as rules
from fieldvisit.rules.lateness import LATE_SUBMISSION


@dataclass(frozen=True)
class SegmentEntry:
    id: uuid.UUID
    index: int
    file: EvidenceFile
    started_at: dt.datetime
    duration_s: float
    format: str
    received_at: dt.datetime
    flags: tuple[str, ...]
    late_by_s: float | None

    @property
    def sha256(self) -> str:
        return self.file.sha256

    @property
    def size(self) -> int:
        return self.file.size


@dataclass(frozen=True)
class VisitRecording:
    """``GET /visits/{id}/recording/``: the segments and the rule's verdict on them."""

    id: uuid.UUID | None  # None: no segment uploaded yet
    segments: tuple[SegmentEntry, ...]
    verdict: rules.RecordingVerdict


def as_rule_segment(segment: AudioSegment) -> rules.Segment:
    return rules.Segment(
        index=segment.index,
        started_at=segment.started_at,
        duration_s=segment.duration_s,
        sha256=segment.file_id,
        prev_sha256=segment.prev_sha256,
    )


def visit_bounds(visit: Visit) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The first arrival and the last leave at the visit's stop."""
    return evidence.visit_bounds(visit.pk)


def segment_flags(segment: AudioSegment) -> tuple[str, ...]:
    """A segment's flags: ``late_submission`` when it was held back past the visit's close
    (its lateness, ``late_by_s``, is what is stored)."""
    return (LATE_SUBMISSION,) if segment.late_by_s is not None else ()


def _entry(segment: AudioSegment) -> SegmentEntry:
    return SegmentEntry(
        id=segment.id,
        index=segment.index,
        file=segment.file,
        started_at=segment.started_at,
        duration_s=segment.duration_s,
        format=segment.format,
        received_at=segment.received_at,
        flags=segment_flags(segment),
        late_by_s=segment.late_by_s,
    )


def visit_recording(visit: Visit) -> VisitRecording:
    recording = Recording.objects.filter(visit=visit).first()
    segments = list(recording.segments.select_related("file")) if recording else []
    first_arrive, last_leave = visit_bounds(visit)
    verdict = rules.judge_recording(
        [as_rule_segment(s) for s in segments], first_arrive, last_leave
    )
    return VisitRecording(
        id=recording.id if recording else None,
        segments=tuple(_entry(s) for s in segments),
        verdict=verdict,
    )
