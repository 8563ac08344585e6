"""tus uploads: create, receive a PATCH, terminate, expire. Completion hands the bytes to
``fieldvisit.actions.recordings``.

One writer at a time per upload: a PATCH takes the upload's writer lock (an OS file lock,
``partials.hold``) and a lease with a conditional UPDATE (works the same on SQLite and
PostgreSQL); a concurrent PATCH gets ``423 upload_locked``, so bytes are never interleaved.
A server killed mid-PATCH leaves its lease in the row but not its lock: the next PATCH, able
to take the lock, takes the lease over at once, so a client resumes right after a restart.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from fieldvisit.actions import recordings
from fieldvisit.actions.common import require_team_agent
from fieldvisit.actions.recordings import require_owner_may_upload
from fieldvisit.choices import UploadStatus
from fieldvisit.models import Upload, Visit
from fieldvisit.queries import uploads
from fieldvisit.rules import RuleViolation
from fieldvisit.texts import _, for_records, format_lazy
from fieldvisit.tus import partials
from fieldvisit.tus.protocol import Checksum

log = logging.getLogger(__name__)

LEASE = dt.timedelta(minutes=2)
LEASE_RENEW_EVERY = dt.timedelta(seconds=30)


def expires_after() -> dt.timedelta:
    return dt.timedelta(hours=settings.TUS_EXPIRES_AFTER_HOURS)


def create_upload(
    *,
    visit: Visit,
    owner: Any,
    device_id: str,
    length: int,
    metadata: dict[str, str],
    segment: recordings.SegmentMeta,
    now: dt.datetime | None = None,
) -> Upload:
    """A new upload for a segment of the visit's recording (checked before any byte)."""
    require_team_agent(owner, visit.stop.route.team_id)
    if length > settings.TUS_MAX_SIZE:
        raise RuleViolation(
            "file_too_large",
            format_lazy(
                _("Upload-Length {length} exceeds Tus-Max-Size {max_size}."),
                length=length,
                max_size=settings.TUS_MAX_SIZE,
            ),
        )
    if length == 0:
        raise RuleViolation(
            "invalid_audio", _("An empty segment holds no audio."), {"Upload-Length": ["0"]}
        )
    recordings.check_can_join(visit, segment)
    now = now or timezone.now()
    upload = Upload.objects.create(
        id=uuid.uuid4(),
        owner=owner,
        device_id=device_id,
        visit=visit,
        length=length,
        metadata=metadata,
        created_at=now,
        expires_at=now + expires_after(),
    )
    partials.create(upload.id)
    return upload


def find(upload_id: Any, owner: Any) -> Upload:
    """The caller's own upload, or a problem saying why there is none."""
    upload = uploads.owned_upload(upload_id, owner.pk)
    if upload is None or upload.status == UploadStatus.TERMINATED:
        raise RuleViolation("not_found", _("No such upload."))
    # The owner as this request's authentication just read it (agent profile and team
    # included): fresh, and not read a second time by the uploader check, which needs no
    # query either (the visit's route and team came with the upload).
    upload.owner = owner
    if upload.status == UploadStatus.EXPIRED or (
        upload.status == UploadStatus.RECEIVING and upload.expires_at <= timezone.now()
    ):
        raise RuleViolation("upload_expired", _("The upload expired; start a new one."))
    if upload.status == UploadStatus.FAILED:
        failure = upload.failure or {}
        raise RuleViolation(
            "upload_gone",
            format_lazy(
                _("The upload was refused when complete ({code}: {detail}); start a new one."),
                code=failure.get("code", "?"),
                detail=failure.get("detail", ""),
            ),
        )
    if upload.status == UploadStatus.RECEIVING:
        held = partials.hold(upload.id)  # None: a live writer is at it, the row is current
        if held is not None:
            try:
                settled = partials.settle(upload.id, upload.offset)
                if settled != upload.offset:
                    log.warning(
                        "upload %s: resuming at %s, not %s (bytes lost)",
                        upload.id,
                        settled,
                        upload.offset,
                    )
                    Upload.objects.filter(pk=upload.pk, offset=upload.offset).update(offset=settled)
                    upload.offset = settled
            finally:
                held.release()
    return upload


