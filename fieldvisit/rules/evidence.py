"""Rules for photos and notice receipts (DESIGN rules 4, 7 and 8).

Evidence is never refused for what it shows: a photo far from the address or taken before
the partner arrived is still evidence. These functions turn what a file and the visit say
into flags; the compliance verdict reads the flags.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass

from fieldvisit.choices import PhotoKind, ReceiptOutcome
from fieldvisit.rules import Verdict
from fieldvisit.rules.checkins import distance_m
from fieldvisit.texts import _, format_lazy

# A phone's EXIF clock and its app clock are the same clock; more than this apart, one of
# them was changed.
EXIF_TIME_TOLERANCE = dt.timedelta(minutes=5)
# Photos a little before the first arrival (walking up to the door) or after the last leave
# still belong to the visit.
VISIT_MARGIN = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class VisitWindow:
    """When the visit happened, as the check-ins tell it."""

    first_arrive: dt.datetime | None
    opened_at: dt.datetime | None
    closed_at: dt.datetime | None

    def was_open(self, moment: dt.datetime) -> bool:
        """Both agents were there together (rule 2) at ``moment``."""
        if self.opened_at is None or moment < self.opened_at:
            return False
        return self.closed_at is None or moment <= self.closed_at

    def contains(self, moment: dt.datetime) -> bool:
        if self.first_arrive is None or moment < self.first_arrive - VISIT_MARGIN:
            return False
        return self.closed_at is None or moment <= self.closed_at + VISIT_MARGIN


# How far from the door the partner's latest position may be for the agent not to be alone.
LONE_DISTANCE_M = 100.0


def check_partner_at_door(both_there: bool, partner_distance_m: float | None) -> Verdict:
    """Rule 2 at the moment of an action at the door (a photo, a receipt): both agents had
    arrived and neither had left, and the partner's latest position is near the door."""
    if not both_there:
        return Verdict.failed("lone_agent", _("Only one agent was at the visit."))
    if partner_distance_m is not None and partner_distance_m > LONE_DISTANCE_M:
        return Verdict.failed(
            "lone_agent",
            format_lazy(
                _(
                    "The partner's latest position was {partner_distance_m:.0f} m "
                    "from the door (at most {limit:.0f})."
                ),
                partner_distance_m=partner_distance_m,
                limit=LONE_DISTANCE_M,
            ),
        )
    return Verdict.passed()


def exif_moment(taken_at: dt.datetime | None, zone: str) -> dt.datetime | None:
    """EXIF DateTimeOriginal as an instant; without an offset it is the address's local time."""
    if taken_at is None:
        return None
    if taken_at.tzinfo is None:
        return taken_at.replace(tzinfo=zoneinfo.ZoneInfo(zone))
    return taken_at


# Door photos: what they must show, and the flags that leave their place unconfirmed (no GPS
# in the photo, or GPS outside the geofence) until a supervisor accepts them.
DOOR_KINDS = (PhotoKind.DOOR, PhotoKind.NEAREST_DOOR)
UNPLACED = frozenset({"no_gps", "far_from_address"})


def photo_flags(
    *,
    exif_lat: float | None,
    exif_lon: float | None,
    exif_taken_at: dt.datetime | None,
    captured_at: dt.datetime,
    address: tuple[float, float] | None,
    radius_m: float,
    window: VisitWindow,
    partner_distance_m: float | None = None,
) -> tuple[list[str], float | None]:
    """Flags for a photo, and its distance from the address by its own EXIF position.
    ``partner_distance_m``: how far from the door the partner's latest position was."""
    flags: list[str] = []
    distance = None
    if exif_lat is None or exif_lon is None:
        flags.append("no_gps")
    elif address is not None:
        distance = distance_m(exif_lat, exif_lon, *address)
        if distance > radius_m:
            flags.append("far_from_address")
    taken = exif_taken_at or captured_at
    if not window.contains(taken):
        flags.append("taken_outside_visit")
    if exif_taken_at is not None and abs(exif_taken_at - captured_at) > EXIF_TIME_TOLERANCE:
        flags.append("exif_time_mismatch")
    if not check_partner_at_door(window.was_open(captured_at), partner_distance_m).ok:
        flags.append("lone_agent")
    return flags, distance


