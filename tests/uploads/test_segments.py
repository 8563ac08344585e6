"""The last byte of a segment: its verdict (hash, audio, chain) answers the final PATCH, and
the visit's recording is judged from the segments that joined it."""

from __future__ import annotations

import datetime as dt
import math
import uuid
import zlib
from typing import Any

import pytest
from django.utils import timezone

from fieldvisit.choices import UploadStatus
from fieldvisit.models import (
    AudioSegment,
    EvidenceFile,
    LedgerEntry,
    Recording,
    Upload,
    Visit,
)
from tests.helpers import (
    AUDIO_FILES,
    assert_tus_problem,
    audio,
    both_leave,
    create,
    created,
    final_path,
    first_arrival,
    head,
    ledger_entries,
    partial_path,
    recording_url,
    segment_meta,
    segments_of,
    send,
    sha,
    stored_files,
    upload_id,
    upload_segment,
    visit_url,
)

pytestmark = pytest.mark.django_db(transaction=True)

# The manifest's format names, and the server's.
FORMATS = {
    "m4a/aac": "m4a",
    "aac/adts": "aac",
    "mp3": "mp3",
    "ogg/vorbis": "ogg-vorbis",
    "ogg/opus": "ogg-opus",
    "wav": "wav",
    "flac": "flac",
    "amr-nb": "amr",
    "amr-wb": "amr-wb",
    "3gp/amr-nb": "3gp",
}
NON_EMPTY = [entry for entry in AUDIO_FILES if entry["size"] > 0]
EMPTY = [entry for entry in AUDIO_FILES if entry["size"] == 0]


def expected_duration(entry: dict[str, Any]) -> float:
    """mutagen's length; for AMR (which mutagen cannot read) the frame count x 20 ms."""
    if isinstance(entry["mutagen"], dict) and "length_s" in entry["mutagen"]:
        return entry["mutagen"]["length_s"]
    return entry["reference"]["amr_frame_duration_s"]


def assert_nothing_kept(url: str, kept: dict[str, bytes] | None = None, segments: int = 0) -> None:
    """A refused segment leaves no trace but the failed upload's row."""
    assert AudioSegment.objects.count() == segments
    assert EvidenceFile.objects.count() == len(kept or {})
    assert stored_files() == (kept or {})
    assert len(ledger_entries("recording.segment_added")) == segments
    assert not partial_path(url).exists()
    assert Upload.objects.get(pk=upload_id(url)).status == UploadStatus.FAILED


def assert_gone(client: Any, url: str) -> None:
    response = head(client, url)
    assert response.status_code == 410
    assert response["Tus-Resumable"] == "1.0.0"


# --- every file of the corpus ---------------------------------------------------------------


@pytest.mark.parametrize("entry", NON_EMPTY, ids=[e["file"] for e in NON_EMPTY])
def test_every_corpus_file_gets_its_answer_on_the_last_patch(agent, visit, entry):
    data = audio(entry["file"])
    assert (len(data), sha(data)) == (entry["size"], entry["sha256"])
    # Two PATCHes, so the running hash is carried from one request to the next.
    url, response = upload_segment(
        agent, visit, data, chunk=math.ceil(len(data) / 2), filename=entry["file"]
    )

    if entry["expect"] == "invalid_audio":
        problem = assert_tus_problem(response, 422, "invalid_audio")
        assert problem["detail"]
        assert_nothing_kept(url)
        assert not Recording.objects.exists()
        assert_gone(agent, url)
        return

    assert entry["expect"] == "accept"
    assert response.status_code == 204, response.content
    assert response["Upload-Offset"] == str(len(data))
    segment = AudioSegment.objects.get()
    assert segment.id == upload_id(url)
    assert segment.format == FORMATS[entry["format"]]
    assert segment.duration_s == pytest.approx(expected_duration(entry), abs=0.1)
    assert segment.file_id == entry["sha256"]
    assert segment.file.size == entry["size"]
    # The CRC-32 bundles store, carried across the two PATCHes as the SHA-256 is.
    assert segment.file.crc32 == zlib.crc32(data)
    assert stored_files() == {final_path(entry["sha256"]): data}
    assert not partial_path(url).exists()
    assert Upload.objects.get(pk=segment.id).status == UploadStatus.COMPLETED
    # Completed: HEAD still answers with the full offset.
    response = head(agent, url)
    assert (response.status_code, response["Upload-Offset"]) == (200, str(len(data)))


@pytest.mark.parametrize("entry", EMPTY, ids=[e["file"] for e in EMPTY])
def test_an_empty_file_is_refused_at_creation(agent, visit, entry):
    data = audio(entry["file"])
    assert data == b""

    response = create(agent, 0, segment_meta(visit, data))

    assert 400 <= response.status_code < 500, response.status_code
    problem = assert_tus_problem(response, response.status_code, response.json()["code"])
    assert problem["code"] in {"invalid_audio", "validation_error", "malformed_request"}
    assert "Upload-Length" in problem["errors"] or "empty" in problem["detail"]
    assert not Upload.objects.exists()
    assert AudioSegment.objects.count() == 0


