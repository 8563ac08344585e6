"""Planning, approving and changing routes through the actions (database, ledger).

Each step is checked for its status change, its refusals (with the RuleViolation code the API
answers with), its ledger entry and what the database itself refuses when the code is bypassed.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from fieldvisit.actions import routes as actions
from fieldvisit.api.errors import status_for
from fieldvisit.choices import ChangeRequestStatus, Role, RouteStatus, StopStatus
from fieldvisit.models import (
    Address,
    AgentProfile,
    Case,
    LedgerEntry,
    Route,
    RouteChangeRequest,
    Stop,
    Visit,
)
from fieldvisit.rules import RuleViolation
from tests import factories
from tests.helpers import World, at, today


def tomorrow() -> dt.date:
    return today() + dt.timedelta(days=1)


def entries(route: Route) -> list[LedgerEntry]:
    return list(LedgerEntry.objects.filter(subject=f"route:{route.pk}").order_by("index"))


def payload(entry: LedgerEntry) -> dict[str, Any]:
    return json.loads(bytes(entry.entry_bytes))


def fresh(user: User) -> User:
    """The user re-read, so permission caches reflect group changes."""
    return User.objects.get(pk=user.pk)


def assert_refused(code: str, call: Any, *args: Any, status: int = 422, **kwargs: Any) -> None:
    with pytest.raises(RuleViolation) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code
    assert status_for(caught.value.code) == status


@pytest.fixture
def draft(world: World) -> Route:
    """Tomorrow's draft route for agent A's team, three geocoded stops."""
    return factories.route(world.team, world.planner, tomorrow(), world.addresses[:3])


@pytest.fixture
def submitted(world: World, draft: Route) -> Route:
    return actions.submit_route(draft.pk, world.planner)


def request_change(world: World, by: User | None = None, **fields: Any) -> RouteChangeRequest:
    stops = list(world.route.stops.order_by("sequence"))
    values: dict[str, Any] = {
        "reason": "Debtor moved; the second stop is closed today.",
        "add_stops": [world.addresses[3]],
        "skip_stops": [stops[1].pk],
        "order": [stops[2].pk, stops[0].pk],
    }
    values.update(fields)
    return actions.request_change(
        record_id=uuid.uuid4(),
        route_id=world.route.pk,
        by=by or world.agent_a,
        fingerprint="0" * 64,
        **values,
    )


# --- submit --------------------------------------------------------------------------------


def test_submit_route(world: World, draft: Route) -> None:
    route = actions.submit_route(draft.pk, world.planner)

    route.refresh_from_db()
    assert route.status == RouteStatus.SUBMITTED
    assert route.submitted_at is not None
    assert route.decided_by is None
    [entry] = entries(route)
    assert entry.kind == "route.submitted"
    body = payload(entry)
    assert body["actor"]["username"] == "planner"
    assert body["data"]["date"] == tomorrow().isoformat()
    assert body["data"]["team"] == "Huangpu"
    assert [stop["sequence"] for stop in body["data"]["stops"]] == [1, 2, 3]
    assert [stop["address"] for stop in body["data"]["stops"]] == [
        a.text for a in world.addresses[:3]
    ]
    assert all(stop["notice_number"] is None for stop in body["data"]["stops"])


def test_submit_on_the_routes_day_is_refused(world: World, draft: Route) -> None:
    assert_refused(
        "route_not_planned_ahead",
        actions.submit_route,
        draft.pk,
        world.planner,
        now=at(tomorrow(), 7),
    )
    draft.refresh_from_db()
    assert draft.status == RouteStatus.DRAFT
    assert entries(draft) == []


def test_submit_the_evening_before_is_accepted(world: World, draft: Route) -> None:
    route = actions.submit_route(draft.pk, world.planner, now=at(today(), 23, 59))
    assert route.status == RouteStatus.SUBMITTED


def test_submit_twice_is_refused(world: World, submitted: Route) -> None:
    assert_refused("invalid_route_transition", actions.submit_route, submitted.pk, world.planner)
    assert [e.kind for e in entries(submitted)] == ["route.submitted"]


def test_submit_without_stops_is_refused(world: World) -> None:
    empty = factories.route(world.team, world.planner, tomorrow(), [])
    assert_refused("route_empty", actions.submit_route, empty.pk, world.planner)


def test_submit_with_ungeocoded_address_is_refused(world: World) -> None:
    nowhere = factories.address(world.cases[3], text="Somewhere without coordinates")
    nowhere.lat = nowhere.lon = None
    nowhere.save()
    route = factories.route(world.team, world.planner, tomorrow(), [world.addresses[0], nowhere])
    with pytest.raises(RuleViolation) as caught:
        actions.submit_route(route.pk, world.planner)
    assert caught.value.code == "address_not_geocoded"
    assert "Somewhere without coordinates" in caught.value.detail


def test_submit_with_understaffed_team_is_refused(world: World, draft: Route) -> None:
    AgentProfile.objects.filter(user=world.agent_b).update(background_check_on=None)
    assert_refused("team_understaffed", actions.submit_route, draft.pk, world.planner)


def foreign_route(world: World) -> Route:
    """Tomorrow's route for agent A's team with a stop whose case is the other team's."""
    case = factories.case(world.other_team, world.creditor, debtor_name="Not Ours")
    place = factories.address(case)
    return factories.route(world.team, world.planner, tomorrow(), [world.addresses[0], place])


