"""A supervisor accepts a door photo the rules could not place at the door.

A door photo proves the team stood at the right door only with GPS in it that falls within
the geofence (issue 20, item 8). A phone that strips GPS, or a fix thrown off by tall
buildings, leaves the visit's ``door_photo`` check failed until a supervisor of the team looks
at the photo and accepts it, saying why: a record of its own (``PhotoAcceptance``) and a
ledger entry in the visit's chain, never an edit of the photo or its flags.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from fieldvisit.access import oversight_scope
from fieldvisit.actions.common import lock_visit, require_perm, require_record_in_scope
from fieldvisit.ledger import store as ledger
from fieldvisit.models import Photo, PhotoAcceptance
from fieldvisit.rules import RuleViolation
from fieldvisit.rules.evidence import DOOR_KINDS, UNPLACED
from fieldvisit.texts import _


def acceptable(photo: Photo) -> bool:
    """A door photo whose place the rules could not confirm, not accepted yet."""
    return (
        photo.kind in DOOR_KINDS
        and bool(UNPLACED & set(photo.flags))
        and not PhotoAcceptance.objects.filter(photo=photo).exists()
    )


def accept_door_photo(photo_id: Any, reason: str, by: Any) -> PhotoAcceptance:
    reason = reason.strip()
    require_perm(by, "fieldvisit.add_photoacceptance", _("accept door photos"))
    with transaction.atomic(durable=True):
        photo = Photo.objects.select_related("visit__stop__route").get(pk=photo_id)
        require_record_in_scope(oversight_scope(by, ""), photo.visit.stop.route.team_id, _("photo"))
        visit = lock_visit(photo.visit_id)
        if not reason:
            detail = _("Say why the photo is accepted.")
            raise RuleViolation("validation_error", detail, errors={"reason": [detail]})
        if not acceptable(photo):
            detail = _(
                "Only a door photo without GPS, or with GPS outside the geofence, is "
                "accepted, and once."
            )
            raise RuleViolation("validation_error", detail)
        acceptance = PhotoAcceptance.objects.create(
            photo=photo, accepted_by=by, reason=reason, accepted_at=timezone.now()
        )
        ledger.append(
            "photo.accepted",
            ledger.actor_for(by),
            f"visit:{visit.id}",
            {
                "photo": photo.id,
                "flags": sorted(UNPLACED & set(photo.flags)),
                "reason": reason,
                "accepted_at": acceptance.accepted_at,
            },
        )
    return acceptance