def test_a_wrong_declared_sha256_fails_the_final_patch_and_keeps_nothing(agent, visit):
    data = audio("recording_seg0.m4a")
    other = audio("recording_seg1.m4a")
    url = created(agent, data, segment_meta(visit, data, sha256=sha(other)))
    assert send(agent, url, data[:40000]).status_code == 204  # not the last byte yet

    response = send(agent, url, data, start=40000)

    problem = assert_tus_problem(response, 422, "hash_mismatch")
    assert sha(data) in problem["detail"]
    assert_nothing_kept(url)
    assert_gone(agent, url)
    # The upload is over: no more bytes, no termination.
    assert head(agent, url).status_code == 410


def test_a_declared_sha256_in_capitals_is_the_same_hash(agent, visit):
    data = audio("recording_seg0.m4a")
    _, response = upload_segment(agent, visit, data, sha256=sha(data).upper())
    assert response.status_code == 204, response.content
    assert AudioSegment.objects.get().file_id == sha(data)


# --- the recording: three chained segments --------------------------------------------------


def upload_recording(
    agent: Any, visit: Visit, name: str, start: dt.datetime, recording: uuid.UUID
) -> list[bytes]:
    """Upload a generated recording's segments in order, chained, with the manifest's
    offsets from ``start``; the segments' bytes."""
    previous = ""
    datas = []
    for seg in segments_of(name):
        data = audio(seg["file"])
        assert sha(data) == seg["sha256"]
        _, response = upload_segment(
            agent,
            visit,
            data,
            chunk=32 * 1024,
            recording=recording,
            segment=seg["index"],
            started_at=start + dt.timedelta(seconds=seg["started_at_s"]),
            prev_sha256=previous,
            filename=seg["file"],
        )
        assert response.status_code == 204, response.content
        previous = sha(data)
        datas.append(data)
    return datas


def test_three_chained_segments_make_a_valid_recording(world, agent, visit, clock):
    arrived = first_arrival(visit)
    # The phone started recording ten seconds before the first arrival.
    start = arrived - dt.timedelta(seconds=10)
    recording = uuid.uuid4()
    datas = upload_recording(agent, visit, "visit-1002", start, recording)
    # 60.064 s of audio from ``start``: the agents leave 45 s after arriving.
    both_leave(world, visit, clock, arrived + dt.timedelta(seconds=45))

    answer = agent.get(recording_url(visit)).json()

    assert answer["id"] == str(recording)
    assert [s["index"] for s in answer["segments"]] == [0, 1, 2]
    assert [s["sha256"] for s in answer["segments"]] == [sha(d) for d in datas]
    assert [s["size"] for s in answer["segments"]] == [len(d) for d in datas]
    assert {s["format"] for s in answer["segments"]} == {"m4a"}
    for seg, given in zip(answer["segments"], segments_of("visit-1002"), strict=True):
        assert seg["duration_s"] == pytest.approx(given["mutagen_length_s"], abs=0.1)
        began = dt.datetime.fromisoformat(seg["started_at"])
        assert began == start + dt.timedelta(seconds=given["started_at_s"])
    assert answer["continuous"] is True
    assert answer["gaps"] == []
    assert answer["missing"] == []
    assert answer["covers_visit"] is True
    assert answer["valid"] is True, answer["detail"]
    assert stored_files() == {final_path(sha(d)): d for d in datas}

    # Each segment is on the ledger, chained to the one before.
    entries = ledger_entries("recording.segment_added")
    assert [e["data"]["segment"] for e in entries] == [0, 1, 2]
    assert [e["subject"] for e in entries] == [f"visit:{visit.pk}"] * 3
    assert [e["data"]["file"]["sha256"] for e in entries] == [sha(d) for d in datas]
    assert [e["data"]["file"]["size"] for e in entries] == [len(d) for d in datas]
    assert [e["data"]["prev_sha256"] for e in entries] == ["", sha(datas[0]), sha(datas[1])]
    assert {e["data"]["recording"] for e in entries} == {str(recording)}

    # The visit's own answer carries the same recording.
    detail = agent.get(visit_url(visit.pk))
    assert detail.status_code == 200
    assert detail.json()["recording"] == answer


