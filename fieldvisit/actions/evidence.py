"""Ingesting photos and notice receipts: verify, inspect, stage, record, ledger, promote.

The order matters for "nothing lost, nothing half-stored": the declared hash and the content
are checked before anything is kept; the bytes are staged before the transaction; the rows
and the ledger entry are written in one transaction; the bytes reach their final key only
after it commits, and a failure anywhere removes the staged bytes.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from fieldvisit.actions import alerts, late_evidence, lone
from fieldvisit.actions.common import require_team_agent
from fieldvisit.actions.files import Received, check_declared_hash, file_entry, storing
from fieldvisit.choices import AlertKind
from fieldvisit.evidence.receiving import HashedUploadedFile
from fieldvisit.ledger import store as ledger
from fieldvisit.media import MediaError
from fieldvisit.media.images import THUMBNAIL_PX, Exif, ImageInfo, inspect_image
from fieldvisit.models import Photo, Receipt, Visit
from fieldvisit.queries.visits import visit_window
from fieldvisit.rules import RuleViolation
from fieldvisit.rules import evidence as rules
from fieldvisit.rules.checkins import is_online
from fieldvisit.texts import _, format_lazy
from fieldvisit.words import person_name


@dataclass
class Image:
    """A received image that passed the hash and content checks."""

    received: Received
    info: ImageInfo


def inspect(
    upload: HashedUploadedFile, declared: str, field: str, accept: frozenset[str] | None = None
) -> Image:
    """The declared hash, then the content: the real type, a whole decodable image."""
    check_declared_hash(upload.sha256, declared, field)
    try:
        # The decode that proves the image whole makes its thumbnail too: never a second one.
        info = inspect_image(
            upload.temporary_file_path(), thumbnail_px=THUMBNAIL_PX, markers=upload.markers
        )
    except MediaError as error:
        raise RuleViolation(error.code, error.detail, {field: [error.detail]}) from None
    if accept is not None and info.media_type not in accept:
        names = ", ".join(sorted(accept))
        detail = format_lazy(
            _("The {field} is {media_type}; it must be {names}."),
            field=field,
            media_type=info.media_type,
            names=names,
        )
        raise RuleViolation("unsupported_media_type", detail, {field: [detail]})
    # The thumbnail is kept once the evidence is recorded (``storing``), never before.
    received = Received(
        upload.sha256, upload.size, upload.crc32, info.media_type, upload, thumbnail=info.thumbnail
    )
    return Image(received, info)


def captured(
    data: PhotoData | ReceiptData,
    agent: Any,
    device_id: str,
    received_at: dt.datetime,
    flags: list[str],
    fingerprint: str,
) -> dict[str, Any]:
    """The fields every record a phone sends carries (``Captured``)."""
    return {
        "id": data.id,
        "visit": data.visit,
        "agent": agent,
        "device_id": device_id,
        "captured_at": data.captured_at,
        "received_at": received_at,
        "lat": data.lat,
        "lon": data.lon,
        "flags": flags,
        "request_sha256": fingerprint,
    }


@dataclass
class PhotoData:
    id: uuid.UUID
    visit: Visit
    kind: str
    captured_at: dt.datetime
    lat: float | None
    lon: float | None
    partner_in_frame: bool
    file: HashedUploadedFile
    sha256: str


def add_photo(
    data: PhotoData, agent: Any, device_id: str, fingerprint: str, now: dt.datetime | None = None
) -> Photo:
    """Record a photo taken at the visit, with what its EXIF says against the address."""
    visit = data.visit
    require_team_agent(agent, visit.stop.route.team_id)
    image = inspect(data.file, data.sha256, "file")
    exif = image.info.exif
    taken_at = rules.exif_moment(exif.taken_at, visit.stop.address.zone_name)
    flags, distance = _judge_photo(data, agent, exif, taken_at)
    with storing(image.received) as record, transaction.atomic(durable=True):
        # Locked before the ledger: a review and this photo cannot pass each other.
        arrival = late_evidence.arriving(visit.pk, flags, data.captured_at, now)
        (file,) = record()
        photo = Photo.objects.create(
            **captured(data, agent, device_id, arrival.received_at, arrival.flags, fingerprint),
            late_by_s=arrival.late_by_s,
            file=file,
            kind=data.kind,
            partner_in_frame=data.partner_in_frame,
            width=image.info.width,
            height=image.info.height,
            exif_lat=exif.lat,
            exif_lon=exif.lon,
            exif_altitude=exif.altitude,
            exif_taken_at=taken_at,
            exif_make=exif.make or "",
            exif_model=exif.model or "",
            distance_m=round(distance, 1) if distance is not None else None,
        )
        actor = ledger.actor_for(agent, device_id)
        ledger.append("photo.added", actor, f"visit:{visit.id}", _photo_added(photo, exif, arrival))
        arrival.recorded(kind="photo", record_id=photo.id, actor=actor, agent=agent)
        if "lone_agent" in photo.flags:
            lone.raise_lone_alert(
                visit, agent, "photo", actor, captured_at=photo.captured_at, lat=photo.lat,
                lon=photo.lon,
            )  # fmt: skip
    return photo


def _judge_photo(
    data: PhotoData, agent: Any, exif: Exif, taken_at: dt.datetime | None
) -> tuple[list[str], float | None]:
    """The photo's flags and its distance from the address (``rules.photo_flags``)."""
    visit = data.visit
    address = visit.stop.address
    return rules.photo_flags(
        exif_lat=exif.lat,
        exif_lon=exif.lon,
        exif_taken_at=taken_at,
        captured_at=data.captured_at,
        address=(address.lat, address.lon) if address.geocoded else None,
        radius_m=visit.stop.case.creditor.geofence_radius_m,
        window=visit_window(visit),
        partner_distance_m=lone.partner_distance_m(visit, agent, data.captured_at),
    )


