"""Unit tests for fieldvisit.rules.recording: plain data in, a verdict out, no database.

The numbers are the corpus recordings' (/work/shared/corpus/audio/manifest.json): two
three-segment recordings of 20 s segments, whose mutagen durations are 20.064 s because
they include the AAC encoder delay. visit-1002 is contiguous; in visit-1430-gap segment 1
starts 5 s late.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from fieldvisit.rules import Verdict
from fieldvisit.rules.recording import (
    MAX_GAP_S,
    Gap,
    RecordingVerdict,
    Segment,
    chain_verdict,
    judge_recording,
)

UTC = dt.UTC
MUTAGEN_S = 20.064  # mutagen's length for every corpus segment

VISIT_1002_START = dt.datetime(2026, 11, 23, 10, 2, tzinfo=UTC)
VISIT_1002 = {  # index: (started_at_s, sha256)
    0: (0.0, "bc0de60b3872fa7200b47c7cea348e328a8a3c458cc369cdd6755289edfdf3b1"),
    1: (20.0, "6044dc323714d3eeda262b350583304bc8cc8759b2b7a0ce827cebfd3351436f"),
    2: (40.0, "898d55cb9f005c8d84a345dde9561e18022c6b9a038beb57e5e87764a3d06bc1"),
}
VISIT_1430_START = dt.datetime(2026, 11, 23, 14, 30, tzinfo=UTC)
VISIT_1430_GAP = {
    0: (0.0, "16799a0ac0140a9d95e35f3c131c43b8ecc9f48f3bd0cc87f67dbaad43210dd5"),
    1: (25.0, "4c09d9374132290b82c29dabf7468fc94126bd6f40deca4ad4c24a2597019adf"),
    2: (45.0, "3c453b0cd28c391a29a7de43c80e53394921de75bd8ca1d895fd555cb62943f0"),
}
MANIFEST = Path(__file__).resolve().parents[2].parent / "shared/corpus/audio/manifest.json"


def chain(start: dt.datetime, layout: dict[int, tuple[float, str]]) -> list[Segment]:
    """Segments as the phone uploads them: each names the previous segment's hash."""
    segments = []
    for index, (offset_s, sha256) in sorted(layout.items()):
        prev = layout[index - 1][1] if index - 1 in layout else ""
        started_at = start + dt.timedelta(seconds=offset_s)
        segments.append(Segment(index, started_at, MUTAGEN_S, sha256, prev))
    return segments


def at(start: dt.datetime, seconds: float) -> dt.datetime:
    return start + dt.timedelta(seconds=seconds)


def plain(index: int, start_s: float, duration_s: float = 20.0) -> Segment:
    """A segment on a simple clock (seconds after 10:02), for boundary cases."""
    return Segment(index, at(VISIT_1002_START, start_s), duration_s, f"h{index}", f"h{index - 1}")


def judge(
    segments: list[Segment], arrive_s: float | None = 0.0, leave_s: float | None = 40.0
) -> RecordingVerdict:
    arrive = None if arrive_s is None else at(VISIT_1002_START, arrive_s)
    leave = None if leave_s is None else at(VISIT_1002_START, leave_s)
    return judge_recording(segments, arrive, leave)


def assert_failed(verdict: Verdict, code: str) -> None:
    assert verdict.ok is False
    assert verdict.code == code
    assert verdict.detail  # every refusal says why, in words


# -- the corpus recordings ------------------------------------------------------------------


def test_contiguous_recording_covers_the_visit() -> None:
    arrive, leave = at(VISIT_1002_START, 5), at(VISIT_1002_START, 55)

    verdict = judge_recording(chain(VISIT_1002_START, VISIT_1002), arrive, leave)

    assert verdict.continuous is True
    assert verdict.gaps == []
    assert verdict.missing == []
    assert verdict.starts_at == VISIT_1002_START
    assert verdict.ends_at == at(VISIT_1002_START, 40 + MUTAGEN_S)
    assert verdict.covers_visit is True
    assert verdict.valid is True
    assert "3 segment(s) record continuously" in verdict.detail


