"""Rules for a visit's audio recording: a chain of segments that must cover the whole visit.

The phone records in segments and uploads each with the SHA-256 of the one before it, so
the segments form a hash chain: none can be dropped, swapped or inserted later without the
chain breaking. The recording proves the visit only if the chain is whole, the segments
follow each other without silence in between, and they run from before the first arrival
to after the last departure. Plain functions over plain values: the action gathers the
facts, these decide.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from fieldvisit.rules import Verdict
from fieldvisit.texts import _, format_lazy

# Longest pause between two segments still counted as one recording. The phone starts the
# next segment as it closes the previous one; anything longer is audio that was not kept.
MAX_GAP_S = 2.0


@dataclass(frozen=True)
class Segment:
    """One uploaded piece of the recording; ``started_at`` is aware, from the phone's clock."""

    index: int
    started_at: dt.datetime
    duration_s: float
    sha256: str
    prev_sha256: str

    @property
    def ends_at(self) -> dt.datetime:
        return self.started_at + dt.timedelta(seconds=self.duration_s)


@dataclass(frozen=True)
class Gap:
    """Silence not on record after segment ``after_index``, in seconds (3 decimals)."""

    after_index: int
    seconds: float


@dataclass(frozen=True)
class RecordingVerdict:
    continuous: bool
    covers_visit: bool
    gaps: list[Gap]
    missing: list[int]  # indexes absent between 0 and the highest received
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    valid: bool
    detail: str


def chain_verdict(index: int, prev_sha256: str, previous: Segment | None) -> Verdict:
    """May a new segment join the chain?

    Segment 0 opens the chain and names no predecessor. Segment n joins only after segment
    n-1 has arrived and only if it names n-1's hash: a segment cannot be slipped in ahead
    of one still missing, or in place of one already on record. Hashes are compared
    case-insensitively, since hex case carries no meaning.
    """
    if index < 0:
        return Verdict.failed(
            "chain_broken", format_lazy(_("Segment index {index} is negative."), index=index)
        )
    if index == 0:
        if prev_sha256:
            return Verdict.failed(
                "chain_broken", _("Segment 0 opens the recording and must not name a previous one.")
            )
        return Verdict.passed(_("Segment 0 opens the recording."))
    if previous is None or previous.index != index - 1:
        return Verdict.failed(
            "chain_broken",
            format_lazy(
                _("Segment {previous} has not been received, so segment {index} cannot follow it."),
                previous=index - 1,
                index=index,
            ),
        )
    if prev_sha256.lower() != previous.sha256.lower():
        return Verdict.failed(
            "chain_broken",
            format_lazy(
                _(
                    "Segment {index} names {named} as its predecessor, but segment {previous} "
                    "has SHA-256 {sha256}."
                ),
                index=index,
                named=prev_sha256[:12] or _("no hash"),
                previous=index - 1,
                sha256=previous.sha256[:12],
            ),
        )
    return Verdict.passed(
        format_lazy(
            _("Segment {index} follows segment {previous}."), index=index, previous=index - 1
        )
    )


def judge_recording(
    segments: Sequence[Segment],
    first_arrive: dt.datetime | None,
    last_leave: dt.datetime | None,
    max_gap_s: float = MAX_GAP_S,
) -> RecordingVerdict:
    """Is the recording continuous, and does it cover the visit from arrival to departure?

    A gap is the time between one segment's end and the next one's start beyond
    ``max_gap_s``. An overlap (a negative gap) is fine: mutagen's AAC durations include the
    encoder delay, so consecutive segments seem to overlap by 0.064 s. A missing index
    breaks continuity on its own; no gap is measured across it.
    """
    if not segments:
        return RecordingVerdict(
            continuous=False,
            covers_visit=False,
            gaps=[],
            missing=[],
            starts_at=None,
            ends_at=None,
            valid=False,
            detail=_("No recording segments were received."),
        )
    ordered = sorted(segments, key=lambda s: s.index)
    present = [s.index for s in ordered]
    missing = sorted(set(range(present[-1] + 1)) - set(present))
    duplicated = sorted(i for i, n in Counter(present).items() if n > 1)
    gaps = _gaps(ordered, max_gap_s)
    starts_at, ends_at = ordered[0].started_at, ordered[-1].ends_at
    covers, coverage_problem = _coverage(starts_at, ends_at, first_arrive, last_leave)
    continuous = not gaps and not missing and not duplicated

    valid = continuous and covers
    if valid:
        detail = format_lazy(
            _("{count} segment(s) record continuously from {start} to {end}, covering the visit."),
            count=len(ordered),
            start=starts_at.isoformat(),
            end=ends_at.isoformat(),
        )
    else:
        detail = _sentences(_problems(missing, duplicated, gaps, coverage_problem))
    return RecordingVerdict(
        continuous=continuous,
        covers_visit=covers,
        gaps=gaps,
        missing=missing,
        starts_at=starts_at,
        ends_at=ends_at,
        valid=valid,
        detail=detail,
    )


def _problems(
    missing: list[int], duplicated: list[int], gaps: list[Gap], coverage_problem: str | None
) -> list[str]:
    """Why a recording is not valid, in the order a reviewer checks it."""
    problems = []
    if missing:
        problems.append(format_lazy(_("Segment(s) {indexes} are missing."), indexes=_list(missing)))
    if duplicated:
        problems.append(
            format_lazy(
                _("Segment(s) {indexes} were received more than once."),
                indexes=_list(duplicated),
            )
        )
    problems += [
        format_lazy(
            _("{seconds:.3f} s are not on record after segment {after_index}."),
            seconds=gap.seconds,
            after_index=gap.after_index,
        )
        for gap in gaps
    ]
    if coverage_problem:
        problems.append(coverage_problem)
    return problems


def _gaps(ordered: Sequence[Segment], max_gap_s: float) -> list[Gap]:
    """Gaps between consecutive indexes. Rounded to the millisecond before comparing, so
    that the gap reported and the gap judged are the same number."""
    gaps = []
    for prev, nxt in pairwise(ordered):
        if nxt.index != prev.index + 1:
            continue
        seconds = round((nxt.started_at - prev.ends_at).total_seconds(), 3)
        if seconds > max_gap_s:
            gaps.append(Gap(after_index=prev.index, seconds=seconds))
    return gaps


def _coverage(
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    first_arrive: dt.datetime | None,
    last_leave: dt.datetime | None,
) -> tuple[bool, str]:
    """(covers, why not): from at or before the first arrival to at or after the last leave."""
    if first_arrive is None:
        return False, _("The visit has no arrival yet, so coverage cannot be judged.")
    if last_leave is None:
        return False, _(
            "The visit has not closed (no leave check-in), so coverage cannot be judged."
        )
    problems = []
    if starts_at > first_arrive:
        late = (starts_at - first_arrive).total_seconds()
        problems.append(
            format_lazy(_("The recording starts {late:.3f} s after the first arrival."), late=late)
        )
    if ends_at < last_leave:
        early = (last_leave - ends_at).total_seconds()
        problems.append(
            format_lazy(_("The recording ends {early:.3f} s before the last leave."), early=early)
        )
    return not problems, _sentences(problems)


def _sentences(parts: Sequence[Any]) -> Any:
    """Sentences one after the other, each still in the reader's language."""
    return format_lazy(" ".join(["{}"] * len(parts)), *parts)


def _list(indexes: Sequence[int]) -> str:
    return ", ".join(str(i) for i in indexes)
