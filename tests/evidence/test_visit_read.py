"""The visit a photo or a receipt is sent to (``queries.evidence``): read in one statement
with its stop, route, team, address, case and creditor, each as the ORM would load it; the
view answers 404 for a visit the agent may not see, as the ORM's filtered read did."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fieldvisit.models import Visit
from fieldvisit.queries.evidence import visit_for_evidence
from tests.helpers import assert_problem, photo_form, post_form, stops_of
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
