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

from fieldvisit.rules import Verdict

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
        return Verdict.failed("chain_broken", f"Segment index {index} is negative.")
    if index == 0:
        if prev_sha256:
            return Verdict.failed(
                "chain_broken", "Segment 0 opens the recording and must not name a previous one."
            )
        return Verdict.passed("Segment 0 opens the recording.")
    if previous is None or previous.index != index - 1:
        return Verdict.failed(
            "chain_broken",
            f"Segment {index - 1} has not been received, so segment {index} cannot follow it.",
        )
    if prev_sha256.lower() != previous.sha256.lower():
        return Verdict.failed(
            "chain_broken",
            f"Segment {index} names {prev_sha256[:12] or 'no hash'} as its predecessor, but "
            f"segment {index - 1} has SHA-256 {previous.sha256[:12]}.",
        )
    return Verdict.passed(f"Segment {index} follows segment {index - 1}.")


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
            detail="No recording segments were received.",
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
        detail = (
            f"{len(ordered)} segment(s) record continuously from {starts_at.isoformat()} "
            f"to {ends_at.isoformat()}, covering the visit."
        )
    else:
        detail = " ".join(_problems(missing, duplicated, gaps, coverage_problem))
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
        problems.append(f"Segment(s) {_list(missing)} are missing.")
    if duplicated:
        problems.append(f"Segment(s) {_list(duplicated)} were received more than once.")
    problems += [
        f"{gap.seconds:.3f} s are not on record after segment {gap.after_index}." for gap in gaps
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
        return False, "The visit has no arrival yet, so coverage cannot be judged."
    if last_leave is None:
        return False, "The visit has not closed (no leave check-in), so coverage cannot be judged."
    problems = []
    if starts_at > first_arrive:
        late = (starts_at - first_arrive).total_seconds()
        problems.append(f"The recording starts {late:.3f} s after the first arrival.")
    if ends_at < last_leave:
        early = (last_leave - ends_at).total_seconds()
        problems.append(f"The recording ends {early:.3f} s before the last leave.")
    return not problems, " ".join(problems)


def _list(indexes: Sequence[int]) -> str:
    return ", ".join(str(i) for i in indexes)