def test_submit_with_another_teams_case_is_refused(world: World) -> None:
    # Regression: agents would have seen another team's debtor through their route.
    route = foreign_route(world)
    case = route.stops.get(sequence=2).case
    with pytest.raises(RuleViolation) as caught:
        actions.submit_route(route.pk, world.planner)
    assert caught.value.code == "case_not_assigned"
    assert case.number in caught.value.detail
    route.refresh_from_db()
    assert route.status == RouteStatus.DRAFT


def test_approving_after_a_case_was_reassigned_is_refused(world: World, submitted: Route) -> None:
    moved = submitted.stops.get(sequence=3).case
    moved.team = world.other_team
    moved.save()
    assert_refused("case_not_assigned", actions.decide_route, submitted.pk, world.supervisor, True)
    submitted.refresh_from_db()
    assert submitted.status == RouteStatus.SUBMITTED
    # Rejecting such a route stays possible.
    actions.decide_route(submitted.pk, world.supervisor, False, "case moved")


def test_agent_cannot_submit(world: World, draft: Route) -> None:
    assert_refused("permission_denied", actions.submit_route, draft.pk, world.agent_a, status=403)
    draft.refresh_from_db()
    assert draft.status == RouteStatus.DRAFT


# --- decide --------------------------------------------------------------------------------


def test_approve_route(world: World, submitted: Route) -> None:
    route = actions.decide_route(submitted.pk, world.supervisor, True, "  looks right ")

    route.refresh_from_db()
    assert route.status == RouteStatus.APPROVED
    assert route.decided_by == world.supervisor
    assert route.decided_at is not None
    assert route.decision_comment == "looks right"
    stops = list(route.stops.order_by("sequence"))
    numbers = [stop.notice_number for stop in stops]
    assert all(numbers)
    assert len(set(numbers)) == 3
    prefix = f"CN-{route.date:%Y%m%d}-{route.pk.hex[:8].upper()}-"
    assert numbers == [f"{prefix}001", f"{prefix}002", f"{prefix}003"]
    # Unique across routes too: today's route numbered the same addresses differently.
    assert not set(numbers) & set(world.route.stops.values_list("notice_number", flat=True))
    # One planned visit per stop.
    visits = Visit.objects.filter(stop__route=route)
    assert sorted(v.stop_id for v in visits) == sorted(s.pk for s in stops)
    assert {v.status for v in visits} == {"planned"}

    assert [e.kind for e in entries(route)] == ["route.submitted", "route.approved"]
    body = payload(entries(route)[-1])
    assert body["actor"]["username"] == "supervisor"
    assert body["data"]["comment"] == "looks right"
    assert body["data"]["planned_by"] == world.planner.pk
    assert [s["notice_number"] for s in body["data"]["stops"]] == numbers
    assert [s["stop"] for s in body["data"]["stops"]] == [str(s.pk) for s in stops]