@dataclass
class Lease:
    upload: Upload
    token: str
    renewed: dt.datetime
    held: partials.Held

    def renew(self) -> None:
        now = timezone.now()
        if now - self.renewed >= LEASE_RENEW_EVERY:
            Upload.objects.filter(pk=self.upload.pk, lease=self.token).update(
                lease_until=now + LEASE
            )
            self.renewed = now

    released: bool = False

    def release(self, **changes: Any) -> None:
        """Give the lease back, with the upload's last changes in the same UPDATE, then the
        writer lock (in that order: whoever takes the lock next finds the row up to date)."""
        if not self.released:
            self.released = True
            try:
                uploads.release_lease(self.upload.pk, self.token, **changes)
            finally:
                self.held.release()


def _locked() -> RuleViolation:
    return RuleViolation(
        "upload_locked", _("Another request is writing to this upload; retry shortly.")
    )


def take_lease(upload: Upload, offset: int | None = None) -> Lease:
    """One writer at a time; with ``offset``, only if the upload is still at that offset
    (one conditional UPDATE decides both in the normal path)."""
    held = partials.hold(upload.id)
    if held is None:
        raise _locked()
    try:
        now = timezone.now()
        token = secrets.token_hex(16)
        taken = uploads.take_lease(upload.pk, token, now + LEASE, offset=offset, now=now)
        if not taken:
            upload.refresh_from_db()
            if upload.lease and upload.status == UploadStatus.RECEIVING:
                # A lease in the row, but nobody holds the lock: its writer died (a server
                # killed mid-PATCH). Take it over, if it is still that lease.
                log.warning("upload %s: taking over the lease of a writer that died", upload.id)
                taken = uploads.take_lease(
                    upload.pk, token, now + LEASE, offset=offset, over=upload.lease
                )
        if not taken:
            upload.refresh_from_db()
            if offset is not None and upload.offset != offset:
                raise RuleViolation(
                    "upload_offset_mismatch",
                    format_lazy(
                        _("Upload-Offset is {offset}, but the upload holds {held} bytes."),
                        offset=offset,
                        held=upload.offset,
                    ),
                )
            if upload.status == UploadStatus.COMPLETED:
                raise RuleViolation(
                    "upload_complete", _("The upload is complete and cannot change.")
                )
            raise _locked()
    except BaseException:
        held.release()
        raise
    if offset is not None:
        upload.offset = offset
    upload.lease, upload.lease_until = token, now + LEASE
    return Lease(upload, token, now, held)


def receive(
    upload: Upload,
    offset: int,
    body: Iterator[bytes],
    declared_length: int | None,
    checksum: Checksum | None,
) -> Upload:
    """Append a PATCH body at ``offset``; complete the upload when its last byte arrives."""
    _require_open_at(upload, offset)
    _require_owner_may_upload(upload)
    lease = take_lease(upload, offset)
    try:
        upload = lease.upload
        room = upload.length - upload.offset
        if declared_length is not None and declared_length > room:
            raise RuleViolation(
                "file_too_large",
                format_lazy(
                    _("The chunk of {declared_length} bytes goes past Upload-Length {length}."),
                    declared_length=declared_length,
                    length=upload.length,
                ),
            )
        hasher = partials.running_hash(upload.id, upload.offset)
        new_offset = _write_chunk(lease, body, room, declared_length, checksum, hasher)
        partials.keep(upload.id, new_offset, hasher)
        upload.offset, upload.expires_at = new_offset, timezone.now() + expires_after()
        if upload.offset < upload.length:
            lease.release(offset=upload.offset, expires_at=upload.expires_at)
            return upload
        Upload.objects.filter(pk=upload.pk, lease=lease.token).update(offset=upload.offset)
        return _complete(upload, hasher)
    finally:
        lease.release()