def _photo_added(photo: Photo, exif: Exif, arrival: late_evidence.Arrival) -> dict[str, Any]:
    """The ``photo.added`` ledger entry's data (the EXIF as read, before any default)."""
    return {
        "photo": photo.id,
        "file": file_entry(photo.file),
        "kind": photo.kind,
        "partner_in_frame": photo.partner_in_frame,
        "captured_at": photo.captured_at,
        "received_at": arrival.received_at,
        "lat": photo.lat,
        "lon": photo.lon,
        "exif": {
            "lat": exif.lat,
            "lon": exif.lon,
            "altitude": exif.altitude,
            "taken_at": photo.exif_taken_at,
            "make": exif.make,
            "model": exif.model,
        },
        "distance_m": photo.distance_m,
        "flags": arrival.flags,
        "late_by_s": arrival.late_by_s,
    }


@dataclass
class ReceiptData:
    id: uuid.UUID
    visit: Visit
    notice_number: str
    outcome: str
    signer_name: str
    signer_relation: str
    captured_at: dt.datetime
    lat: float | None
    lon: float | None
    signature: HashedUploadedFile | None
    signature_sha256: str
    photo: HashedUploadedFile | None
    photo_sha256: str
    relation: uuid.UUID | None = None  # the case's relation who signed
    third_party_reason: str = ""  # why someone not listed signed


SIGNATURE_TYPES = frozenset({"image/png"})
SLIP_PHOTO_TYPES = frozenset({"image/jpeg", "image/heic"})


def record_receipt(
    data: ReceiptData,
    agent: Any,
    device_id: str,
    fingerprint: str,
    now: dt.datetime | None = None,
) -> Receipt:
    """Record how the notice was delivered (or why not), with its signature and slip photo,
    and who signed for the debtor (``rules.judge_signer``)."""
    visit = data.visit
    require_team_agent(agent, visit.stop.route.team_id)
    signer = _signer(data, now or timezone.now())
    # A relation that is not the case's is refused first; a missing reason only once the
    # fields every signed receipt needs are there.
    if signer.verdict.code != "third_party_reason_required":
        _refuse(signer)
    _require_outcome_fields(data)
    _refuse(signer)
    rules.check_notice_number(data.notice_number, visit.stop.notice_number or "").raise_if_failed()
    signature, photo = _inspect_slip(data)
    together = rules.check_partner_at_door(
        visit_window(visit).was_open(data.captured_at),
        lone.partner_distance_m(visit, agent, data.captured_at),
    )
    flags = [] if together.ok else ["lone_agent"]
    flags += signer.flags
    with (
        storing(
            signature.received if signature else None, photo.received if photo else None
        ) as record,
        transaction.atomic(durable=True),
    ):
        arrival = late_evidence.arriving(visit.pk, flags, data.captured_at, now)
        rows = iter(record())
        signature_row = next(rows) if signature else None
        photo_row = next(rows) if photo else None
        receipt = Receipt.objects.create(
            **captured(data, agent, device_id, arrival.received_at, arrival.flags, fingerprint),
            notice_number=data.notice_number.strip(),
            outcome=data.outcome,
            signer_name=data.signer_name.strip(),
            signer_relation=data.signer_relation.strip(),
            relation_id=signer.relation.id if signer.relation else None,
            third_party_reason=data.third_party_reason.strip() if not signer.relation else "",
            signature=signature_row,
            photo=photo_row,
            late_by_s=arrival.late_by_s,
        )
        actor = ledger.actor_for(agent, device_id)
        ledger.append(
            "receipt.recorded", actor, f"visit:{visit.id}", _receipt_recorded(receipt, arrival)
        )
        arrival.recorded(kind="receipt", record_id=receipt.id, actor=actor, agent=agent)
        if "lone_agent" in receipt.flags:
            lone.raise_lone_alert(
                visit, agent, "receipt", actor, captured_at=receipt.captured_at,
                lat=receipt.lat, lon=receipt.lon,
            )  # fmt: skip
        if signer.flags:
            _third_party_alert(receipt, signer, agent, actor)
    return receipt