def test_reject_route(world: World, submitted: Route) -> None:
    route = actions.decide_route(submitted.pk, world.supervisor, False, "Stop 2 is not ours.")

    route.refresh_from_db()
    assert route.status == RouteStatus.REJECTED
    assert route.decided_by == world.supervisor
    assert route.decision_comment == "Stop 2 is not ours."
    assert not route.stops.exclude(notice_number=None).exists()
    assert not Visit.objects.filter(stop__route=route).exists()
    [_, entry] = entries(route)
    assert entry.kind == "route.rejected"
    body = payload(entry)
    assert body["data"]["comment"] == "Stop 2 is not ours."
    assert len(body["data"]["stops"]) == 3


@pytest.mark.parametrize("comment", ["", "   "])
def test_reject_without_comment_is_refused(world: World, submitted: Route, comment: str) -> None:
    assert_refused(
        "comment_required", actions.decide_route, submitted.pk, world.supervisor, False, comment
    )
    submitted.refresh_from_db()
    assert submitted.status == RouteStatus.SUBMITTED
    assert [e.kind for e in entries(submitted)] == ["route.submitted"]


def test_deciding_own_route_is_refused(world: World) -> None:
    # The supervisor planned this one; the planner handed it in.
    route = factories.route(world.team, world.supervisor, tomorrow(), world.addresses[:3])
    actions.submit_route(route.pk, world.planner)
    for approve, comment in ((True, ""), (False, "no")):
        assert_refused(
            "maker_checker", actions.decide_route, route.pk, world.supervisor, approve, comment
        )
    route.refresh_from_db()
    assert route.status == RouteStatus.SUBMITTED
    assert route.decided_by is None


def test_planner_with_decide_permission_still_cannot_decide_own_route(
    world: World, submitted: Route
) -> None:
    world.planner.groups.add(*User.objects.get(pk=world.supervisor.pk).groups.all())
    assert_refused("maker_checker", actions.decide_route, submitted.pk, fresh(world.planner), True)


def test_planner_without_decide_permission_is_denied(world: World, submitted: Route) -> None:
    assert_refused(
        "permission_denied",
        actions.decide_route,
        submitted.pk,
        world.planner,
        True,
        status=403,
    )


@pytest.mark.parametrize("who", ["legal", "auditor", "agent_a"])
def test_other_roles_cannot_decide(world: World, submitted: Route, who: str) -> None:
    assert_refused(
        "permission_denied",
        actions.decide_route,
        submitted.pk,
        getattr(world, who),
        True,
        status=403,
    )


@pytest.mark.parametrize(
    "unqualify",
    [
        pytest.param({"active": False}, id="profile inactive"),
        pytest.param({"background_check_on": None}, id="no background check"),
        pytest.param({"team": None}, id="left the team"),
    ],
)
def test_approving_with_understaffed_team_is_refused(
    world: World, submitted: Route, unqualify: dict[str, Any]
) -> None:
    AgentProfile.objects.filter(user=world.agent_b).update(**unqualify)
    assert_refused("team_understaffed", actions.decide_route, submitted.pk, world.supervisor, True)
    submitted.refresh_from_db()
    assert submitted.status == RouteStatus.SUBMITTED
    assert not Visit.objects.filter(stop__route=submitted).exists()
    assert not submitted.stops.exclude(notice_number=None).exists()


def test_approving_with_deactivated_user_is_refused(world: World, submitted: Route) -> None:
    User.objects.filter(pk=world.agent_b.pk).update(is_active=False)
    assert_refused("team_understaffed", actions.decide_route, submitted.pk, world.supervisor, True)