def test_recording_with_a_5_s_hole_is_not_continuous() -> None:
    arrive, leave = at(VISIT_1430_START, 5), at(VISIT_1430_START, 60)

    verdict = judge_recording(chain(VISIT_1430_START, VISIT_1430_GAP), arrive, leave)

    # 25 s - 20.064 s: the encoder delay makes the hole look 0.064 s shorter than 5 s.
    assert verdict.gaps == [Gap(after_index=0, seconds=4.936)]
    assert verdict.continuous is False
    assert verdict.missing == []
    assert verdict.covers_visit is True  # from before arrival to after leave, with a hole
    assert verdict.valid is False
    assert "4.936 s are not on record after segment 0" in verdict.detail


@pytest.mark.skipif(not MANIFEST.is_file(), reason="the audio corpus is not available")
def test_numbers_match_the_corpus_manifest() -> None:
    entries = json.loads(MANIFEST.read_text())
    recordings = {e["recording"]["id"]: e["recording"] for e in entries if "recording" in e}
    for rec_id, start, layout in [
        ("visit-1002", VISIT_1002_START, VISIT_1002),
        ("visit-1430-gap", VISIT_1430_START, VISIT_1430_GAP),
    ]:
        recording = recordings[rec_id]
        assert dt.datetime.fromisoformat(recording["wallclock_start"]) == start
        for seg in recording["segments"]:
            assert layout[seg["index"]] == (seg["started_at_s"], seg["sha256"])
            assert seg["mutagen_length_s"] == MUTAGEN_S


def test_the_corpus_chain_links_up() -> None:
    segments = chain(VISIT_1002_START, VISIT_1002)

    assert chain_verdict(0, segments[0].prev_sha256, None).ok
    assert chain_verdict(1, segments[1].prev_sha256, segments[0]).ok
    assert chain_verdict(2, segments[2].prev_sha256, segments[1]).ok
    # The gap recording's segment 1 does not follow visit-1002's segment 0.
    other = chain(VISIT_1430_START, VISIT_1430_GAP)
    assert_failed(chain_verdict(1, other[1].prev_sha256, segments[0]), "chain_broken")


# -- gaps -----------------------------------------------------------------------------------


def test_default_max_gap_is_two_seconds() -> None:
    assert MAX_GAP_S == 2.0


def test_gap_of_exactly_two_seconds_is_tolerated() -> None:
    verdict = judge([plain(0, 0), plain(1, 22.0)], leave_s=42)

    assert verdict.gaps == []
    assert verdict.continuous is True
    assert verdict.valid is True


def test_gap_of_two_seconds_and_a_millisecond_is_a_gap() -> None:
    verdict = judge([plain(0, 0), plain(1, 22.001)], leave_s=42)

    assert verdict.gaps == [Gap(after_index=0, seconds=2.001)]
    assert verdict.continuous is False
    assert verdict.valid is False


def test_gap_is_rounded_to_the_millisecond_before_it_is_judged() -> None:
    verdict = judge([plain(0, 0), plain(1, 22.0004)], leave_s=42)

    assert verdict.gaps == []


def test_max_gap_can_be_tightened() -> None:
    segments = [plain(0, 0), plain(1, 21.0)]
    arrive, leave = at(VISIT_1002_START, 0), at(VISIT_1002_START, 41)

    assert judge_recording(segments, arrive, leave).gaps == []
    assert judge_recording(segments, arrive, leave, max_gap_s=0.5).gaps == [Gap(0, 1.0)]


def test_overlap_is_not_a_gap() -> None:
    """Segments that seem to overlap (encoder delay, clock jitter) are continuous."""
    verdict = judge([plain(0, 0, MUTAGEN_S), plain(1, 20.0), plain(2, 39.5)], leave_s=59)

    assert verdict.gaps == []
    assert verdict.continuous is True


def test_several_gaps_are_all_reported() -> None:
    verdict = judge([plain(0, 0), plain(1, 25), plain(2, 48.5)], leave_s=60)

    assert verdict.gaps == [Gap(0, 5.0), Gap(1, 3.5)]


# -- missing segments -----------------------------------------------------------------------


def test_missing_middle_segment_breaks_continuity() -> None:
    """No gap is measured across the hole: the missing index itself says it."""
    verdict = judge([plain(0, 0), plain(2, 40)], leave_s=60)

    assert verdict.missing == [1]
    assert verdict.gaps == []
    assert verdict.continuous is False
    assert verdict.valid is False
    assert "Segment(s) 1 are missing." in verdict.detail


def test_missing_first_segment() -> None:
    verdict = judge([plain(1, 0), plain(2, 20)])

    assert verdict.missing == [0]
    assert verdict.continuous is False


