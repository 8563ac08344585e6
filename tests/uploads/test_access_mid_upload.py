"""Who may upload is checked on every PATCH and again at completion, as at creation: an agent
moved off the team, deactivated or whose phone's token was revoked mid-upload cannot finish
it (the same answer creation would give), and nothing joins the recording. The bytes already
received stay with the upload until it expires, so an agent put back can still finish it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from fieldvisit.actions import uploads as upload_actions
from fieldvisit.actions.auth import revoke_token
from fieldvisit.choices import UploadStatus
from fieldvisit.models import AgentProfile, AudioSegment, DeviceToken, LedgerEntry, Upload
from tests.helpers import (
    assert_tus_problem,
    audio,
    create,
    created,
    head,
    patch,
    segment_meta,
    stops_of,
    upload_id,
)

pytestmark = pytest.mark.django_db(transaction=True)

SEGMENT = "recording_seg0.m4a"
HALF = 20000


def move_off_the_team(world: Any) -> None:
    AgentProfile.objects.filter(user=world.agent_a).update(team=world.other_team)


def deactivate(world: Any) -> None:
    AgentProfile.objects.filter(user=world.agent_a).update(active=False)


def put_back(world: Any) -> None:
    AgentProfile.objects.filter(user=world.agent_a).update(team=world.team, active=True)


@pytest.fixture
def visit(world: Any) -> Any:
    return stops_of(world.route)[0].visit


@pytest.fixture
def data() -> bytes:
    return audio(SEGMENT)


@pytest.fixture
def started(agent: Any, visit: Any, data: bytes) -> str:
    url = created(agent, data, segment_meta(visit, data))
    assert patch(agent, url, data[:HALF], 0).status_code == 204
    return url


def segment_entries() -> int:
    return LedgerEntry.objects.filter(kind="recording.segment_added").count()


@pytest.mark.parametrize("change", [move_off_the_team, deactivate], ids=["moved", "deactivated"])
def test_a_patch_after_the_agent_left_the_team_is_refused_as_creation_would_be(
    world: Any, agent: Any, visit: Any, data: bytes, started: str, change: Callable[..., None]
) -> None:
    change(world)
    # Creation, now, answers this...
    refused_creation = create(agent, len(data), segment_meta(visit, data))
    expected = refused_creation.json()

    # ...and so does the PATCH, which keeps no byte.
    response = patch(agent, started, data[HALF:], HALF)

    assert_tus_problem(response, expected["status"], expected["code"])
    upload = Upload.objects.get(pk=upload_id(started))
    assert (upload.offset, upload.status) == (HALF, UploadStatus.RECEIVING)
    assert AudioSegment.objects.count() == 0 and segment_entries() == 0


@pytest.mark.parametrize("change", [move_off_the_team, deactivate], ids=["moved", "deactivated"])
def test_leaving_the_team_during_the_final_patch_stops_the_completion(
    world: Any,
    agent: Any,
    visit: Any,
    data: bytes,
    started: str,
    change: Callable[..., None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The change lands while the last bytes stream in: the completion checks again."""
    keep = upload_actions.partials.keep

    def meanwhile(*args: Any) -> None:
        keep(*args)
        change(world)

    monkeypatch.setattr(upload_actions.partials, "keep", meanwhile)
    response = patch(agent, started, data[HALF:], HALF)
    monkeypatch.undo()

    assert response.status_code in (403, 404), response.content
    assert_tus_problem(response, response.status_code, response.json()["code"])
    assert AudioSegment.objects.count() == 0 and segment_entries() == 0
    upload = Upload.objects.get(pk=upload_id(started))
    assert (upload.offset, upload.status) == (len(data), UploadStatus.RECEIVING)

    # Still refused while away; once put back, the agent finishes the upload.
    assert patch(agent, started, b"", len(data)).status_code == response.status_code
    put_back(world)
    assert head(agent, started)["Upload-Offset"] == str(len(data))
    assert patch(agent, started, b"", len(data)).status_code == 204
    assert AudioSegment.objects.get().agent == world.agent_a
    assert segment_entries() == 1