def _require_owner_may_upload(upload: Upload) -> None:
    """``recordings.require_owner_may_upload`` before the bytes of a PATCH: with the owner
    this request authenticated (``find`` puts it on the upload; read moments ago, so as fresh
    as reading it again) and the visit's route and team ``find`` read with the upload, else
    read afresh."""
    cached = (Upload._meta.get_field(name).is_cached(upload) for name in ("owner", "visit"))
    if all(cached) and upload.owner.pk == upload.owner_id:
        recordings.require_uploader_on(upload.visit.stop.route, upload.owner)
    else:
        require_owner_may_upload(upload)


def _require_open_at(upload: Upload, offset: int) -> None:
    """Refuse at once what the upload's row shows: it is complete, or at another offset."""
    if upload.status == UploadStatus.COMPLETED:
        raise RuleViolation("upload_complete", _("The upload is complete and cannot change."))
    if offset != upload.offset:
        # Fast answer from the row just read; take_lease checks again atomically.
        raise RuleViolation(
            "upload_offset_mismatch",
            format_lazy(
                _("Upload-Offset is {offset}, but the upload holds {held} bytes."),
                offset=offset,
                held=upload.offset,
            ),
        )


def _write_chunk(
    lease: Lease,
    body: Iterator[bytes],
    room: int,
    declared_length: int | None,
    checksum: Checksum | None,
    hasher: partials.Digests,
) -> int:
    """Write the body after the upload's bytes, feeding ``hasher``; the new offset once the
    chunk is kept. A chunk that cannot be verified against its checksum is rolled back."""
    upload = lease.upload
    chunk_hash = checksum.hasher() if checksum else None
    writer = partials.Writer(upload.id, upload.offset)
    try:
        hashing = _Hashing([hasher] if chunk_hash is None else [hasher, chunk_hash])
        try:
            _copy_body(body, writer, room, upload.length, hashing, lease)
            cut_short = declared_length is not None and writer.written < declared_length
        except OSError:
            cut_short = True
        if cut_short:
            # The client went away mid-body. Without a checksum, tus keeps what arrived;
            # with one, the chunk cannot be verified and is dropped.
            log.info("upload %s: body cut short after %s bytes", upload.id, writer.written)
            if chunk_hash:
                writer.rollback()
                raise RuleViolation(
                    "malformed_request",
                    _(
                        "The body ended before Content-Length bytes; the checksummed chunk "
                        "was discarded."
                    ),
                )
        # Durable before the offset is acknowledged; the last block is hashed meanwhile.
        new_offset = writer.commit(meanwhile=hashing.finish)
        if chunk_hash and chunk_hash.digest() != checksum.digest:
            writer.rollback()
            raise RuleViolation(
                "checksum_mismatch",
                format_lazy(
                    _("The chunk's {algorithm} does not match Upload-Checksum; it was discarded."),
                    algorithm=checksum.algorithm,
                ),
            )
        return new_offset
    except BaseException:
        writer.rollback()
        raise
    finally:
        writer.close()


class _Hashing:
    """Feeds the written blocks to the hashers one block behind: the last block of a chunk
    is hashed by ``finish``, while the chunk is being synced to disk."""

    def __init__(self, hashers: list[Any]) -> None:
        self.hashers = hashers
        self.pending: bytes | None = None

    def add(self, block: bytes) -> None:
        self.finish()
        self.pending = block

    def finish(self) -> None:
        if self.pending is not None:
            for hasher in self.hashers:
                hasher.update(self.pending)
            self.pending = None