def _signer(data: ReceiptData, now: dt.datetime) -> rules.Signer:
    """Who signed for the debtor, from the case's relations; the receipt's signer name and
    relation filled in from the chosen relation when the phone left them out. A refusal is
    raised by the caller, after the fields each outcome needs are checked."""
    relations = [
        rules.ListedRelation(r.id, r.name, r.kind, r.do_not_contact)
        for r in data.visit.stop.case.relations.all()
    ]
    signer = rules.judge_signer(
        data.outcome,
        relations,
        data.relation,
        data.signer_name,
        data.third_party_reason,
        online=is_online(data.captured_at, now),
    )
    if signer.relation is not None:
        data.signer_name = data.signer_name.strip() or signer.relation.name
        data.signer_relation = data.signer_relation.strip() or signer.relation.kind
    return signer


def _refuse(signer: rules.Signer) -> None:
    if not signer.verdict.ok:
        field = "third_party_reason" if signer.verdict.code.startswith("third") else "relation"
        detail = signer.verdict.detail
        raise RuleViolation(signer.verdict.code, detail, {field: [detail]})


THIRD_PARTY_DETAILS = {
    "unlisted_third_party": _(
        "{agent} recorded the notice for case {case} as signed by someone who is not a listed "
        "relation of the case. Reason given: {reason}"
    ),
    "no_third_party_reason": _(
        "{agent} recorded the notice for case {case} as signed by someone who is not a listed "
        "relation of the case, with no reason given (the receipt was queued offline)."
    ),
    "relation_do_not_contact": _(
        "{agent} recorded the notice for case {case} as signed by a relation who may not be "
        "contacted about the debt."
    ),
}


def _third_party_alert(receipt: Receipt, signer: rules.Signer, agent: Any, actor: Any) -> None:
    """Inside the receipt's transaction: the supervisor hears of a notice signed by anyone
    but a relation free to be contacted (the signer's name stays out of the message)."""
    visit = receipt.visit
    alerts.raise_alert(
        kind=AlertKind.THIRD_PARTY,
        team=visit.stop.route.team,
        detail=format_lazy(
            THIRD_PARTY_DETAILS[signer.flags[-1]],
            agent=person_name(agent),
            case=visit.stop.case.number,
            reason=receipt.third_party_reason,
        ),
        actor=actor,
        route=visit.stop.route,
        visit=visit,
        raised_by=agent,
        agent=agent,
        captured_at=receipt.captured_at,
        lat=receipt.lat,
        lon=receipt.lon,
    )


def _require_outcome_fields(data: ReceiptData) -> None:
    """Each outcome names the fields it needs (``rules.receipt_missing``)."""
    missing = rules.receipt_missing(
        data.outcome,
        signer_name=data.signer_name,
        signer_relation=data.signer_relation,
        has_signature=data.signature is not None,
        has_photo=data.photo is not None,
    )
    if missing:
        raise RuleViolation(
            "validation_error",
            _("Some fields are invalid."),
            errors={
                name: [
                    format_lazy(_("Required when the outcome is {outcome}."), outcome=data.outcome)
                ]
                for name in missing
            },
        )


def _inspect_slip(data: ReceiptData) -> tuple[Image | None, Image | None]:
    """The signature and the photo of the signed slip, each checked when sent."""
    signature = (
        inspect(data.signature, data.signature_sha256, "signature", SIGNATURE_TYPES)
        if data.signature is not None
        else None
    )
    photo = (
        inspect(data.photo, data.photo_sha256, "photo", SLIP_PHOTO_TYPES)
        if data.photo is not None
        else None
    )
    return signature, photo


def _receipt_recorded(receipt: Receipt, arrival: late_evidence.Arrival) -> dict[str, Any]:
    """The ``receipt.recorded`` ledger entry's data."""
    return {
        "receipt": receipt.id,
        "notice_number": receipt.notice_number,
        "outcome": receipt.outcome,
        "signer_name": receipt.signer_name,
        "signer_relation": receipt.signer_relation,
        **(
            {"relation": receipt.relation_id}
            if receipt.relation_id
            else {"third_party_reason": receipt.third_party_reason}
            if receipt.third_party_reason
            else {}
        ),
        "signature": file_entry(receipt.signature) if receipt.signature else None,
        "photo": file_entry(receipt.photo) if receipt.photo else None,
        "captured_at": receipt.captured_at,
        "received_at": arrival.received_at,
        "lat": receipt.lat,
        "lon": receipt.lon,
        "flags": arrival.flags,
        "late_by_s": arrival.late_by_s,
    }
