"""Segments as the field app uploads them from a browser: Chromium's MediaRecorder restarted
for each segment (so each is a self-contained file), sent with tus, with the MIME type the
recorder reported. The recording rule judges them like any other format: back-to-back
segments are continuous, a 3-second pause between two is a gap."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from fieldvisit.models import AudioSegment
from tests.helpers import both_leave, first_arrival, recording_url, sha, upload_segment

pytestmark = pytest.mark.django_db(transaction=True)

FIXTURES = Path(__file__).resolve().parents[1] / "media" / "browser_audio"
RECORDED: dict[str, Any] = json.loads((FIXTURES / "recordings.json").read_text())


def upload_browser_recording(
    agent: Any, visit: Any, names: list[str], start: dt.datetime
) -> list[dict[str, Any]]:
    """Upload the recorded segments in order, chained, each ``started_at`` its recorder's
    ``start`` event shifted so that the first one starts at ``start``."""
    origin = RECORDED[names[0]]["started_at_ms"]
    recording, previous, answers = uuid.uuid4(), "", []
    for index, name in enumerate(names):
        data = (FIXTURES / name).read_bytes()
        offset = dt.timedelta(milliseconds=RECORDED[name]["started_at_ms"] - origin)
        _, response = upload_segment(
            agent,
            visit,
            data,
            chunk=16 * 1024,
            recording=recording,
            segment=index,
            started_at=start + offset,
            prev_sha256=previous,
            filename=f"segment-{index}{Path(name).suffix}",
            content_type=RECORDED[name]["mime"],
        )
        assert response.status_code == 204, response.content
        previous = sha(data)
        answers.append({"name": name, "sha256": previous, "size": len(data)})
    return answers


@pytest.mark.parametrize(
    ("prefix", "suffix", "fmt"),
    [("chrome_opus_seg", ".webm", "webm-opus"), ("chrome_mp4_seg", ".mp4", "m4a")],
)
def test_three_back_to_back_browser_segments_are_continuous(
    world, agent, visit, clock, prefix, suffix, fmt
):
    names = [f"{prefix}{i}{suffix}" for i in range(3)]
    arrived = first_arrival(visit)
    start = arrived - dt.timedelta(seconds=1)
    sent = upload_browser_recording(agent, visit, names, start)
    both_leave(world, visit, clock, arrived + dt.timedelta(seconds=4))

    answer = agent.get(recording_url(visit)).json()

    assert [s["sha256"] for s in answer["segments"]] == [s["sha256"] for s in sent]
    assert [s["size"] for s in answer["segments"]] == [s["size"] for s in sent]
    assert {s["format"] for s in answer["segments"]} == {fmt}
    for segment, name in zip(answer["segments"], names, strict=True):
        assert segment["duration_s"] == pytest.approx(
            RECORDED[name]["recorded_ms"] / 1000, abs=0.07
        )
    assert answer["gaps"] == []
    assert (answer["continuous"], answer["covers_visit"], answer["valid"]) == (True, True, True)
    media_type = "audio/webm" if suffix == ".webm" else "audio/mp4"
    stored = AudioSegment.objects.select_related("file").order_by("index")
    assert {s.file.media_type for s in stored} == {media_type}


def test_browser_segments_with_a_pause_between_have_a_gap(world, agent, visit, clock):
    """The recorder was stopped 3 s between segments 1 and 2: 2.04 s of audio from
    segment 1's start, and segment 2 started 5.062 s after it."""
    names = [f"chrome_opus_gap_seg{i}.webm" for i in range(3)]
    arrived = first_arrival(visit)
    upload_browser_recording(agent, visit, names, arrived - dt.timedelta(seconds=1))
    both_leave(world, visit, clock, arrived + dt.timedelta(seconds=4))

    answer = agent.get(recording_url(visit)).json()

    expected = (
        RECORDED[names[2]]["started_at_ms"] - RECORDED[names[1]]["started_at_ms"]
    ) / 1000 - 2.04
    assert expected > 2
    assert answer["gaps"] == [{"after_index": 1, "seconds": pytest.approx(expected, abs=0.001)}]
    assert (answer["continuous"], answer["valid"]) == (False, False)
    assert f"{expected:.3f} s are not on record after segment 1" in answer["detail"]


def test_a_video_webm_fails_the_final_patch(agent, visit):
    data = (FIXTURES / "chrome_video_vp8_opus.webm").read_bytes()
    _, response = upload_segment(
        agent, visit, data, filename="segment-0.webm", content_type="video/webm;codecs=vp8,opus"
    )

    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "invalid_audio"
    assert "video" in problem["detail"]
    assert not AudioSegment.objects.exists()