def test_approving_after_the_routes_day_is_refused(world: World, submitted: Route) -> None:
    later = at(tomorrow() + dt.timedelta(days=1), 9)
    assert_refused(
        "route_date_passed", actions.decide_route, submitted.pk, world.supervisor, True, now=later
    )


def test_deciding_a_draft_or_decided_route_is_refused(world: World, draft: Route) -> None:
    assert_refused(
        "invalid_route_transition", actions.decide_route, draft.pk, world.supervisor, True
    )
    assert_refused(
        "invalid_route_transition", actions.decide_route, world.route.pk, world.supervisor, True
    )


# --- change requests -----------------------------------------------------------------------


def test_approve_change_request(world: World) -> None:
    before = list(world.route.stops.order_by("sequence"))
    first, second, third = before
    change = request_change(world)
    assert change.status == ChangeRequestStatus.PENDING

    decided = actions.decide_change(change.pk, world.supervisor, True, "fine")

    decided.refresh_from_db()
    assert decided.status == ChangeRequestStatus.APPROVED
    assert decided.decided_by == world.supervisor
    assert decided.decision_comment == "fine"
    after = list(world.route.stops.order_by("sequence"))
    assert [(s.pk, s.sequence, s.status) for s in after[:3]] == [
        (third.pk, 1, StopStatus.PLANNED),
        (first.pk, 2, StopStatus.PLANNED),
        (second.pk, 3, StopStatus.SKIPPED),
    ]
    added = after[3]
    assert added.sequence == 4
    assert added.address == world.addresses[3]
    assert added.added_by_change == decided
    prefix = f"CN-{world.route.date:%Y%m%d}-{world.route.pk.hex[:8].upper()}-"
    assert added.notice_number == f"{prefix}004"
    # Existing stops keep their numbers: what was printed stays valid.
    assert [s.notice_number for s in after[:3]] == [
        third.notice_number,
        first.notice_number,
        second.notice_number,
    ]
    assert Visit.objects.filter(stop=added).count() == 1

    kinds = [e.kind for e in entries(world.route)]
    assert kinds == [
        "route.submitted",
        "route.approved",
        "route_change.requested",
        "route_change.approved",
    ]
    body = payload(entries(world.route)[-1])
    assert body["actor"]["username"] == "supervisor"
    assert body["data"]["change_request"] == str(change.pk)
    assert [(s["stop"], s["sequence"], s["status"]) for s in body["data"]["stops"]] == [
        (str(s.pk), s.sequence, s.status) for s in after
    ]


def test_reject_change_request(world: World) -> None:
    before = list(world.route.stops.order_by("sequence").values_list("pk", "sequence", "status"))
    change = request_change(world)

    decided = actions.decide_change(change.pk, world.supervisor, False, "Stay on plan.")

    decided.refresh_from_db()
    assert decided.status == ChangeRequestStatus.REJECTED
    assert decided.decision_comment == "Stay on plan."
    after = list(world.route.stops.order_by("sequence").values_list("pk", "sequence", "status"))
    assert after == before
    entry = entries(world.route)[-1]
    assert entry.kind == "route_change.rejected"
    body = payload(entry)
    assert body["data"]["comment"] == "Stay on plan."
    assert len(body["data"]["stops"]) == 3


def test_reject_change_without_comment_is_refused(world: World) -> None:
    change = request_change(world)
    assert_refused("comment_required", actions.decide_change, change.pk, world.supervisor, False)
    change.refresh_from_db()
    assert change.status == ChangeRequestStatus.PENDING


def test_change_request_decided_only_once(world: World) -> None:
    change = request_change(world)
    actions.decide_change(change.pk, world.supervisor, False, "no")
    assert_refused(
        "change_request_decided", actions.decide_change, change.pk, world.supervisor, True
    )
    assert world.route.stops.count() == 3


