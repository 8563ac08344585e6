"""The visit a photo or a receipt is sent to (``queries.evidence``): read in one statement
with its stop, route, team, address, case and creditor, each as the ORM would load it; the
view answers 404 for a visit the agent may not see, as the ORM's filtered read did. The
visit's first arrival, the partner's latest position and a record by its key (``rows.by_pk``)
are the ORM's answers too."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from django.db import connection
from django.db.models import Max, Min, Q
from django.test.utils import CaptureQueriesContext

from fieldvisit.choices import CheckInKind
from fieldvisit.db import rows
from fieldvisit.models import CheckIn, Visit
from fieldvisit.queries import evidence
from fieldvisit.queries.evidence import visit_for_evidence
from tests.helpers import assert_problem, leave_pair, photo_form, post_form, stops_of
from tests.images import jpeg

pytestmark = pytest.mark.django_db


def fields(instance: Any) -> dict[str, Any]:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def test_the_visit_comes_with_what_its_rules_read_in_one_query(visit: Visit) -> None:
    with CaptureQueriesContext(connection) as queries:
        read = visit_for_evidence(visit.pk)
        assert read is not None
        stop, case = read.stop, read.stop.case
        chain = [read, stop, stop.route, stop.route.team, stop.address, case, case.creditor]
        loaded = [fields(instance) for instance in chain]
    assert len(queries) == 1
    expected = Visit.objects.select_related(
        "stop__route__team", "stop__address", "stop__case__creditor"
    ).get(pk=visit.pk)
    stop, case = expected.stop, expected.stop.case
    chain = [expected, stop, stop.route, stop.route.team, stop.address, case, case.creditor]
    assert loaded == [fields(instance) for instance in chain]
    assert all(not instance.get_deferred_fields() for instance in chain)


def test_no_visit_with_that_id_is_none(visit: Visit) -> None:
    assert visit_for_evidence(uuid.uuid4()) is None


def test_another_teams_agent_and_a_planner_find_no_visit(world: Any, visit: Visit) -> None:
    for user in (world.outsider, world.planner):
        phone = world.client(user, "phone-x")
        response = post_form(phone, f"/api/v1/visits/{visit.pk}/photos/", photo_form(jpeg()))
        assert_problem(response, 404, "not_found")


def test_the_teams_supervisor_sees_the_visit_but_may_not_add_to_it(world: Any) -> None:
    visit = stops_of(world.route)[0].visit
    phone = world.client(world.supervisor, "desk")
    response = post_form(phone, f"/api/v1/visits/{visit.pk}/photos/", photo_form(jpeg()))
    assert_problem(response, 403, "not_team_member")


def orm_bounds(visit: Visit) -> tuple[Any, Any]:
    found = visit.checkins.aggregate(
        first=Min("captured_at", filter=Q(kind=CheckInKind.ARRIVE)),
        last=Max("captured_at", filter=Q(kind=CheckInKind.LEAVE)),
    )
    return found["first"], found["last"]


def orm_partner_position(visit: Visit, agent: Any, moment: Any) -> Any:
    partners = visit.checkins.filter(kind=CheckInKind.ARRIVE).exclude(agent=agent)
    return (
        CheckIn.objects.filter(
            route_id=visit.stop.route_id,
            agent_id__in=partners.values("agent_id"),
            captured_at__lte=moment,
        )
        .order_by("-captured_at")
        .values_list("lat", "lon")
        .first()
    )


def test_the_visits_bounds_and_the_partners_position_are_the_orms(world: Any, visit: Visit) -> None:
    unvisited = stops_of(world.route)[1].visit
    assert evidence.visit_bounds(unvisited.pk) == (None, None) == orm_bounds(unvisited)
    arrived, _ = orm_bounds(visit)
    assert arrived is not None and evidence.visit_bounds(visit.pk) == (arrived, None)

    times = sorted(CheckIn.objects.values_list("captured_at", flat=True))
    moments = [times[0] - dt.timedelta(seconds=1), *times, times[-1] + dt.timedelta(hours=1)]
    seen = set()
    for agent in (world.agent_a, world.agent_b, world.outsider):
        for moment in moments:
            expected = orm_partner_position(visit, agent, moment)
            found = evidence.partner_position(visit.pk, visit.stop.route_id, agent.pk, moment)
            assert found == expected, (agent, moment)
            seen.add(found)
    assert None in seen and len(seen) >= 3  # before anyone reported, and each partner's place
    assert (
        evidence.partner_position(
            unvisited.pk, unvisited.stop.route_id, world.agent_a.pk, moments[-1]
        )
        is None
    )
    leave_pair(world, visit.stop)
    left = orm_bounds(visit)
    assert left[1] is not None and evidence.visit_bounds(visit.pk) == left


def test_a_record_by_its_key_is_the_orms(visit: Visit) -> None:
    checkin = CheckIn.objects.filter(visit=visit).first()
    found = rows.by_pk(CheckIn, checkin.pk)
    assert fields(found) == fields(checkin)
    assert not found._state.adding
    assert rows.by_pk(CheckIn, uuid.uuid4()) is None
    assert fields(rows.by_pk(Visit, str(visit.pk))) == fields(Visit.objects.get(pk=visit.pk))
