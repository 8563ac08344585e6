"""Hazards at an address (issue 24, item 6): what a team should know before knocking is shown
on the stop (the API the field app reads) and flagged to whoever approves a route visiting
it; unknown hazards are refused on entry."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from fieldvisit.models import Route
from tests import factories
from tests.helpers import World

pytestmark = pytest.mark.django_db


def test_the_stop_carries_its_addresss_hazards(world: World) -> None:
    address = world.addresses[0]
    address.hazards, address.hazard_notes = ["dog", "previous_incident"], "Dog loose in yard"
    address.save()
    phone = world.client(world.agent_a, "phone-a")
    stops = phone.get(f"/api/v1/routes/{world.route.pk}/").json()["stops"]
    first = next(s for s in stops if s["address"]["text"] == address.text)
    assert first["address"]["hazards"] == ["dog", "previous_incident"]
    assert first["address"]["hazard_notes"] == "Dog loose in yard"
    assert all(s["address"]["hazards"] == [] for s in stops if s is not first)


def test_the_approver_sees_the_hazards_on_the_decision_page(world: World, client: Client) -> None:
    case = world.cases[3]
    address = world.addresses[3]
    address.hazards, address.hazard_notes = ["aggressive_occupant"], "Threatened agents in May"
    address.save()
    route = factories.route(world.team, world.planner, world.route.date.replace(day=28), [address])
    Route.objects.filter(pk=route.pk).update(status="submitted")
    client.force_login(world.supervisor)
    page = client.get(reverse("admin:fieldvisit_route_decide", args=[route.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "HAZARD: Aggressive occupant" in text and "Threatened agents in May" in text
    assert case.debtor_name in text


def test_unknown_hazards_are_refused(world: World) -> None:
    address = world.addresses[0]
    address.hazards = ["ghosts"]
    with pytest.raises(ValidationError, match="Unknown hazards"):
        address.full_clean()
