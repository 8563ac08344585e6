"""GET /api/v1/routes/?date= and GET /api/v1/routes/{id}/.

Agents see their own team's routes and the team's supervisor sees the teams they supervise;
everyone else gets an empty list or a 404, never someone else's route. Stops never carry a
debtor's full ID number (privacy rule 12).
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fieldvisit.models import Route, Stop, Team, Visit
from tests import factories
from tests.helpers import approve, assert_problem, at, today

LIST_URL = "/api/v1/routes/"

ROUTE_KEYS = {"id", "date", "status", "team", "stops"}
STOP_KEYS = {"id", "sequence", "visit_id", "case", "address", "notice_number", "status"}
CASE_KEYS = {
    "id",
    "number",
    "debtor_name",
    "debtor_id_masked",
    "amount_due",
    "creditor",
    "status",
    "status_reason",
    "do_not_contact",
    "relations",
    "previous_visits",
}
ADDRESS_KEYS = {"kind", "text", "lat", "lon", "timezone", "hazards", "hazard_notes"}


def detail_url(route_id) -> str:
    return f"/api/v1/routes/{route_id}/"


def staffed_team(world, name: str, supervisor=None) -> Team:
    team = Team.objects.create(
        name=name, supervisor=supervisor or world.supervisor, timezone="Asia/Shanghai"
    )
    factories.agent(f"{name}_a", team)
    factories.agent(f"{name}_b", team)
    factories.oncall(team, supervisor or world.supervisor, world.duty)
    return team


def approved_route(world, team: Team, day: dt.date, stops: int) -> Route:
    cases = [factories.case(team, world.creditor) for _ in range(stops)]
    addresses = [factories.address(c, lat=31.2 + 0.001 * n) for n, c in enumerate(cases)]
    route = factories.route(team, world.planner, day, addresses)
    approve(route, world.planner, team.supervisor)  # only the team's own supervisor decides
    return route


# --- list ------------------------------------------------------------------------------


def test_agent_sees_the_team_route_for_the_day(world):
    response = world.client(world.agent_a).get(LIST_URL, {"date": today().isoformat()})

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert (body["count"], body["next"], body["previous"]) == (1, None, None)
    [route] = body["results"]
    assert set(route) == ROUTE_KEYS
    assert route["id"] == str(world.route.pk)
    assert route["date"] == today().isoformat()
    assert route["status"] == "approved"
    assert route["team"] == {"id": world.team.pk, "name": "Huangpu"}
    assert [stop["sequence"] for stop in route["stops"]] == [1, 2, 3]


def test_stops_have_the_contract_shape(world):
    body = world.client(world.agent_a).get(LIST_URL, {"date": today().isoformat()}).json()

    stops = body["results"][0]["stops"]
    db_stops = {str(s.pk): s for s in Stop.objects.filter(route=world.route)}
    assert {stop["id"] for stop in stops} == set(db_stops)
    for stop in stops:
        assert set(stop) == STOP_KEYS
        assert set(stop["case"]) == CASE_KEYS
        assert set(stop["address"]) == ADDRESS_KEYS
        db_stop = db_stops[stop["id"]]
        assert stop["visit_id"] == str(Visit.objects.get(stop=db_stop).pk)
        assert stop["notice_number"] == db_stop.notice_number
        assert stop["notice_number"].startswith(f"CN-{today():%Y%m%d}-")
        assert stop["status"] == "planned"
        assert stop["case"]["id"] == str(db_stop.case_id)
        assert stop["case"]["number"] == db_stop.case.number
        assert stop["case"]["creditor"] == "Acme Finance"
        assert stop["case"]["amount_due"] == f"{db_stop.case.amount_due:.2f}"
        assert stop["case"]["debtor_id_masked"] == "310***********4512"
        assert stop["address"]["text"] == db_stop.address.text
        assert stop["address"]["lat"] == db_stop.address.lat
        assert stop["address"]["lon"] == db_stop.address.lon
        assert stop["address"]["timezone"] == "Asia/Shanghai"
    assert len({stop["notice_number"] for stop in stops}) == 3


def test_the_full_id_number_is_never_in_the_response(world):
    agent = world.client(world.agent_a)

    listed = agent.get(LIST_URL, {"date": today().isoformat()})
    detail = agent.get(detail_url(world.route.pk))

    assert listed.status_code == detail.status_code == 200
    numbers = [stop.case.debtor_id_number for stop in world.route.stops.select_related("case")]
    assert len(numbers) == 3 and all(len(number) == 18 for number in numbers)
    for response in (listed, detail):
        for number in numbers:
            assert number.encode() not in response.content
        assert b"debtor_id_number" not in response.content


def test_without_a_date_the_list_is_today_in_the_team_zone(world):
    body = world.client(world.agent_b).get(LIST_URL).json()

    assert [route["id"] for route in body["results"]] == [str(world.route.pk)]


@pytest.mark.parametrize("who", ["agent_a", "supervisor"])
def test_early_in_the_morning_without_a_date_is_still_today_in_shanghai(world, monkeypatch, who):
    # 07:30 in Shanghai is 23:30 of the day before in UTC: "today" is read in the team's zone.
    early = at(today(), 7, 30)
    monkeypatch.setattr(timezone, "now", lambda: early.astimezone(dt.UTC))

    body = world.client(getattr(world, who)).get(LIST_URL).json()

    assert [route["id"] for route in body["results"]] == [str(world.route.pk)]


def test_another_day_has_no_route(world):
    tomorrow = today() + dt.timedelta(days=1)

    body = world.client(world.agent_a).get(LIST_URL, {"date": tomorrow.isoformat()}).json()

    assert body == {"count": 0, "next": None, "previous": None, "results": []}


def test_outsider_sees_an_empty_list(world):
    response = world.client(world.outsider).get(LIST_URL, {"date": today().isoformat()})

    assert response.status_code == 200
    assert response.json() == {"count": 0, "next": None, "previous": None, "results": []}
    assert str(world.route.pk).encode() not in response.content


def test_legal_planner_and_auditor_see_an_empty_list(world):
    for user in (world.legal, world.planner, world.auditor):
        response = world.client(user).get(LIST_URL, {"date": today().isoformat()})
        assert response.status_code == 200
        assert response.json()["count"] == 0, user.username


def test_supervisor_sees_the_routes_of_the_teams_they_supervise(world):
    second = approved_route(world, staffed_team(world, "Jingan"), today(), stops=2)
    other_supervisor = factories.user("supervisor_2", "supervisor")
    approved_route(world, staffed_team(world, "Xuhui", other_supervisor), today(), stops=1)

    body = world.client(world.supervisor).get(LIST_URL, {"date": today().isoformat()}).json()

    assert body["count"] == 2
    assert [route["id"] for route in body["results"]] == [str(world.route.pk), str(second.pk)]


def test_bad_date_is_a_validation_error(world):
    agent = world.client(world.agent_a)
    for bad in ("yesterday", "2025-13-01", "2025-02-30", "23/11/2025", "2025-01-01T00:00"):
        body = assert_problem(agent.get(LIST_URL, {"date": bad}), 422, "validation_error")
        assert set(body["errors"]) == {"date"}, bad


def test_pages_follow_count_next_previous(world):
    for name in ("Jingan", "Minhang"):
        approved_route(world, staffed_team(world, name), today(), stops=1)
    supervisor = world.client(world.supervisor)

    first = supervisor.get(LIST_URL, {"date": today().isoformat(), "page_size": 2}).json()
    second = supervisor.get(
        LIST_URL, {"date": today().isoformat(), "page_size": 2, "page": 2}
    ).json()

    assert first["count"] == second["count"] == 3
    assert len(first["results"]) == 2
    assert first["previous"] is None
    assert "page=2" in first["next"]
    assert len(second["results"]) == 1
    assert second["next"] is None
    assert second["previous"] is not None
    ids = {r["id"] for r in first["results"]} | {r["id"] for r in second["results"]}
    assert len(ids) == 3


def test_a_page_past_the_end_is_a_not_found_problem(world):
    response = world.client(world.agent_a).get(LIST_URL, {"date": today().isoformat(), "page": 9})

    assert_problem(response, 404, "not_found")


def test_list_query_count_does_not_grow_with_routes_or_stops(world, django_assert_max_num_queries):
    supervisor = world.client(world.supervisor)
    supervisor.get("/api/v1/me/")  # last_used_at is written on first use only
    day = today().isoformat()
    # 1. the device token, with its user (select_related)
    # 2. the agent profile (team_of: the supervisor has none)
    # 3. the user's groups (roles), read once per request
    # 4. COUNT of the visible routes (pagination)
    # 5. the routes of the page, with their team (select_related)
    # 6. all their stops, with case, creditor, address and visit (one prefetch)
    # 7. the cases' relations, 8. the cases' stops visited before, with each last outcome
    with django_assert_max_num_queries(8) as small_queries:
        small = supervisor.get(LIST_URL, {"date": day})
    assert small.json()["count"] == 1

    for name, stops in (("Jingan", 6), ("Minhang", 9), ("Putuo", 4)):
        approved_route(world, staffed_team(world, name), today(), stops=stops)
    with CaptureQueriesContext(connection) as big_queries:
        big = supervisor.get(LIST_URL, {"date": day})

    body = big.json()
    assert body["count"] == 4
    assert sum(len(route["stops"]) for route in body["results"]) == 3 + 6 + 9 + 4
    assert all(stop["visit_id"] for route in body["results"] for stop in route["stops"])
    assert all(stop["case"]["creditor"] for route in body["results"] for stop in route["stops"])
    # Four times the routes and seven times the stops, not one query more.
    assert len(big_queries) == len(small_queries), [q["sql"] for q in big_queries.captured_queries]


def test_agent_list_query_count_does_not_grow_with_stops(world, django_assert_max_num_queries):
    agent = world.client(world.agent_a)
    agent.get("/api/v1/me/")
    later = today() + dt.timedelta(days=2)
    extra = [factories.case(world.team, world.creditor) for _ in range(10)]
    route = factories.route(world.team, world.planner, later, [factories.address(c) for c in extra])
    approve(route, world.planner, world.supervisor)
    # 1. the device token, with its user
    # 2. the agent profile, 3. the user's groups, 4. the profile's team (team_of)
    # 5. COUNT of the routes, 6. the routes with their team, 7. the stops (one prefetch)
    # 8. the cases' relations, 9. the cases' stops visited before, with each last outcome
    with django_assert_max_num_queries(9) as three_stops:
        small = agent.get(LIST_URL, {"date": today().isoformat()})
    with django_assert_max_num_queries(9) as ten_stops:
        big = agent.get(LIST_URL, {"date": later.isoformat()})

    assert len(small.json()["results"][0]["stops"]) == 3
    assert len(big.json()["results"][0]["stops"]) == 10
    assert len(ten_stops) == len(three_stops)


# --- detail ----------------------------------------------------------------------------


def test_team_members_see_the_route(world):
    for user in (world.agent_a, world.agent_b):
        response = world.client(user).get(detail_url(world.route.pk))
        assert response.status_code == 200
        body = response.json()
        assert set(body) == ROUTE_KEYS
        assert body["id"] == str(world.route.pk)
        assert body["status"] == "approved"
        assert body["team"] == {"id": world.team.pk, "name": "Huangpu"}
        assert len(body["stops"]) == 3
        assert set(body["stops"][0]) == STOP_KEYS


def test_the_team_supervisor_sees_the_route(world):
    response = world.client(world.supervisor).get(detail_url(world.route.pk))

    assert response.status_code == 200
    assert response.json()["id"] == str(world.route.pk)


def test_a_draft_route_is_shown_without_notice_numbers_or_visits(world):
    draft = factories.route(
        world.team, world.planner, today() + dt.timedelta(days=1), [world.addresses[3]]
    )

    body = world.client(world.agent_a).get(detail_url(draft.pk)).json()

    assert body["status"] == "draft"
    assert body["stops"][0]["notice_number"] is None
    assert body["stops"][0]["visit_id"] is None


def test_outsider_gets_404(world):
    response = world.client(world.outsider).get(detail_url(world.route.pk))

    assert_problem(response, 404, "not_found")
    assert str(world.route.pk).encode() not in response.content


def test_legal_planner_and_auditor_get_404(world):
    for user in (world.legal, world.planner, world.auditor):
        assert_problem(world.client(user).get(detail_url(world.route.pk)), 404, "not_found")


def test_another_teams_supervisor_gets_404(world):
    other = factories.user("supervisor_2", "supervisor")
    world.other_team.supervisor = other
    world.other_team.save(update_fields=["supervisor"])

    assert_problem(world.client(other).get(detail_url(world.route.pk)), 404, "not_found")


def test_an_unknown_route_is_404(world):
    response = world.client(world.agent_a).get(detail_url(uuid.uuid4()))

    assert_problem(response, 404, "not_found")


def test_a_malformed_route_id_is_a_404_problem(world):
    response = world.client(world.agent_a).get("/api/v1/routes/not-a-uuid/")

    assert_problem(response, 404, "not_found")


def test_anonymous_gets_401(world, anon):
    assert_problem(anon.get(detail_url(world.route.pk)), 401, "not_authenticated")
    assert_problem(anon.get(LIST_URL), 401, "not_authenticated")


def test_a_stop_shows_the_case_status_its_relations_and_how_earlier_visits_went(clock, world):
    from fieldvisit.actions.cases import change_case_status
    from fieldvisit.models import Relation
    from tests.helpers import arrive_pair, leave_pair, stops_of

    stop = stops_of(world.route)[0]
    arrive_pair(world, stop)
    leave_pair(world, stop)
    case = stop.case
    Relation.objects.create(case=case, name="Li Si", kind="guarantor", do_not_contact=True)
    later = today() + dt.timedelta(days=3)
    route = factories.route(world.team, world.planner, later, [stop.address])
    approve(route, world.planner, world.supervisor)
    change_case_status(
        case.pk, status="disputed", do_not_contact=False, reason="amount disputed", by=world.planner
    )
    agent = world.client(world.agent_a)
    (found,) = agent.get(LIST_URL, {"date": later.isoformat()}).json()["results"]
    shown = found["stops"][0]["case"]
    assert (shown["status"], shown["status_reason"], shown["do_not_contact"]) == (
        "disputed",
        "amount disputed",
        False,
    )
    (li_si,) = Relation.objects.filter(case=case)
    assert shown["relations"] == [
        {"id": str(li_si.id), "name": "Li Si", "kind": "guarantor", "do_not_contact": True}
    ]
    assert shown["previous_visits"] == [
        {"date": str(world.route.date), "status": "closed", "outcome": None}
    ]
    # The visit itself is not its own earlier visit.
    (today_route,) = agent.get(LIST_URL, {"date": today().isoformat()}).json()["results"]
    first = next(s for s in today_route["stops"] if s["id"] == str(stop.pk))
    assert first["case"]["previous_visits"] == []
