"""What a kept check-in is flagged with: the team split apart, a poor position fix, a phone
clock that is wrong (measured from ``sent_at``, not from a slow delivery).
"""

from __future__ import annotations

import uuid

import pytest
from django.utils import timezone

from fieldvisit.choices import AlertKind
from fieldvisit.models import Alert, CheckIn
from tests.helpers import (
    DEPART,
    PERIODIC,
    body,
    minutes,
    post,
)

# --- The team split apart ----------------------------------------------------------------


def test_team_split_is_flagged_and_alerted(world, phone_a, phone_b):
    first = post(phone_a, body(world, PERIODIC, ago=minutes(1)))
    assert first.json()["flags"] == []

    response = post(phone_b, body(world, PERIODIC, dlat=300))

    assert response.status_code == 201, response.content
    assert response.json()["flags"] == ["team_split"]
    [alert] = Alert.objects.all()
    assert (alert.kind, alert.team_id) == (AlertKind.TEAM_SPLIT, world.team.pk)
    assert alert.checkin_id == uuid.UUID(response.json()["id"])
    assert alert.raised_by == world.agent_b


def test_periodic_reports_close_together_are_not_split(world, phone_a, phone_b):
    post(phone_a, body(world, PERIODIC, ago=minutes(1)))

    response = post(phone_b, body(world, PERIODIC, dlat=190))

    assert response.json()["flags"] == []
    assert Alert.objects.count() == 0


def test_a_partner_position_older_than_15_minutes_says_nothing(world, clock, phone_a, phone_b):
    post(phone_a, body(world, PERIODIC))
    clock.shift(minutes(16))

    response = post(phone_b, body(world, PERIODIC, dlat=300))

    assert response.json()["flags"] == []


# --- Position accuracy -------------------------------------------------------------------


def test_low_accuracy_is_flagged(world, phone_a):
    response = post(phone_a, body(world, DEPART, accuracy_m=80))

    assert response.status_code == 201
    assert response.json()["flags"] == ["low_accuracy"]


# --- Clock skew --------------------------------------------------------------------------


def test_clock_skew_is_measured_from_sent_at_and_flagged(world, phone_a):
    ahead = timezone.now() + minutes(10)

    response = post(phone_a, body(world, DEPART, sent_at=ahead.isoformat()))

    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["flags"] == ["clock_skew"]
    assert answer["clock_skew_s"] == pytest.approx(600, abs=5)
    assert CheckIn.objects.get().clock_skew_s == answer["clock_skew_s"]


def test_a_small_clock_skew_is_not_flagged(world, phone_a):
    response = post(phone_a, body(world, DEPART, sent_at=timezone.now().isoformat()))

    assert response.json()["flags"] == []


def test_a_slow_delivery_is_not_taken_for_clock_skew(world, phone_a):
    """Without sent_at, a report that took three minutes to arrive says nothing about the
    clock: it is measured, not flagged."""
    response = post(phone_a, body(world, DEPART, ago=minutes(3)))
    assert response.status_code == 201
    assert response.json()["clock_skew_s"] == pytest.approx(-180, abs=5)
    assert "clock_skew" not in response.json()["flags"]
