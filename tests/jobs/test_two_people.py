"""Two people, enforced as it happens (issue 24, item 2): a depart no partner matches within
ten minutes raises ``lone_depart``; a photo, a receipt or a report recorded while the agent is
alone at the door raises ``lone_agent`` at once, beside the record's own flag. Alone: the
visit was not open (the partner had not arrived, or had left), or the partner's latest
position was more than 100 m from the door."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from fieldvisit import jobs
from fieldvisit.choices import AlertKind, CheckInKind
from fieldvisit.models import Alert, LedgerEntry
from fieldvisit.rules.checkins import check_departed_together
from tests import images
from tests.helpers import (
    World,
    arrive_pair,
    body,
    file_report,
    minutes,
    photo_form,
    photos_url,
    post,
    post_form,
    receipts_url,
    report_body,
    signed,
    stops_of,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(clock: Any, world: World) -> World:  # the clock first, then the fixture world
    return world


def alerts_of(kind: str) -> list[Alert]:
    return list(Alert.objects.filter(kind=kind).select_related("agent").order_by("raised_at"))


def depart(world: World, who: str, ago: dt.timedelta = dt.timedelta(0)) -> None:
    phone = world.client(getattr(world, who), f"{who}-phone")
    assert post(phone, body(world, CheckInKind.DEPART, ago=ago)).status_code == 201


# --- lone departs ------------------------------------------------------------------------


def test_a_depart_no_partner_matches_in_ten_minutes_raises_lone_depart_once(
    world: World, clock: Any
) -> None:
    depart(world, "agent_a")
    clock.shift(minutes(9))
    assert jobs.lone_departs() == 0  # not yet judged: the partner has ten minutes
    clock.shift(minutes(2))
    assert jobs.lone_departs() == 1
    assert jobs.lone_departs() == 0  # judged once
    [alert] = alerts_of(AlertKind.LONE_DEPART)
    assert alert.agent == world.agent_a
    assert "agent_a departed at" in alert.detail and "alone" in alert.detail
    assert LedgerEntry.objects.filter(kind="alert.raised", subject=f"alert:{alert.id}").exists()


def test_departs_within_ten_minutes_of_each_other_raise_nothing(world: World, clock: Any) -> None:
    depart(world, "agent_a")
    clock.shift(minutes(8))
    depart(world, "agent_b")
    clock.shift(minutes(30))
    assert jobs.lone_departs() == 0
    assert alerts_of(AlertKind.LONE_DEPART) == []


def test_the_depart_rule() -> None:
    at = timezone.now()
    assert check_departed_together(at, [at + minutes(10)]).ok
    assert check_departed_together(at, [at - minutes(10)]).ok
    assert not check_departed_together(at, [at + minutes(10) + dt.timedelta(seconds=1)]).ok
    assert check_departed_together(at, []).code == "lone_depart"


# --- alone at the door -------------------------------------------------------------------


def door_photo(stop: Any) -> bytes:
    address = stop.address
    return images.jpeg(lat=address.lat, lon=address.lon, taken_at=timezone.now())


def test_a_photo_before_the_partner_arrived_raises_lone_agent_at_once(world: World) -> None:
    stop = stops_of(world.route)[0]
    phone = world.client(world.agent_a, "phone-a")
    assert post(phone, body(world, CheckInKind.ARRIVE, stop)).status_code == 201
    response = post_form(phone, photos_url(stop.visit), photo_form(door_photo(stop)))
    assert response.status_code == 201, response.content
    assert "lone_agent" in response.json()["flags"]
    [alert] = alerts_of(AlertKind.LONE_AGENT)
    assert (alert.agent, alert.visit_id, alert.raised_by) == (
        world.agent_a,
        stop.visit.pk,
        world.agent_a,
    )
    assert "recorded a photo" in alert.detail and stop.address.text in alert.detail


def test_a_receipt_while_the_partner_reported_from_300_m_away_raises_lone_agent(
    world: World, clock: Any
) -> None:
    stop = stops_of(world.route)[0]
    arrive_pair(world, stop)
    clock.shift(minutes(5))
    phone_b = world.client(world.agent_b, "phone-b")
    assert post(phone_b, body(world, CheckInKind.PERIODIC, stop, dlat=300)).status_code == 201
    clock.shift(minutes(1))
    phone_a = world.client(world.agent_a, "phone-a")
    response = post_form(phone_a, receipts_url(stop.visit), signed(stop.visit))
    assert response.status_code == 201, response.content
    assert response.json()["flags"] == ["lone_agent"]
    [alert] = alerts_of(AlertKind.LONE_AGENT)
    assert "the notice receipt" in alert.detail and alert.agent == world.agent_a


def test_evidence_with_the_partner_at_the_door_raises_nothing(world: World, clock: Any) -> None:
    stop = stops_of(world.route)[0]
    arrive_pair(world, stop)
    clock.shift(minutes(20))  # the partner's arrival stands: no later report says otherwise
    phone_a = world.client(world.agent_a, "phone-a")
    response = post_form(phone_a, photos_url(stop.visit), photo_form(door_photo(stop)))
    assert response.status_code == 201 and "lone_agent" not in response.json()["flags"]
    response = post_form(phone_a, receipts_url(stop.visit), signed(stop.visit))
    assert response.status_code == 201 and response.json()["flags"] == []
    assert alerts_of(AlertKind.LONE_AGENT) == []


def test_a_report_filed_before_the_partner_arrived_raises_lone_agent(world: World) -> None:
    stop = stops_of(world.route)[0]
    phone = world.client(world.agent_a, "phone-a")
    assert post(phone, body(world, CheckInKind.ARRIVE, stop)).status_code == 201
    response = file_report(phone, stop.visit, report_body())
    assert response.status_code == 201, response.content
    [alert] = alerts_of(AlertKind.LONE_AGENT)
    assert "the visit report" in alert.detail