def receipt_missing(
    outcome: str,
    *,
    signer_name: str,
    signer_relation: str,
    has_signature: bool,
    has_photo: bool,
) -> list[str]:
    """The fields an outcome needs but lacks (rule 8): a signed receipt has the signature and
    the signer's name, a relation says who they are, a notice left in a mailbox is
    photographed."""
    missing = []
    if outcome.startswith("signed_by_"):
        if not has_signature:
            missing.append("signature")
        if not signer_name.strip():
            missing.append("signer_name")
    if outcome == ReceiptOutcome.SIGNED_BY_RELATION and not signer_relation.strip():
        missing.append("signer_relation")
    if outcome == ReceiptOutcome.LEFT_IN_MAILBOX and not has_photo:
        missing.append("photo")
    return missing


@dataclass(frozen=True)
class ListedRelation:
    """One of the case's relations (关系人), as the receipt's signer is chosen from them."""

    id: object
    name: str
    kind: str
    do_not_contact: bool


@dataclass(frozen=True)
class Signer:
    """Who signed a receipt for the debtor: a listed relation, or an unlisted third party
    (``relation`` None), and the flags that go on the receipt."""

    verdict: Verdict
    relation: ListedRelation | None = None
    flags: tuple[str, ...] = ()


def judge_signer(
    outcome: str,
    relations: Sequence[ListedRelation],
    relation_id: object | None,
    signer_name: str,
    third_party_reason: str,
    online: bool = True,
) -> Signer:
    """A notice is signed for the debtor by one of the case's relations (外访流程 (5): the
    relation who answers the door, mainly family, co-signs; 第三方 are the debtor's contacts,
    family, colleagues and friends), chosen from the case's relations with the relation
    recorded. A phone that names no relation but gives a signer whose name is exactly one
    relation's is taken to mean that relation (phones from before the choice). Anyone else
    (a neighbour, a security guard) is an unlisted third party: allowed only with the reason
    why they signed, flagged ``unlisted_third_party`` and alerted. A relation marked not to be
    contacted may still have signed: kept, flagged ``relation_do_not_contact``, alerted.

    Like a check-in's rule breaks, a missing reason is refused only while the phone is
    ``online`` (the agent can still add it); a receipt queued offline records a signature
    already given and is kept, flagged ``no_third_party_reason`` as well."""
    if outcome != ReceiptOutcome.SIGNED_BY_RELATION:
        if relation_id is not None:
            return Signer(
                Verdict.failed("validation_error", _("Name a relation only when a relation signs."))
            )
        return Signer(Verdict.passed())
    if relation_id is not None:
        chosen = next((r for r in relations if r.id == relation_id), None)
        if chosen is None:
            return Signer(
                Verdict.failed(
                    "relation_not_listed",
                    _(
                        "Not a relation of this case: choose one of the case's relations, or "
                        "record an unlisted third party with the reason why they signed."
                    ),
                )
            )
    else:
        wanted = signer_name.strip().casefold()
        named = [r for r in relations if wanted and r.name.strip().casefold() == wanted]
        chosen = named[0] if len(named) == 1 else None
    if chosen is not None:
        flags = ("relation_do_not_contact",) if chosen.do_not_contact else ()
        return Signer(Verdict.passed(), chosen, flags)
    if not third_party_reason.strip():
        if not online:
            return Signer(Verdict.passed(), None, ("unlisted_third_party", "no_third_party_reason"))
        return Signer(
            Verdict.failed(
                "third_party_reason_required",
                _(
                    "The signer is not one of the case's relations: choose the relation who "
                    "signed, or say why an unlisted third party signed."
                ),
            )
        )
    return Signer(Verdict.passed(), None, ("unlisted_third_party",))


def check_notice_number(given: str, stops: str) -> Verdict:
    if not stops or given.strip() != stops:
        return Verdict.failed(
            "notice_mismatch", _("The notice number is not the one issued for this stop.")
        )
    return Verdict.passed()