def _copy_body(
    body: Iterator[bytes],
    writer: partials.Writer,
    room: int,
    length: int,
    hashing: _Hashing,
    lease: Lease,
) -> None:
    """Copy the body's blocks to ``writer`` and ``hashing``, never past ``room`` bytes,
    renewing the lease as it goes."""
    for block in body:
        if writer.written + len(block) > room:
            raise RuleViolation(
                "file_too_large",
                format_lazy(_("The body goes past Upload-Length {length}."), length=length),
            )
        writer.write(block)
        hashing.add(block)
        lease.renew()


def _complete(upload: Upload, digests: partials.Digests) -> Upload:
    """The last byte arrived: the bytes become a segment, or the upload fails, keeping nothing."""
    try:
        recordings.add_segment(upload, digests.hexdigest(), digests.crc32)
    except RuleViolation as problem:
        if problem.code == "storage_unavailable":
            raise  # storage briefly unavailable: the bytes stay, the last PATCH can be retried
        if problem.code in recordings.UPLOADER_REFUSED:
            # Checked under the visit's lock: the bytes stay (an agent put back, or signed in
            # again, finishes with an empty PATCH), nothing joins the recording.
            raise
        Upload.objects.filter(pk=upload.pk, status=UploadStatus.RECEIVING).update(
            status=UploadStatus.FAILED,
            ended_at=timezone.now(),
            failure={"code": problem.code, "detail": for_records(problem.detail)},
        )
        partials.remove(upload.id)
        raise
    partials.remove(upload.id)
    upload.refresh_from_db()
    return upload


def terminate(upload: Upload) -> None:
    """Termination: only of unfinished uploads; completed segments are evidence."""
    if upload.status == UploadStatus.COMPLETED:
        raise RuleViolation(
            "upload_complete", _("A completed upload is evidence and cannot be terminated.")
        )
    lease = take_lease(upload)
    try:
        Upload.objects.filter(pk=upload.pk).update(
            status=UploadStatus.TERMINATED, ended_at=timezone.now()
        )
        partials.remove(upload.id)
    finally:
        lease.release()


def expire_uploads(now: dt.datetime | None = None) -> int:
    """The expiration job: unfinished uploads past their time are ended and their bytes freed."""
    now = now or timezone.now()
    idle = Upload.objects.filter(status=UploadStatus.RECEIVING, expires_at__lte=now).filter(
        Q(lease="") | Q(lease_until__lt=now)
    )
    stale = list(idle.values_list("pk", flat=True))
    for upload_id in stale:
        # One conditional UPDATE: a PATCH that took the upload meanwhile keeps it.
        if idle.filter(pk=upload_id).update(status=UploadStatus.EXPIRED, ended_at=now):
            partials.remove(upload_id)
    return len(stale)


def sweep_upload_dir(older_than: dt.timedelta = dt.timedelta(hours=1)) -> int:
    """Remove what a crash left in ``TUS_UPLOAD_DIR``: the bytes and lock file of uploads no
    longer receiving (a server killed between storing a segment and removing its bytes), and
    completion links (``*.staging``) no live request is using. Files changed within
    ``older_than`` are left alone. Returns how many files were removed."""
    directory = Path(settings.TUS_UPLOAD_DIR)
    if not directory.is_dir():
        return 0
    cutoff = (timezone.now() - older_than).timestamp()
    receiving = {
        str(pk)
        for pk in Upload.objects.filter(status=UploadStatus.RECEIVING).values_list("pk", flat=True)
    }
    removed = 0
    for path in directory.iterdir():
        upload_id = path.name.split(".", 1)[0]
        try:
            if not path.is_file() or path.stat().st_mtime > cutoff:
                continue
            if upload_id in receiving:
                if not path.name.endswith(".staging"):
                    continue  # the upload's own bytes and lock
                held = partials.hold(upload_id)
                if held is None:
                    continue  # its completion is under way
                try:
                    path.unlink()
                finally:
                    held.release()
            else:
                path.unlink()
        except FileNotFoundError:
            continue
        removed += 1
        log.info("removed %s, left by a request that died", path.name)
    return removed