def test_a_recording_that_starts_after_the_arrival_does_not_cover_the_visit(
    world, agent, visit, clock
):
    arrived = first_arrival(visit)
    upload_recording(agent, visit, "visit-1002", arrived + dt.timedelta(seconds=3), uuid.uuid4())
    both_leave(world, visit, clock, arrived + dt.timedelta(seconds=45))

    answer = agent.get(recording_url(visit)).json()

    assert (answer["continuous"], answer["covers_visit"], answer["valid"]) == (True, False, False)
    assert "after the first arrival" in answer["detail"]


def test_the_gap_recording_is_not_continuous(world, agent, visit, clock):
    arrived = first_arrival(visit)
    start = arrived - dt.timedelta(seconds=10)
    upload_recording(agent, visit, "visit-1430-gap", start, uuid.uuid4())
    both_leave(world, visit, clock, arrived + dt.timedelta(seconds=45))

    answer = agent.get(recording_url(visit)).json()

    assert len(answer["segments"]) == 3
    assert answer["continuous"] is False
    assert len(answer["gaps"]) == 1
    (gap,) = answer["gaps"]
    assert gap["after_index"] == 0
    assert gap["seconds"] == pytest.approx(25 - 20.064, abs=0.001)
    assert answer["covers_visit"] is True  # the gap alone makes it invalid
    assert answer["valid"] is False
    assert "4.936 s" in answer["detail"]
    assert agent.get(visit_url(visit.pk)).json()["recording"]["valid"] is False


def test_no_recording_yet(agent, visit):
    answer = agent.get(recording_url(visit)).json()
    assert (answer["id"], answer["segments"], answer["valid"]) == (None, [], False)
    assert agent.get(visit_url(visit.pk)).json()["recording"] is None


# --- the chain ------------------------------------------------------------------------------


@pytest.fixture
def segment0(agent, visit) -> tuple[uuid.UUID, bytes]:
    """Segment 0 of a recording, stored: (recording id, its bytes)."""
    recording = uuid.uuid4()
    data = audio("recording_seg0.m4a")
    _, response = upload_segment(agent, visit, data, recording=recording)
    assert response.status_code == 204, response.content
    return recording, data


def test_a_wrong_prev_sha256_breaks_the_chain_on_the_final_patch(agent, visit, segment0):
    recording, first = segment0
    data = audio("recording_seg1.m4a")
    url = created(
        agent,
        data,
        segment_meta(visit, data, recording=recording, segment=1, prev_sha256=sha(b"other")),
    )

    response = send(agent, url, data, chunk=50000)

    problem = assert_tus_problem(response, 422, "chain_broken")
    assert "segment 0" in problem["detail"]
    assert_nothing_kept(url, kept={final_path(sha(first)): first}, segments=1)
    assert_gone(agent, url)
    assert list(AudioSegment.objects.values_list("index", flat=True)) == [0]


def test_segment_1_before_segment_0_breaks_the_chain(agent, visit):
    first, second = audio("recording_seg0.m4a"), audio("recording_seg1.m4a")
    recording = uuid.uuid4()

    url, response = upload_segment(
        agent, visit, second, recording=recording, segment=1, prev_sha256=sha(first)
    )

    assert_tus_problem(response, 422, "chain_broken")
    assert_nothing_kept(url)
    assert not Recording.objects.exists()
    # Segment 0 then joins, and segment 1 after it.
    _, response = upload_segment(agent, visit, first, recording=recording)
    assert response.status_code == 204
    _, response = upload_segment(
        agent, visit, second, recording=recording, segment=1, prev_sha256=sha(first)
    )
    assert response.status_code == 204, response.content
    assert list(AudioSegment.objects.values_list("index", flat=True)) == [0, 1]


def test_a_second_recording_for_the_visit_is_refused_at_creation(agent, visit, segment0):
    data = audio("recording_seg1.m4a")

    response = create(agent, len(data), segment_meta(visit, data, recording=uuid.uuid4()))

    problem = assert_tus_problem(response, 422, "chain_broken")
    assert str(segment0[0]) in problem["detail"]
    assert Upload.objects.count() == 1  # segment 0's only


def test_a_segment_index_already_stored_is_refused_at_creation(agent, visit, segment0):
    recording, first = segment0
    response = create(agent, len(first), segment_meta(visit, first, recording=recording))
    assert_tus_problem(response, 422, "chain_broken")
    assert Upload.objects.count() == 1


def test_segment_0_naming_a_previous_segment_is_refused_at_creation(agent, visit):
    data = audio("recording_seg0.m4a")
    response = create(agent, len(data), segment_meta(visit, data, prev_sha256=sha(b"x")))
    assert_tus_problem(response, 422, "chain_broken")
    assert not Upload.objects.exists()