def test_only_the_routes_agents_request_changes(world: World) -> None:
    for outsider in (world.supervisor, world.outsider, world.legal):
        assert_refused("not_team_member", request_change, world, by=outsider, status=403)


def test_requester_cannot_decide_own_change(world: World) -> None:
    """Even an agent who somehow holds the decide permission cannot approve their own."""
    from django.contrib.auth.models import Permission

    change = request_change(world, by=world.agent_a)
    world.agent_a.user_permissions.add(Permission.objects.get(codename="decide_routechangerequest"))
    agent = fresh(world.agent_a)
    assert_refused("maker_checker", actions.decide_change, change.pk, agent, True)


@pytest.mark.parametrize("who", ["planner", "agent_b", "legal"])
def test_change_decided_only_with_permission(world: World, who: str) -> None:
    change = request_change(world)
    assert_refused(
        "permission_denied", actions.decide_change, change.pk, getattr(world, who), True, status=403
    )


def test_change_request_on_unapproved_route_is_refused(world: World, submitted: Route) -> None:
    with pytest.raises(RuleViolation) as caught:
        actions.request_change(
            record_id=uuid.uuid4(),
            route_id=submitted.pk,
            by=world.agent_a,
            reason="x",
            add_stops=[],
            skip_stops=[],
            order=[],
            fingerprint="0" * 64,
        )
    assert caught.value.code == "route_not_approved"


def test_change_request_with_bad_order_is_refused(world: World) -> None:
    stops = list(world.route.stops.order_by("sequence").values_list("pk", flat=True))
    with pytest.raises(RuleViolation) as caught:
        request_change(world, add_stops=[], skip_stops=[], order=[stops[0], stops[0], stops[1]])
    assert caught.value.code == "invalid_order"
    assert not RouteChangeRequest.objects.exists()


# --- the database refuses what the code refuses --------------------------------------------


def test_database_refuses_planner_as_decider(world: World) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Route.objects.filter(pk=world.route.pk).update(decided_by=world.planner)
    world.route.refresh_from_db()
    assert world.route.decided_by == world.supervisor


def test_database_refuses_decided_route_without_decider(world: World, draft: Route) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Route.objects.filter(pk=draft.pk).update(status=RouteStatus.APPROVED)


def test_database_refuses_second_live_route_for_team_and_day(world: World) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Route.objects.create(team=world.team, date=world.route.date, planned_by=world.planner)
    assert Route.objects.filter(team=world.team, date=world.route.date).count() == 1


def test_rejected_route_does_not_block_a_new_plan(world: World, submitted: Route) -> None:
    actions.decide_route(submitted.pk, world.supervisor, False, "replan")
    again = Route.objects.create(team=world.team, date=tomorrow(), planned_by=world.planner)
    assert again.status == RouteStatus.DRAFT


def test_database_refuses_duplicate_notice_numbers(world: World) -> None:
    first, second = world.route.stops.order_by("sequence")[:2]
    with pytest.raises(IntegrityError), transaction.atomic():
        Stop.objects.filter(pk=second.pk).update(notice_number=first.notice_number)


def test_database_refuses_requester_deciding_change(world: World) -> None:
    change = request_change(world)
    with pytest.raises(IntegrityError), transaction.atomic():
        RouteChangeRequest.objects.filter(pk=change.pk).update(
            decided_by=world.agent_a, status=ChangeRequestStatus.APPROVED, decided_at=at(today(), 9)
        )


def test_fixture_roles(world: World) -> None:
    """The actors the tests above rely on have the permissions their role implies."""
    assert fresh(world.planner).has_perm("fieldvisit.change_route")
    assert not fresh(world.planner).has_perm("fieldvisit.decide_route")
    assert fresh(world.supervisor).has_perm("fieldvisit.decide_route")
    assert fresh(world.supervisor).has_perm("fieldvisit.decide_routechangerequest")
    assert not fresh(world.supervisor).has_perm("fieldvisit.change_route")
    assert list(world.agent_a.groups.values_list("name", flat=True)) == [Role.AGENT]


