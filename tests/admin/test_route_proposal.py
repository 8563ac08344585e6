"""The "Propose a route" admin page: a proposal for a team and a day, edited, then a route.

Through the real admin views as the fixture world's planner: the proposal's choice and order,
what it leaves out and why (caps, coordinates, hours, capacity), editing (untick, reorder),
creating a draft or submitting it, refusals, and pinned query counts.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from fieldvisit.choices import RouteStatus
from fieldvisit.models import Address, Case, LedgerEntry, Route
from tests import factories
from tests.helpers import World, today

pytestmark = pytest.mark.django_db

PROPOSE_URL = reverse("admin:fieldvisit_route_propose")
LAT, LON = 31.2304, 121.4737
GHOST = str(uuid.UUID(int=7))  # no address has this id


def tomorrow() -> dt.date:
    return today() + dt.timedelta(days=1)


def messages_of(response: Any) -> list[tuple[str, str]]:
    return [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]


def params(world: World, **extra: Any) -> dict[str, Any]:
    return {
        "team": world.team.pk,
        "date": tomorrow().isoformat(),
        "stops": 12,
        "start": "09:00",
        **extra,
    }


@pytest.fixture
def planner(world: World, client: Client) -> User:
    client.force_login(world.planner)
    return world.planner


@pytest.fixture
def street(world: World) -> dict[str, Address]:
    """Cases of the world's team on one street (about 110 m apart), out of amount order,
    plus a far-away rich case, an unreachable one and one without coordinates. The world's
    own four cases are closed so that only these count."""
    Case.objects.filter(pk__in=[c.pk for c in world.cases]).update(status="closed")
    made = {}
    for name, amount, dlat, reachable in [
        ("west", "3000", 0.000, True),
        ("mid", "9000", 0.001, True),
        ("east", "1000", 0.002, True),
        ("far", "8000", 0.050, True),
        ("silent", "99000", 0.003, False),
    ]:
        case = factories.case(
            world.team,
            world.creditor,
            number=f"S-{name}",
            amount_due=Decimal(amount),
            reachable=reachable,
        )
        made[name] = factories.address(case, lat=LAT + dlat, lon=LON, text=f"{name} gate")
    nowhere = factories.case(world.team, world.creditor, number="S-nowhere")
    made["nowhere"] = Address.objects.create(case=nowhere, kind="home", text="unknown")
    return made


def proposed(response: Any) -> list[str]:
    return [stop.address.case.number for stop in response.context["proposal"].stops]


def left_out(response: Any) -> dict[str, str]:
    return {item.case.number: item.reason for item in response.context["proposal"].left_out}


def test_proposal_orders_the_shortest_walk_and_says_what_it_left_out(
    world: World, client: Client, planner: User, street: dict[str, Address]
) -> None:
    response = client.get(PROPOSE_URL, params(world))
    assert response.status_code == 200
    # The walk starts at the most pressing reachable account (mid, 9000) and goes along the
    # street; the unreachable account comes last in priority but is on the same street,
    # so it is grouped with its neighbours. The far case fits too (capacity 12).
    assert proposed(response) == ["S-mid", "S-west", "S-east", "S-silent", "S-far"]
    assert left_out(response) == {"S-nowhere": "no coordinates"}
    proposal = response.context["proposal"]
    assert proposal.length_m <= proposal.nearest_neighbour_m + 1e-6
    arrivals = [stop.arrive for stop in proposal.stops]
    assert arrivals == sorted(arrivals)
    assert arrivals[0].hour == 9 and arrivals[0].minute == 0
    page = response.content.decode()
    assert 'name="keep"' in page and "Create and submit for approval" in page
    assert "no coordinates" in page
    assert "<td>09:00</td>" in page  # arrival at the first stop, the address's local time


def test_capacity_picks_reachable_then_amount_and_brings_neighbours_along(
    world: World, client: Client, planner: User, street: dict[str, Address]
) -> None:
    response = client.get(PROPOSE_URL, params(world, stops=3))
    # mid (9000) is the most pressing; its street neighbours come along before far (8000).
    assert sorted(proposed(response)) == ["S-east", "S-mid", "S-west"]
    reasons = left_out(response)
    assert reasons["S-far"] == reasons["S-silent"] == "the route is full (3 stops)"


def test_frequency_cap_keeps_a_debtor_off_the_route(
    world: World, client: Client, planner: User, street: dict[str, Address]
) -> None:
    # The same debtor (ID number) already has a stop tomorrow on another team's route.
    mid = street["mid"].case
    twin = factories.case(
        world.other_team, world.creditor, debtor_id_number=mid.debtor_id_number.lower()
    )
    factories.route(
        world.other_team, world.planner, tomorrow(), [factories.address(twin, lat=LAT + 0.1)]
    )
    response = client.get(PROPOSE_URL, params(world))
    assert "S-mid" not in proposed(response)
    assert "visited 1 time(s) that day" in left_out(response)["S-mid"]
    # A stale page cannot put the debtor back: the route action judges the cap again.
    order = [street["west"], street["mid"]]
    response = client.post(PROPOSE_URL, plan_post(world, order, order))
    assert ("error", "S-mid: The debtor was already visited 1 time(s) that day.") in (
        messages_of(response)
    )
    assert not Route.objects.filter(team=world.team, date=tomorrow()).exists()


def test_visit_hours_drop_what_cannot_be_reached_in_time(
    world: World, client: Client, planner: User, street: dict[str, Address]
) -> None:
    world.creditor.visit_hours_end = dt.time(10, 0)
    world.creditor.save()
    response = client.get(PROPOSE_URL, params(world))
    # 09:00-09:30, 09:31-10:01 would end after 10:00: only the first visit fits.
    assert proposed(response) == ["S-mid"]
    assert all(
        "allowed between 08:00 and 10:00" in reason
        for number, reason in left_out(response).items()
        if number != "S-nowhere"
    )


def plan_post(world: World, order: list[Address], keep: list[Address], **extra: Any) -> dict:
    data: dict[str, Any] = {**params(world), "stop": [str(a.pk) for a in order], **extra}
    data["keep"] = [str(a.pk) for a in keep]
    return data


def test_planner_unticks_and_reorders_then_creates_a_draft(
    world: World, client: Client, planner: User, street: dict[str, Address]
) -> None:
    west, mid, east, far = street["west"], street["mid"], street["east"], street["far"]
    data = plan_post(world, [mid, west, east, far], keep=[mid, west, east])
    data[f"position-{east.pk}"] = "1"
    data[f"position-{mid.pk}"] = "2"
    data[f"position-{west.pk}"] = "3"
    response = client.post(PROPOSE_URL, data)
    route = Route.objects.get(team=world.team, date=tomorrow())
    assert response.status_code == 302
    assert response.url == reverse("admin:fieldvisit_route_change", args=[route.pk])
    assert route.status == RouteStatus.DRAFT and route.planned_by == world.planner
    stops = list(route.stops.order_by("sequence").values_list("sequence", "address_id"))
    assert stops == [(1, east.pk), (2, mid.pk), (3, west.pk)]
    assert not LedgerEntry.objects.filter(subject=f"route:{route.pk}").exists()


def test_create_and_submit_goes_to_approval(
    world: World, client: Client, planner: User, street: dict[str, Address]
) -> None:
    order = [street["mid"], street["west"]]
    response = client.post(PROPOSE_URL, plan_post(world, order, order, _submit="1"))
    assert response.status_code == 302
    route = Route.objects.get(team=world.team, date=tomorrow())
    assert route.status == RouteStatus.SUBMITTED
    entry = LedgerEntry.objects.get(subject=f"route:{route.pk}", kind="route.submitted")
    data = json.loads(bytes(entry.entry_bytes))["data"]
    assert [s["case"] for s in data["stops"]] == ["S-mid", "S-west"]
    assert ("success", "Route submitted for approval.") in messages_of(response)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda w, s, d: d.update(keep=[]), "A route needs at least one stop."),
        (
            lambda w, s, d: d.update(stop=[str(w.addresses[0].pk)], keep=[str(w.addresses[0].pk)]),
            "not open",
        ),
        (
            lambda w, s, d: d.update(stop=[str(s["nowhere"].pk)], keep=[str(s["nowhere"].pk)]),
            "no coordinates",
        ),
        (lambda w, s, d: d.update(stop=["not-a-uuid"], keep=["not-a-uuid"]), "unknown stop"),
        (lambda w, s, d: d.update(stop=[GHOST], keep=[GHOST]), "No such address"),
        (lambda w, s, d: d.update(stop=d["stop"] * 2), "listed twice"),
        (lambda w, s, d: d.update({f"position-{s['mid'].pk}": "first"}), "is not a number"),
    ],
)
def test_refusals_are_messages_and_create_nothing(
    world: World,
    client: Client,
    planner: User,
    street: dict[str, Address],
    mutate: Any,
    message: str,
) -> None:
    data = plan_post(world, [street["mid"], street["west"]], [street["mid"], street["west"]])
    mutate(world, street, data)
    response = client.post(PROPOSE_URL, data)
    assert response.status_code == 200
    assert any(message in text for level, text in messages_of(response) if level == "error"), (
        messages_of(response)
    )
    assert not Route.objects.filter(date=tomorrow()).exists()


def test_other_teams_cases_and_a_second_route_are_refused(
    world: World, client: Client, planner: User, street: dict[str, Address]
) -> None:
    foreign = factories.address(factories.case(world.other_team, world.creditor))
    response = client.post(PROPOSE_URL, plan_post(world, [foreign], [foreign]))
    assert any("not assigned" in text for _, text in messages_of(response))
    assert not Route.objects.filter(date=tomorrow()).exists()
    order = [street["mid"]]
    client.post(PROPOSE_URL, plan_post(world, order, order))
    response = client.post(PROPOSE_URL, plan_post(world, [street["west"]], [street["west"]]))
    assert any("already has a route" in text for _, text in messages_of(response))
    assert Route.objects.filter(date=tomorrow()).count() == 1


def test_form_errors_for_bad_parameters_and_days_already_begun(
    world: World, client: Client, planner: User
) -> None:
    for bad in (
        {"team": "abc"},
        {"date": "2026-13-45"},
        {"stops": "0"},
        {"stops": "999"},
        {"start": "25:99"},
        {"date": today().isoformat()},
        {"date": "9999-12-31"},
        {"date": (today() + dt.timedelta(days=61)).isoformat()},
    ):
        response = client.get(PROPOSE_URL, params(world, **bad))
        assert response.status_code == 200
        assert response.context["form"].errors and response.context["proposal"] is None
    response = client.get(PROPOSE_URL, params(world, date=today().isoformat()))
    assert "submitted before that day" in response.content.decode()


def test_only_planners_propose(world: World, client: Client) -> None:
    for user in (world.supervisor, world.legal, world.auditor, world.agent_a):
        client.force_login(user)
        response = client.get(PROPOSE_URL, params(world))
        assert response.status_code in (302, 403)  # agents are not staff: to the login page
        assert client.post(PROPOSE_URL, params(world)).status_code in (302, 403)
    client.force_login(world.planner)
    changelist = client.get(reverse("admin:fieldvisit_route_changelist"))
    assert PROPOSE_URL in changelist.content.decode()
    client.force_login(world.supervisor)
    changelist = client.get(reverse("admin:fieldvisit_route_changelist"))
    assert PROPOSE_URL not in changelist.content.decode()


# Queries of the proposal page, whatever the number of cases: session, user, the user's
# permissions (user and group permissions, then cached) and role (staff scope of the team
# list); the team list to validate the form; the open cases with their creditors; their
# addresses (one prefetch); the debtors' other stops around the day; the team list again
# for the form's select box; what would stop approval (the team's agents and their papers,
# its on-call chain and their verified contacts).
PROPOSAL_QUERIES = 14


def test_proposal_page_query_count_does_not_grow_with_cases(
    world: World, client: Client, planner: User, django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(PROPOSAL_QUERIES) as few:
        assert client.get(PROPOSE_URL, params(world)).status_code == 200
    for n in range(40):
        case = factories.case(world.team, world.creditor)
        factories.address(case, lat=LAT + 0.001 * n, lon=LON + 0.0005 * (n % 7))
    with django_assert_max_num_queries(PROPOSAL_QUERIES) as many:
        response = client.get(PROPOSE_URL, params(world, stops=20))
    assert len(response.context["proposal"].stops) == 20
    assert len(many.captured_queries) == len(few.captured_queries)
    with django_assert_max_num_queries(6):
        # The empty form: session, user, permissions (2), role, the team list.
        assert client.get(PROPOSE_URL).status_code == 200
