"""Check-ins queued offline: what already happened is kept. A rule break becomes a flag on the
check-in, a failed check on the visit and an alert to the supervisor; a leave is never
refused, so a visit that ran late can still close.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core import mail

from fieldvisit.choices import AlertKind, RouteStatus
from fieldvisit.models import Alert, CheckIn, Stop
from tests.helpers import (
    ARRIVE,
    DEPART,
    LEAVE,
    PERIODIC,
    RETURN,
    ZONE,
    arrive_pair,
    assert_problem,
    body,
    earlier_visit_same_case,
    ledger_kinds,
    minutes,
    post,
    visit_url,
)

# --- Rule breaks queued offline: kept, flagged, alerted ----------------------------------


OFFLINE = {
    "outside_visit_hours": "within_hours",
    "too_far_from_address": "geofence",
    "frequency_cap": "frequency_cap",
}


def _offline_break(world: Any, clock: Any, code: str, stop: Stop) -> dict[str, Any]:
    """Set the scene for ``code`` and return a body captured 20 minutes before now."""
    if code == "outside_visit_hours":
        clock.move_to(dt.datetime(2026, 11, 24, 21, 30, tzinfo=ZONE))  # captured at 21:10
        return body(world, ARRIVE, stop, ago=minutes(20))
    if code == "too_far_from_address":
        return body(world, ARRIVE, stop, ago=minutes(20), dlat=500, accuracy_m=10)
    earlier_visit_same_case(world, 0, dt.datetime(2026, 11, 24, 8, 40, tzinfo=ZONE))
    return body(world, ARRIVE, stop, ago=minutes(20))  # captured at 09:10


@pytest.mark.parametrize("code", sorted(OFFLINE))
def test_an_offline_rule_break_is_kept_flagged_and_alerted(
    world, clock, phone_a, stops, code, django_capture_on_commit_callbacks
):
    world.supervisor.email = "supervisor@example.com"
    world.supervisor.save(update_fields=["email"])
    payload = _offline_break(world, clock, code, stops[0])

    with django_capture_on_commit_callbacks(execute=True):
        response = post(phone_a, payload)

    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["flags"] == [code, "late_submission"]
    assert answer["clock_skew_s"] is None  # offline without sent_at: the clock is unknown
    assert answer["visit"]["status"] == "arriving"
    checkin = CheckIn.objects.get(pk=payload["id"])
    assert checkin.flags == [code, "late_submission"]

    [alert] = Alert.objects.all()
    assert (alert.kind, alert.team, alert.checkin) == (AlertKind.RULE_BREAK, world.team, checkin)
    assert (alert.route_id, alert.visit_id) == (world.route.pk, stops[0].visit.pk)
    assert code in alert.detail
    # The alert is e-mailed to the first person on call once the check-in commits.
    assert ledger_kinds()[-3:] == ["checkin.arrive", "alert.raised", "alert.delivery"]

    [message] = mail.outbox
    assert message.to == ["supervisor@example.com"]
    assert "Rule broken" in message.subject
    assert code in message.body

    detail = phone_a.get(visit_url(stops[0].visit.pk)).json()
    checks = detail["compliance"]["checks"]
    assert checks[OFFLINE[code]]["ok"] is False
    assert detail["compliance"]["ok"] is False
    for other in set(OFFLINE.values()) - {OFFLINE[code]}:
        assert checks[other]["ok"] is True, other


def test_an_offline_check_in_without_breaks_is_only_late(world, phone_a, stops):
    response = post(phone_a, body(world, ARRIVE, stops[0], ago=minutes(20)))

    assert response.status_code == 201, response.content
    assert response.json()["flags"] == ["late_submission"]
    assert Alert.objects.count() == 0


def test_a_late_leave_is_kept_and_flagged_so_the_visit_can_close(
    world, phone_a, phone_b, stops, clock
):
    arrive_pair(world, stops[0])
    clock.move_to(dt.datetime(2026, 11, 24, 21, 5, tzinfo=ZONE))
    first = post(phone_a, body(world, LEAVE, stops[0]))
    second = post(phone_b, body(world, LEAVE, stops[0]))
    assert (first.status_code, second.status_code) == (201, 201), second.content
    assert "outside_visit_hours" in second.json()["flags"]
    assert second.json()["visit"]["status"] == "closed"
    assert Alert.objects.filter(kind="rule_break", checkin_id=second.json()["id"]).exists()


def test_an_address_without_coordinates_is_flagged_not_passed(world, phone_a, stops):
    from fieldvisit.models import Address

    Address.objects.filter(pk=stops[0].address_id).update(lat=None, lon=None)
    response = post(phone_a, body(world, ARRIVE, stops[0], lat=31.2, lon=121.4))
    assert response.status_code == 201, response.content
    assert "address_not_geocoded" in response.json()["flags"]
    checks = phone_a.get(visit_url(stops[0].visit.pk)).json()["compliance"]["checks"]
    assert checks["geofence"]["ok"] is False


# --- Queues sent late --------------------------------------------------------------------


def test_a_queue_sent_after_the_route_completed_is_kept(world, clock, phone_a, phone_b, stops):
    """B's phone was offline all morning: A departed and returned online, which completed
    the route; B's queued check-ins record what happened while it was walked and are kept
    (API.md: evidence of what happened is never thrown away)."""
    b_depart = body(world, DEPART)
    assert post(phone_a, body(world, DEPART)).status_code == 201
    clock.shift(minutes(20))
    b_arrive = body(world, ARRIVE, stops[0], dlat=10)
    assert post(phone_a, body(world, ARRIVE, stops[0])).status_code == 201
    clock.shift(minutes(30))
    b_return = body(world, RETURN)
    assert post(phone_a, body(world, RETURN)).status_code == 201
    world.route.refresh_from_db()
    assert world.route.status == RouteStatus.COMPLETED
    clock.shift(minutes(10))

    answers = [post(phone_b, payload) for payload in (b_depart, b_arrive, b_return)]

    assert [a.status_code for a in answers] == [201, 201, 201], answers[0].content
    assert all("late_submission" in a.json()["flags"] for a in answers)
    assert answers[1].json()["visit"]["status"] == "open"  # B had arrived with A after all
    assert answers[2].json()["next_due_at"] is None
    world.route.refresh_from_db()
    assert world.route.status == RouteStatus.COMPLETED
    # Online, a completed route still takes nothing new.
    assert_problem(post(phone_b, body(world, PERIODIC)), 422, "route_not_approved")