def test_another_visits_recording_id_is_refused_at_creation(world, agent, visit):
    """A recording belongs to one visit: its id cannot be reused for another."""
    other = Visit.objects.exclude(pk=visit.pk).first()
    recording = Recording.objects.create(
        id=uuid.uuid4(), visit=other, started_by=world.agent_a, created_at=timezone.now()
    )
    data = audio("recording_seg0.m4a")

    response = create(agent, len(data), segment_meta(visit, data, recording=recording.id))

    assert_tus_problem(response, 422, "chain_broken")
    assert not Upload.objects.exists()


def test_another_visits_recording_id_taken_meanwhile_breaks_the_final_patch(world, agent, visit):
    recording = uuid.uuid4()
    data = audio("recording_seg0.m4a")
    url = created(agent, data, segment_meta(visit, data, recording=recording))
    # Meanwhile the same id became another visit's recording (a buggy phone).
    other = Visit.objects.exclude(pk=visit.pk).first()
    Recording.objects.create(
        id=recording, visit=other, started_by=world.agent_a, created_at=timezone.now()
    )

    response = send(agent, url, data)

    assert_tus_problem(response, 422, "chain_broken")
    assert_nothing_kept(url)
    assert not Recording.objects.filter(visit=visit).exists()


# --- metadata at creation -------------------------------------------------------------------


def test_missing_metadata_is_named(agent, visit):
    data = audio("recording_seg0.m4a")
    for key in ("visit", "recording", "segment", "started_at", "sha256"):
        values = segment_meta(visit, data)
        del values[key]

        problem = assert_tus_problem(create(agent, len(data), values), 422, "validation_error")

        assert key in problem["errors"], problem
    assert not Upload.objects.exists()
    assert not list(partial_path(uuid.uuid4()).parent.glob("*.part"))


INVALID_METADATA = [
    ("visit", "not-a-uuid"),
    ("recording", "42"),
    ("segment", "-1"),
    ("segment", "one"),
    ("started_at", "2026-11-24T09:30:00"),  # no offset: ambiguous evidence
    ("started_at", "yesterday"),
    ("sha256", "abc"),
    ("sha256", "g" * 64),
    ("prev_sha256", "0" * 63),
]
# Values the serializer accepts but completion would read differently: refused up front
# (they used to pass creation and then fail the final PATCH with a 500 or a false mismatch).
READ_DIFFERENTLY = [("segment", "0.0"), ("segment", "1.0"), ("sha256", " " + "a" * 64)]


@pytest.mark.parametrize(
    "cases", [INVALID_METADATA, READ_DIFFERENTLY], ids=["invalid", "read-differently"]
)
def test_invalid_metadata_is_named(agent, visit, cases):
    data = audio("recording_seg0.m4a")
    for key, value in cases:
        values = {**segment_meta(visit, data), key: value}
        if key == "segment":
            values["prev_sha256"] = "b" * 64 if value != "0.0" else ""

        problem = assert_tus_problem(create(agent, len(data), values), 422, "validation_error")

        assert key in problem["errors"], (key, value, problem)
    assert not Upload.objects.exists()


def test_a_later_segment_must_name_the_previous_one(agent, visit):
    data = audio("recording_seg1.m4a")
    values = segment_meta(visit, data, segment=1)
    problem = assert_tus_problem(create(agent, len(data), values), 422, "validation_error")
    assert "prev_sha256" in problem["errors"]
    assert not Upload.objects.exists()


def test_another_teams_visit_is_404(world, visit):
    outsider = world.client(world.outsider, "outsider-phone")
    data = audio("recording_seg0.m4a")
    response = create(outsider, len(data), segment_meta(visit, data))
    assert_tus_problem(response, 404, "not_found")
    assert not Upload.objects.exists()


def test_an_unknown_visit_is_404(agent, visit):
    data = audio("recording_seg0.m4a")
    values = {**segment_meta(visit, data), "visit": uuid.uuid4()}
    assert_tus_problem(create(agent, len(data), values), 404, "not_found")


def test_a_supervisor_is_not_a_team_agent(world, visit):
    supervisor = world.client(world.supervisor, "desk")
    data = audio("recording_seg0.m4a")
    response = create(supervisor, len(data), segment_meta(visit, data))
    assert_tus_problem(response, 403, "not_team_member")
    assert response["Tus-Resumable"] == "1.0.0"
    assert not Upload.objects.exists()


def test_the_partner_may_upload_the_next_segment(world, agent, visit, segment0):
    """Both agents of the visit are team agents: either phone may carry the recording on."""
    recording, first = segment0
    partner = world.client(world.agent_b, "phone-b")
    data = audio("recording_seg1.m4a")
    _, response = upload_segment(
        partner, visit, data, recording=recording, segment=1, prev_sha256=sha(first)
    )
    assert response.status_code == 204, response.content
    segment = AudioSegment.objects.get(index=1)
    assert (segment.agent, segment.device_id) == (world.agent_b, "phone-b")
    assert LedgerEntry.objects.filter(kind="recording.segment_added").count() == 2