def test_a_token_revoked_mid_upload_stops_the_next_patch(
    world: Any, agent: Any, data: bytes, started: str
) -> None:
    token = DeviceToken.objects.get(user=world.agent_a, device_id="phone-a")
    revoke_token(token.pk, world.supervisor, "phone lost")

    assert_tus_problem(patch(agent, started, data[HALF:], HALF), 401, "token_revoked")
    assert Upload.objects.get(pk=upload_id(started)).offset == HALF
    assert AudioSegment.objects.count() == 0


def test_a_token_revoked_during_the_final_patch_stops_the_completion(
    world: Any, agent: Any, data: bytes, started: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = DeviceToken.objects.get(user=world.agent_a, device_id="phone-a")
    keep = upload_actions.partials.keep

    def meanwhile(*args: Any) -> None:
        keep(*args)
        revoke_token(token.pk, world.supervisor, "phone lost")

    monkeypatch.setattr(upload_actions.partials, "keep", meanwhile)
    response = patch(agent, started, data[HALF:], HALF)
    monkeypatch.undo()

    assert_tus_problem(response, 401, "token_revoked")
    assert AudioSegment.objects.count() == 0 and segment_entries() == 0
    assert Upload.objects.get(pk=upload_id(started)).status == UploadStatus.RECEIVING

    # The agent signs in again on that phone and finishes the upload.
    world.clients.pop("agent_a/phone-a")
    again = world.client(world.agent_a, "phone-a")
    assert patch(again, started, b"", len(data)).status_code == 204
    assert AudioSegment.objects.get().device_id == "phone-a"


@pytest.mark.parametrize("change", [move_off_the_team, deactivate], ids=["moved", "deactivated"])
def test_leaving_the_team_as_the_completion_begins_stops_it(
    world: Any,
    agent: Any,
    data: bytes,
    started: str,
    change: Callable[..., None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The move commits after the last byte's checks, while the segment is being judged:
    the completion checks the uploader again under the visit's lock, before joining it."""
    inspect_audio = upload_actions.recordings.inspect_audio

    def meanwhile(path: str) -> Any:
        change(world)
        return inspect_audio(path)

    monkeypatch.setattr(upload_actions.recordings, "inspect_audio", meanwhile)
    response = patch(agent, started, data[HALF:], HALF)
    monkeypatch.undo()

    assert response.status_code in (403, 404), response.content
    assert_tus_problem(response, response.status_code, response.json()["code"])
    assert AudioSegment.objects.count() == 0 and segment_entries() == 0
    upload = Upload.objects.get(pk=upload_id(started))
    assert (upload.offset, upload.status) == (len(data), UploadStatus.RECEIVING)
    put_back(world)
    assert patch(agent, started, b"", len(data)).status_code == 204
    assert segment_entries() == 1


def test_a_token_revoked_as_the_completion_begins_stops_it_with_a_challenge(
    world: Any, agent: Any, data: bytes, started: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = DeviceToken.objects.get(user=world.agent_a, device_id="phone-a")
    inspect_audio = upload_actions.recordings.inspect_audio

    def meanwhile(path: str) -> Any:
        revoke_token(token.pk, world.supervisor, "phone lost")
        return inspect_audio(path)

    monkeypatch.setattr(upload_actions.recordings, "inspect_audio", meanwhile)
    response = patch(agent, started, data[HALF:], HALF)
    monkeypatch.undo()

    assert_tus_problem(response, 401, "token_revoked")
    # Like every 401 of the API (RFC 9110 section 11.6.1): the scheme to authenticate with.
    assert response["WWW-Authenticate"] == 'Token realm="api"'
    assert AudioSegment.objects.count() == 0 and segment_entries() == 0
    assert Upload.objects.get(pk=upload_id(started)).status == UploadStatus.RECEIVING