def test_several_missing_segments() -> None:
    verdict = judge([plain(0, 0), plain(3, 60), plain(5, 100)], leave_s=120)

    assert verdict.missing == [1, 2, 4]


def test_segments_are_judged_in_index_order() -> None:
    verdict = judge([plain(2, 40), plain(0, 0), plain(1, 20)], leave_s=60)

    assert verdict.continuous is True
    assert verdict.starts_at == VISIT_1002_START
    assert verdict.ends_at == at(VISIT_1002_START, 60)


def test_segment_received_twice_is_not_a_continuous_recording() -> None:
    verdict = judge([plain(0, 0), plain(1, 20), plain(1, 20)])

    assert verdict.continuous is False
    assert verdict.valid is False
    assert "received more than once" in verdict.detail


def test_no_segments() -> None:
    verdict = judge([])

    assert verdict == RecordingVerdict(
        continuous=False,
        covers_visit=False,
        gaps=[],
        missing=[],
        starts_at=None,
        ends_at=None,
        valid=False,
        detail="No recording segments were received.",
    )


# -- coverage -------------------------------------------------------------------------------


def test_recording_exactly_from_arrival_to_leave_covers() -> None:
    verdict = judge([plain(0, 0), plain(1, 20)], arrive_s=0, leave_s=40)

    assert verdict.covers_visit is True
    assert verdict.valid is True


def test_recording_starting_one_second_after_arrival_does_not_cover() -> None:
    verdict = judge([plain(0, 1), plain(1, 21)], arrive_s=0, leave_s=40)

    assert verdict.continuous is True
    assert verdict.covers_visit is False
    assert verdict.valid is False
    assert "starts 1.000 s after the first arrival" in verdict.detail


def test_recording_ending_before_the_last_leave_does_not_cover() -> None:
    verdict = judge([plain(0, 0), plain(1, 20)], arrive_s=0, leave_s=40.5)

    assert verdict.covers_visit is False
    assert "ends 0.500 s before the last leave" in verdict.detail


def test_open_visit_cannot_be_covered() -> None:
    verdict = judge([plain(0, 0), plain(1, 20)], leave_s=None)

    assert verdict.continuous is True
    assert verdict.covers_visit is False
    assert verdict.valid is False
    assert "has not closed" in verdict.detail


def test_visit_without_arrival_cannot_be_covered() -> None:
    verdict = judge([plain(0, 0)], arrive_s=None, leave_s=10)

    assert verdict.covers_visit is False
    assert "no arrival" in verdict.detail


def test_coverage_compares_instants_across_time_zones() -> None:
    shanghai = dt.timezone(dt.timedelta(hours=8))
    arrive = dt.datetime(2026, 11, 23, 18, 2, 5, tzinfo=shanghai)  # 10:02:05 UTC
    leave = dt.datetime(2026, 11, 23, 18, 2, 55, tzinfo=shanghai)

    verdict = judge_recording(chain(VISIT_1002_START, VISIT_1002), arrive, leave)

    assert verdict.covers_visit is True


# -- chain ----------------------------------------------------------------------------------


def test_first_segment_names_no_predecessor() -> None:
    assert chain_verdict(0, "", None).ok is True


def test_first_segment_naming_a_predecessor_breaks_the_chain() -> None:
    assert_failed(chain_verdict(0, "ab" * 32, None), "chain_broken")


def test_segment_cannot_join_before_its_predecessor_arrived() -> None:
    assert_failed(chain_verdict(2, "h1", None), "chain_broken")


def test_segment_cannot_follow_a_segment_other_than_its_predecessor() -> None:
    assert_failed(chain_verdict(2, "h0", plain(0, 0)), "chain_broken")


def test_segment_naming_the_wrong_hash_breaks_the_chain() -> None:
    verdict = chain_verdict(1, "f" * 64, plain(0, 0))

    assert_failed(verdict, "chain_broken")
    assert "segment 0 has SHA-256 h0" in verdict.detail


def test_segment_naming_no_hash_breaks_the_chain() -> None:
    assert_failed(chain_verdict(1, "", plain(0, 0)), "chain_broken")


def test_hash_case_does_not_matter() -> None:
    previous = chain(VISIT_1002_START, VISIT_1002)[0]

    assert chain_verdict(1, previous.sha256.upper(), previous).ok is True


def test_negative_index_breaks_the_chain() -> None:
    assert_failed(chain_verdict(-1, "", None), "chain_broken")
