"""A door photo must carry GPS within the geofence, or the visit's ``door_photo`` check fails
until a supervisor of the team accepts it with a reason (issue 20, item 8; DESIGN rule 7):
a record of its own and a ledger entry in the visit's chain, never an edit of the photo."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from fieldvisit.actions.acceptances import accept_door_photo
from fieldvisit.compliance import judge
from fieldvisit.models import LedgerEntry, Photo, PhotoAcceptance
from fieldvisit.queries.visits import visit_records
from fieldvisit.rules import RuleViolation
from tests import images
from tests.helpers import ZONE, photo_form, photos_url, post_form

pytestmark = pytest.mark.django_db


def door_photo(visit: Any, agent: Any, **exif: Any) -> Photo:
    data = images.jpeg(taken_at=timezone.now().astimezone(ZONE), **exif)
    answer = post_form(agent, photos_url(visit), photo_form(data))
    assert answer.status_code == 201, answer.content
    return Photo.objects.get(pk=answer.json()["id"])


def door_check(visit: Any) -> Any:
    return judge(visit_records(visit)).checks["door_photo"]


def test_a_door_photo_without_gps_fails_until_a_supervisor_accepts_it(
    world: Any, visit: Any, agent: Any
) -> None:
    photo = door_photo(visit, agent)  # no GPS in it
    assert "no_gps" in photo.flags
    check = door_check(visit)
    assert not check.ok and "no_gps" in str(check.detail)

    accepted = accept_door_photo(
        photo.pk, "The door number 12 is legible; both agents in frame.", world.supervisor
    )

    assert accepted.accepted_by == world.supervisor
    check = door_check(visit)
    assert check.ok and "The door number 12 is legible" in str(check.detail)
    entry = LedgerEntry.objects.get(kind="photo.accepted")
    body = json.loads(bytes(entry.entry_bytes))
    assert body["subject"] == f"visit:{visit.pk}" and body["chain"]["visit"] == str(visit.pk)
    assert body["data"]["flags"] == ["no_gps"]
    # The photo itself is as it was.
    assert Photo.objects.get(pk=photo.pk).flags == photo.flags


def test_a_door_photo_far_from_the_address_fails_too(world: Any, visit: Any, agent: Any) -> None:
    address = visit.stop.address
    photo = door_photo(visit, agent, lat=address.lat + 0.01, lon=address.lon)  # ~1.1 km off
    assert "far_from_address" in photo.flags
    assert not door_check(visit).ok


def test_what_cannot_be_accepted(world: Any, visit: Any, agent: Any) -> None:
    address = visit.stop.address
    placed = door_photo(visit, agent, lat=address.lat, lon=address.lon)
    assert door_check(visit).ok
    with pytest.raises(RuleViolation) as nothing_to_accept:
        accept_door_photo(placed.pk, "looks fine", world.supervisor)
    assert nothing_to_accept.value.code == "validation_error"

    unplaced = door_photo(visit, agent, colour="tan")
    with pytest.raises(RuleViolation) as no_reason:
        accept_door_photo(unplaced.pk, "  ", world.supervisor)
    assert no_reason.value.errors == {"reason": ["Say why the photo is accepted."]}
    with pytest.raises(RuleViolation) as planner:
        accept_door_photo(unplaced.pk, "ok", world.planner)
    assert planner.value.code == "permission_denied"
    accept_door_photo(unplaced.pk, "door 12 legible", world.supervisor)
    with pytest.raises(RuleViolation) as twice:
        accept_door_photo(unplaced.pk, "again", world.supervisor)
    assert twice.value.code == "validation_error"
    assert PhotoAcceptance.objects.count() == 1


def test_the_supervisor_accepts_it_in_admin(world: Any, visit: Any, agent: Any) -> None:
    photo = door_photo(visit, agent)
    page = Client()
    page.force_login(world.supervisor)
    change = page.get(reverse("admin:fieldvisit_photo_change", args=[photo.pk]))
    url = reverse("admin:fieldvisit_photo_accept", args=[photo.pk])
    assert url in change.content.decode()
    refused = page.post(url, {"reason": ""})
    assert refused.status_code == 200 and not PhotoAcceptance.objects.exists()
    done = page.post(url, {"reason": "Door 12 legible, partner in frame."})
    assert done.status_code == 302
    assert PhotoAcceptance.objects.get(photo=photo).reason == "Door 12 legible, partner in frame."
    shown = page.get(reverse("admin:fieldvisit_photo_change", args=[photo.pk])).content.decode()
    assert "Door 12 legible, partner in frame." in shown and url not in shown
