"""The visit's recording: segments join it in order, each chained to the one before.

A segment is judged when its upload's last byte arrives: the whole-file SHA-256 against
the declared one, the audio itself (format and duration), and the chain (``prev_sha256``
names the previous segment's hash). A failure keeps nothing. The verdict on the whole
recording (continuous, covering the visit) is computed from the segments when asked.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import uuid
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from fieldvisit import access
from fieldvisit.actions import late_evidence
from fieldvisit.actions.common import require_team_agent
from fieldvisit.actions.files import LocalFile, Received, check_declared_hash, file_entry, storing
from fieldvisit.choices import UploadStatus
from fieldvisit.ledger import store as ledger
from fieldvisit.media import MediaError
from fieldvisit.media.audio import AudioInfo, inspect_audio
from fieldvisit.models import AudioSegment, DeviceToken, EvidenceFile, Recording, Upload, Visit
from fieldvisit.queries.recordings import as_rule_segment
from fieldvisit.rules import RuleViolation
from fieldvisit.rules import recording as rules
from fieldvisit.texts import _, format_lazy
from fieldvisit.tus import partials


@dataclass(frozen=True)
class SegmentMeta:
    """What ``Upload-Metadata`` says about a segment (validated at creation)."""

    recording: uuid.UUID
    index: int
    started_at: dt.datetime
    sha256: str
    prev_sha256: str

    @classmethod
    def of(cls, upload: Upload) -> SegmentMeta:
        return cls.parse(upload.metadata)

    @classmethod
    def parse(cls, meta: dict[str, str]) -> SegmentMeta:
        """How completion reads the stored ``Upload-Metadata`` (raises ``ValueError``)."""
        return cls(
            recording=uuid.UUID(meta["recording"]),
            index=int(meta["segment"]),
            started_at=dt.datetime.fromisoformat(meta["started_at"]),
            sha256=meta["sha256"].lower(),
            prev_sha256=(meta.get("prev_sha256") or "").lower(),
        )


def check_can_join(visit: Visit, meta: SegmentMeta) -> None:
    """Refuse early (at upload creation) what could never join the recording."""
    recording = Recording.objects.filter(visit=visit).first()
    if recording is not None and recording.id != meta.recording:
        raise RuleViolation(
            "chain_broken",
            format_lazy(
                _("The visit's recording is {id}; a visit has one recording."), id=recording.id
            ),
        )
    if recording is None and Recording.objects.filter(pk=meta.recording).exists():
        raise RuleViolation(
            "chain_broken",
            format_lazy(
                _("Recording {recording} is another visit's recording."), recording=meta.recording
            ),
        )
    if recording is not None and recording.segments.filter(index=meta.index).exists():
        raise RuleViolation(
            "chain_broken",
            format_lazy(
                _("Segment {index} of this recording is already stored."), index=meta.index
            ),
        )
    if meta.index == 0 and meta.prev_sha256:
        raise RuleViolation("chain_broken", _("Segment 0 has no previous segment."))


# The answers ``require_owner_may_upload`` gives: the uploader, not the bytes, is refused.
UPLOADER_REFUSED = frozenset({"not_found", "not_team_member", "token_revoked"})


def require_uploader(visit_id: Any, user: Any) -> Visit:
    """Who may upload a visit's audio, checked at creation, on every PATCH and at completion
    (under the visit's lock, in ``add_segment``):
        a visit the user sees (``access.visits_visible_to``: an active agent of its team; 404
        otherwise, as any other team's visit) and a qualified agent of its team (403
        ``not_team_member``). An agent moved off the team or deactivated mid-upload gets the
        answer creation would give them now."""
    visit = access.visits_visible_to(user).select_related("stop__route").filter(pk=visit_id).first()
    if visit is None:
        raise RuleViolation("not_found", _("No such visit."))
    require_team_agent(user, visit.stop.route.team_id)
    return visit


def require_uploader_on(route: Any, user: Any) -> None:
    """``require_uploader`` for a visit on ``route``, read with its team (a PATCH's upload
    comes with them, ``queries.uploads``): the same answers, checked without a query."""
    if not access.route_visible_to(user, route):
        raise RuleViolation("not_found", _("No such visit."))
    require_team_agent(user, route.team_id)


def require_owner_may_upload(upload: Upload, *, completing: bool = False) -> None:
    """``require_uploader`` for the upload's owner, read afresh (a PATCH can take minutes); at
    completion, also the phone's token still live (revoked meanwhile: 401, like the next
    request would get)."""
    owner = get_user_model().objects.select_related("agent_profile__team").get(pk=upload.owner_id)
    require_uploader(upload.visit_id, owner)
    if not completing:
        return
    live = DeviceToken.objects.filter(user=owner, device_id=upload.device_id, revoked_at=None)
    if not live.exists():
        raise RuleViolation("token_revoked", _("This device's token was revoked; sign in again."))


def add_segment(
    upload: Upload, sha256: str, crc32: int, now: dt.datetime | None = None
) -> AudioSegment:
    """Join a finished upload to the visit's recording as its next segment: the declared
    hash, the audio, then (under the visit's lock) the uploader and the chain. A failure keeps
    nothing."""
    meta = SegmentMeta.of(upload)
    check_declared_hash(sha256, meta.sha256, "segment")
    path = str(partials.path_for(upload.id))
    info = _inspect(path)
    ended = meta.started_at + dt.timedelta(seconds=info.duration_s)
    agent = upload.owner
    # Stage a hard link, not the partial file itself: until the segment commits, the upload
    # keeps its bytes (a HEAD meanwhile sees them; a storage failure can be retried).
    link = f"{path}.{uuid.uuid4().hex}.staging"
    os.link(path, link)
    content = LocalFile(link)
    try:
        received = Received(sha256, upload.length, crc32, info.media_type, content)
        with storing(received) as record, transaction.atomic(durable=True):
            # One segment at a time per visit: the chain check reads the previous segment.
            # NO KEY: check-ins referring to the visit commit (checking their foreign key
            # with FOR KEY SHARE) while holding the ledger's lock that we wait for.
            arrival = late_evidence.arriving(upload.visit_id, [], ended, now)
            # Under the lock: a move off the team committed since the last byte's checks is
            # seen here, and none can commit before this segment does.
            require_owner_may_upload(upload, completing=True)
            check_can_join(arrival.visit, meta)
            recording = _recording_for(arrival, meta, agent)
            _check_chain(recording, meta)
            (file,) = record()
            segment = _store_segment(upload, meta, info, recording, file, arrival)
            actor = ledger.actor_for(agent, upload.device_id)
            ledger.append(
                "recording.segment_added",
                actor,
                f"visit:{arrival.visit.id}",
                _segment_added(segment, upload, arrival),
            )
            arrival.recorded(kind="segment", record_id=segment.id, actor=actor, agent=agent)
    finally:
        content.close()
        with contextlib.suppress(FileNotFoundError):
            os.remove(link)
    return segment


def _inspect(path: str) -> AudioInfo:
    """The audio's format and duration, judged from its bytes."""
    try:
        return inspect_audio(path)
    except MediaError as error:
        raise RuleViolation(error.code, error.detail) from None


def _recording_for(arrival: late_evidence.Arrival, meta: SegmentMeta, agent: Any) -> Recording:
    """The visit's recording; its first segment starts it."""
    recording = Recording.objects.filter(visit=arrival.visit).first()
    if recording is None:
        recording = Recording.objects.create(
            id=meta.recording, visit=arrival.visit, started_by=agent, created_at=arrival.received_at
        )
    return recording


def _check_chain(recording: Recording, meta: SegmentMeta) -> None:
    """The segment names the hash of the one before it (``rules.chain_verdict``)."""
    previous = recording.segments.filter(index=meta.index - 1).first()
    rules.chain_verdict(
        meta.index, meta.prev_sha256, as_rule_segment(previous) if previous else None
    ).raise_if_failed()


def _store_segment(
    upload: Upload,
    meta: SegmentMeta,
    info: AudioInfo,
    recording: Recording,
    file: EvidenceFile,
    arrival: late_evidence.Arrival,
) -> AudioSegment:
    """The segment's row, and its upload marked complete."""
    segment = AudioSegment.objects.create(
        id=upload.id,
        recording=recording,
        index=meta.index,
        file=file,
        prev_sha256=meta.prev_sha256,
        started_at=meta.started_at,
        duration_s=round(info.duration_s, 3),
        format=info.format,
        agent=upload.owner,
        device_id=upload.device_id,
        received_at=arrival.received_at,
        late_by_s=arrival.late_by_s,
    )
    Upload.objects.filter(pk=upload.pk).update(
        status=UploadStatus.COMPLETED, ended_at=arrival.received_at
    )
    return segment


def _segment_added(
    segment: AudioSegment, upload: Upload, arrival: late_evidence.Arrival
) -> dict[str, Any]:
    """The ``recording.segment_added`` ledger entry's data."""
    return {
        "recording": segment.recording_id,
        "segment": segment.index,
        "file": file_entry(segment.file),
        "prev_sha256": segment.prev_sha256,
        "started_at": segment.started_at,
        "duration_s": segment.duration_s,
        "format": segment.format,
        "upload": upload.id,
        "received_at": arrival.received_at,
        "flags": arrival.flags,
        "late_by_s": arrival.late_by_s,
    }