def test_a_change_made_stale_by_another_is_refused(world: World) -> None:
    """Two requests made from the same plan: once one skips a stop, the other's order no
    longer fits the route, and approving it would silently bring the stop back."""
    stops = list(world.route.stops.order_by("sequence"))
    first = request_change(world, add_stops=[], skip_stops=[stops[0].id], order=[])
    second = request_change(
        world, add_stops=[], skip_stops=[], order=[stops[2].id, stops[1].id, stops[0].id]
    )
    actions.decide_change(first.id, world.supervisor, approve=True)
    assert_refused(
        "change_request_stale", actions.decide_change, second.id, world.supervisor, approve=True
    )
    second.refresh_from_db()
    assert second.status == ChangeRequestStatus.PENDING
    assert world.route.stops.get(pk=stops[0].id).status == StopStatus.SKIPPED


def _begin_visit(stop: Any, status: str) -> None:
    Visit.objects.filter(stop=stop).update(status=status)


def test_a_stop_whose_visit_is_under_way_cannot_be_skipped(world: World) -> None:
    stops = list(world.route.stops.order_by("sequence"))
    _begin_visit(stops[0], "arriving")
    assert_refused(
        "invalid_change_request",
        request_change,
        world,
        add_stops=[],
        skip_stops=[stops[0].id],
        order=[],
    )


def test_an_added_address_needs_coordinates(world: World) -> None:
    Address.objects.filter(pk=world.addresses[3].pk).update(lat=None, lon=None)
    world.addresses[3].refresh_from_db()
    assert_refused("invalid_change_request", request_change, world, skip_stops=[], order=[])


def test_a_case_moved_to_another_team_before_approval_is_not_added(world: World) -> None:
    change = request_change(world, skip_stops=[], order=[])
    Case.objects.filter(pk=world.addresses[3].case_id).update(team=world.other_team)
    assert_refused(
        "case_not_assigned", actions.decide_change, change.id, world.supervisor, approve=True
    )


def test_visited_stops_keep_their_place_when_a_change_is_applied(world: World) -> None:
    stops = list(world.route.stops.order_by("sequence"))
    _begin_visit(stops[0], "closed")
    Stop.objects.filter(pk=stops[0].pk).update(status=StopStatus.VISITED)
    change = request_change(world, add_stops=[], skip_stops=[], order=[stops[2].id, stops[1].id])
    actions.decide_change(change.id, world.supervisor, approve=True)
    assert list(world.route.stops.order_by("sequence").values_list("id", flat=True)) == [
        stops[0].id,
        stops[2].id,
        stops[1].id,
    ]


def test_an_approved_stops_address_cannot_move(world: World, client: Any) -> None:
    from django.core.exceptions import ValidationError

    address = world.route.stops.order_by("sequence").first().address
    address.lat += 0.01
    with pytest.raises(ValidationError):
        address.save()
    client.force_login(world.planner)
    page = client.get(f"/admin/fieldvisit/address/{address.pk}/change/")
    assert page.status_code == 200
    form = {
        "case": str(address.case_id),
        "kind": address.kind,
        "text": address.text,
        "lat": "31.9",
        "lon": str(address.lon),
        "timezone": address.timezone,
    }
    answer = client.post(f"/admin/fieldvisit/address/{address.pk}/change/", form)
    assert answer.status_code == 200  # the form comes back with the error
    assert b"can no longer change" in answer.content
    address.refresh_from_db()
    assert address.lat != 31.9
    # An address only on draft routes (or none) may still be corrected.
    spare = world.addresses[3]
    spare.lat += 0.001
    spare.save()


def test_id_numbers_are_stored_in_one_spelling(world: World) -> None:
    case = factories.case(world.team, world.creditor, debtor_id_number=" 31011519900502331x ")
    case.refresh_from_db()
    assert case.debtor_id_number == "31011519900502331X"
