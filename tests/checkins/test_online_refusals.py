"""Check-ins refused with their code, leaving nothing behind (DESIGN rules 3-5 and 10).

A rule break captured under five minutes ago is refused, so the phone can stop the agent:
visit hours, the geofence, the debtor's visit frequency caps. Some refusals hold offline too:
a route not executable today, someone who is not a qualified agent of the team, a stop not on
the route, a revoked token.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from fieldvisit.choices import StopStatus
from fieldvisit.models import Case, CheckIn, DeviceToken, Stop
from tests import factories
from tests.helpers import (
    ARRIVE,
    DAY,
    DEPART,
    LEAVE,
    PERIODIC,
    ZONE,
    Nothing,
    approve,
    arrive_pair,
    assert_problem,
    body,
    earlier_visit_same_case,
    minutes,
    post,
)

# --- Rule breaks while online ------------------------------------------------------------


def test_outside_visit_hours_online_is_refused(world, clock, phone_a, stops):
    clock.move_to(dt.datetime(2026, 11, 24, 21, 30, tzinfo=ZONE))
    nothing = Nothing()

    response = post(phone_a, body(world, ARRIVE, stops[0]))

    problem = assert_problem(response, 422, "outside_visit_hours")
    assert "21:30" in problem["detail"]
    assert problem["errors"]["rules"][0].startswith("outside_visit_hours:")
    nothing.assert_unchanged()


def test_early_morning_online_is_refused(world, clock, phone_a, stops):
    clock.move_to(dt.datetime(2026, 11, 24, 7, 59, tzinfo=ZONE))
    nothing = Nothing()

    assert_problem(post(phone_a, body(world, ARRIVE, stops[0])), 422, "outside_visit_hours")
    nothing.assert_unchanged()


def test_too_far_from_the_address_online_is_refused(world, phone_a, stops):
    nothing = Nothing()

    response = post(phone_a, body(world, ARRIVE, stops[0], dlat=500, accuracy_m=10))

    problem = assert_problem(response, 422, "too_far_from_address")
    assert "500 m" in problem["detail"]
    nothing.assert_unchanged()


def test_several_breaks_are_all_named(world, clock, phone_a, stops):
    clock.move_to(dt.datetime(2026, 11, 24, 21, 30, tzinfo=ZONE))

    response = post(phone_a, body(world, ARRIVE, stops[0], dlat=500))

    problem = assert_problem(response, 422, "outside_visit_hours")
    codes = [line.split(":")[0] for line in problem["errors"]["rules"]]
    assert codes == ["outside_visit_hours", "too_far_from_address"]
    assert CheckIn.objects.count() == 0


# --- The debtor's visit frequency caps ---------------------------------------------------


def test_frequency_cap_online_is_refused(world, phone_a, stops):
    earlier_visit_same_case(world, 0, dt.datetime(2026, 11, 24, 8, 40, tzinfo=ZONE))
    nothing = Nothing()

    problem = assert_problem(post(phone_a, body(world, ARRIVE, stops[0])), 422, "frequency_cap")
    assert "already visited 1 time(s) that day" in problem["detail"]
    nothing.assert_unchanged()
    # Another debtor on the same route is not capped (once an approved change skips the
    # capped stop: the route's order holds otherwise).
    Stop.objects.filter(pk=stops[0].pk).update(status=StopStatus.SKIPPED)
    assert post(phone_a, body(world, ARRIVE, stops[1])).status_code == 201


def test_frequency_cap_counts_seven_rolling_days(world, phone_a, stops):
    for days_ago in (1, 2, 6):
        earlier_visit_same_case(
            world, 0, dt.datetime(2026, 11, 24, 10, 0, tzinfo=ZONE) - dt.timedelta(days=days_ago)
        )
    nothing = Nothing()

    problem = assert_problem(post(phone_a, body(world, ARRIVE, stops[0])), 422, "frequency_cap")
    assert "3 time(s) in 7 days" in problem["detail"]
    nothing.assert_unchanged()


def test_frequency_cap_forgets_visits_older_than_seven_days(world, phone_a, stops):
    for days_ago in (1, 2, 8):
        earlier_visit_same_case(
            world, 0, dt.datetime(2026, 11, 24, 10, 0, tzinfo=ZONE) - dt.timedelta(days=days_ago)
        )

    assert post(phone_a, body(world, ARRIVE, stops[0])).status_code == 201


def test_the_second_arrival_is_not_held_to_the_cap_the_first_one_passed(
    world, phone_a, phone_b, stops
):
    """The cap is judged when the visit begins; the partner joining does not re-count it."""
    arrive_pair(world, stops[0])
    assert CheckIn.objects.filter(kind=ARRIVE).count() == 2


def test_the_cap_counts_every_case_of_the_same_debtor(world, phone_a, stops):
    """Rule 10 is per debtor: another account of the same person counts too."""
    other_case = factories.case(world.team, world.creditor)
    Case.objects.filter(pk=other_case.pk).update(debtor_id_number=stops[0].case.debtor_id_number)
    other_case.addresses.create(kind="work", text="Other account", lat=31.3, lon=121.5)
    earlier_visit_same_case(world, 0, dt.datetime(2026, 11, 24, 8, 40, tzinfo=ZONE))
    Stop.objects.filter(route__team=world.other_team).update(case=other_case)
    problem = assert_problem(post(phone_a, body(world, ARRIVE, stops[0])), 422, "frequency_cap")
    assert "that day" in problem["detail"]


# --- Refused online and offline alike ----------------------------------------------------


def test_a_draft_route_is_not_executable(world, phone_a):
    draft = factories.route(world.team, world.planner, DAY + dt.timedelta(days=1), [])
    nothing = Nothing()

    response = post(phone_a, body(world, DEPART, route=draft))

    assert_problem(response, 422, "route_not_approved")
    nothing.assert_unchanged()


def test_a_draft_route_refuses_even_offline(world, phone_a):
    draft = factories.route(
        world.team, world.planner, DAY + dt.timedelta(days=1), [world.addresses[3]]
    )
    [stop] = draft.stops.all()

    response = post(phone_a, body(world, ARRIVE, stop, route=draft, ago=minutes(30)))

    assert_problem(response, 422, "route_not_approved")
    assert CheckIn.objects.count() == 0


def test_a_route_approved_for_tomorrow_is_not_executable_today(world, phone_a):
    tomorrow = factories.route(
        world.team, world.planner, DAY + dt.timedelta(days=1), [world.addresses[3]]
    )
    approve(tomorrow, world.planner, world.supervisor)

    response = post(phone_a, body(world, DEPART, route=tomorrow))

    problem = assert_problem(response, 422, "route_not_approved")
    assert "2026-11-25" in problem["detail"]


def test_the_supervisor_is_not_a_field_agent(world):
    client = world.client(world.supervisor)  # sees the route as the team's supervisor
    nothing = Nothing()

    response = post(client, body(world, DEPART))

    assert_problem(response, 403, "not_team_member")
    nothing.assert_unchanged()


def test_an_agent_without_background_check_is_not_a_qualified_member(world):
    unchecked = factories.agent("agent_c", world.team, background_check_on=None)
    client = world.client(unchecked)
    nothing = Nothing()

    response = post(client, body(world, DEPART))

    assert_problem(response, 403, "not_team_member")
    nothing.assert_unchanged()


def test_an_agent_whose_profile_was_deactivated_no_longer_sees_the_route(world):
    """A deactivated agent is no longer on the team: the route is absent (404), as every
    record of a team one does not belong to (fieldvisit.access.team_of)."""
    former = factories.agent("agent_former", world.team)
    client = world.client(former)
    former.agent_profile.active = False
    former.agent_profile.save(update_fields=["active"])
    nothing = Nothing()

    response = post(client, body(world, DEPART))

    assert_problem(response, 404, "not_found")
    nothing.assert_unchanged()


def test_another_teams_route_is_not_found_for_the_outsider(world):
    client = world.client(world.outsider)
    nothing = Nothing()

    response = post(client, body(world, DEPART))

    assert_problem(response, 404, "not_found")
    nothing.assert_unchanged()


def test_a_stop_of_another_route_is_not_on_the_route(world, phone_a):
    draft = factories.route(
        world.team, world.planner, DAY + dt.timedelta(days=1), [world.addresses[3]]
    )
    [foreign_stop] = draft.stops.all()
    nothing = Nothing()

    payload = body(world, ARRIVE, foreign_stop)  # names world.route
    response = post(phone_a, payload)

    assert_problem(response, 422, "not_on_route")
    nothing.assert_unchanged()


def test_a_skipped_stop_is_not_on_the_route(world, phone_a, stops):
    Stop.objects.filter(pk=stops[2].pk).update(status=StopStatus.SKIPPED)
    nothing = Nothing()

    response = post(phone_a, body(world, ARRIVE, stops[2], ago=minutes(30)))

    problem = assert_problem(response, 422, "not_on_route")
    assert "skipped" in problem["detail"]
    nothing.assert_unchanged()


@pytest.mark.parametrize("kind", [ARRIVE, LEAVE, PERIODIC])
def test_an_unknown_stop_is_not_on_the_route(world, phone_a, kind):
    nothing = Nothing()
    payload = {**body(world, kind), "stop": str(uuid.uuid4())}

    assert_problem(post(phone_a, payload), 422, "not_on_route")
    nothing.assert_unchanged()


def test_a_revoked_token_is_refused(world, phone_a):
    DeviceToken.objects.filter(user=world.agent_a, device_id="phone-a").update(
        revoked_at=timezone.now()
    )

    assert_problem(post(phone_a, body(world, DEPART)), 401, "token_revoked")
    assert CheckIn.objects.count() == 0


# --- the approved order (issue 20, item 2) ------------------------------------------------


def test_an_arrival_out_of_the_approved_order_is_refused_online(world, phone_a, phone_b, stops):
    nothing = Nothing()
    problem = assert_problem(post(phone_a, body(world, ARRIVE, stops[2])), 422, "out_of_sequence")
    assert "Stop 3 comes after stop(s) 1, 2" in problem["detail"]
    nothing.assert_unchanged()
    # In order, it is accepted; the partner joining a visit already begun is not judged again.
    arrive_pair(world, stops[0])
    assert post(phone_a, body(world, ARRIVE, stops[1])).status_code == 201
    assert post(phone_b, body(world, ARRIVE, stops[1], dlat=20)).status_code == 201


def test_an_approved_change_of_order_allows_it(world, phone_a, stops):
    Stop.objects.filter(pk=stops[0].pk).update(sequence=10)  # as a decided change reorders
    Stop.objects.filter(pk=stops[2].pk).update(sequence=1)
    Stop.objects.filter(pk=stops[0].pk).update(sequence=3)
    assert post(phone_a, body(world, ARRIVE, stops[2])).status_code == 201


def test_an_arrival_out_of_order_queued_offline_is_kept_flagged_and_alerted(world, phone_a, stops):
    from fieldvisit.choices import AlertKind
    from fieldvisit.models import Alert

    answer = post(phone_a, body(world, ARRIVE, stops[1], ago=dt.timedelta(minutes=6)))
    assert answer.status_code == 201, answer.json()
    assert "out_of_sequence" in answer.json()["flags"]
    alert = Alert.objects.get(kind=AlertKind.RULE_BREAK)
    assert "out_of_sequence" in alert.detail
