"""Routes in admin: the planner drafts and submits, a different supervisor decides.

Everything goes through the real admin pages (forms, inline formsets, the submit and decide
views) signed in as the fixture world's actors.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from fieldvisit.actions import routes as actions
from fieldvisit.choices import ChangeRequestStatus, RouteStatus, StopStatus
from fieldvisit.models import LedgerEntry, Route, RouteChangeRequest, Stop, Visit
from tests import factories
from tests.helpers import World, today


def tomorrow() -> dt.date:
    return today() + dt.timedelta(days=1)


def login(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def messages_of(response: Any) -> list[tuple[str, str]]:
    return [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]


def kinds(subject: str) -> list[str]:
    return list(LedgerEntry.objects.filter(subject=subject).values_list("kind", flat=True))


def field_names(html: str) -> set[str]:
    return set(re.findall(r'name="([^"]+)"', html))


def change_url(route: Route) -> str:
    return reverse("admin:fieldvisit_route_change", args=[route.pk])


def decide_url(route: Route) -> str:
    return reverse("admin:fieldvisit_route_decide", args=[route.pk])


def decide_link(route: Route) -> str:
    return f'href="{decide_url(route)}"'


@pytest.fixture
def submitted(world: World) -> Route:
    route = factories.route(world.team, world.planner, tomorrow(), world.addresses[:3])
    return actions.submit_route(route.pk, world.planner)


def change_request(world: World) -> RouteChangeRequest:
    first, second, third = world.route.stops.order_by("sequence")
    return actions.request_change(
        record_id=uuid.uuid4(),
        route_id=world.route.pk,
        by=world.agent_a,
        reason="The workplace closed early.",
        add_stops=[world.addresses[3]],
        skip_stops=[second.pk],
        order=[third.pk, first.pk],
        fingerprint="0" * 64,
    )


# --- planner: create and submit ------------------------------------------------------------


def test_planner_creates_route_with_inline_stops_and_submits(world: World, client: Client) -> None:
    login(client, world.planner)
    add_url = reverse("admin:fieldvisit_route_add")
    form = client.get(add_url)
    assert form.status_code == 200
    names = field_names(form.content.decode())
    # The planner picks team and date; status, planner and decision are not theirs to set.
    assert {"team", "date"} <= names
    assert not {"status", "planned_by", "decided_by"} & names
    assert {
        "stops-TOTAL_FORMS",
        "stops-INITIAL_FORMS",
        "stops-MIN_NUM_FORMS",
        "stops-MAX_NUM_FORMS",
        "stops-0-sequence",
        "stops-0-case",
        "stops-0-address",
    } <= names
    assert "stops-0-notice_number" not in names

    data = {
        "team": world.team.pk,
        "date": tomorrow().isoformat(),
        "stops-TOTAL_FORMS": "3",
        "stops-INITIAL_FORMS": "0",
        "stops-MIN_NUM_FORMS": "0",
        "stops-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    for n, address in enumerate([world.addresses[1], world.addresses[0], world.addresses[3]]):
        data[f"stops-{n}-sequence"] = str(n + 1)
        data[f"stops-{n}-case"] = str(address.case_id)
        data[f"stops-{n}-address"] = str(address.pk)
    response = client.post(add_url, data)
    assert response.status_code == 302, response.context["errors"] if response.context else ""

    route = Route.objects.get(team=world.team, date=tomorrow())
    assert route.status == RouteStatus.DRAFT
    assert route.planned_by == world.planner
    assert list(route.stops.order_by("sequence").values_list("address", flat=True)) == [
        world.addresses[1].pk,
        world.addresses[0].pk,
        world.addresses[3].pk,
    ]

    page = client.get(change_url(route))
    submit_url = reverse("admin:fieldvisit_route_submit", args=[route.pk])
    assert f'action="{submit_url}"' in page.content.decode()

    response = client.post(submit_url)
    assert response.status_code == 302
    assert response["Location"] == change_url(route)
    assert messages_of(response) == [("success", "Route submitted for approval.")]
    route.refresh_from_db()
    assert route.status == RouteStatus.SUBMITTED
    assert kinds(f"route:{route.pk}") == ["route.submitted"]
    # Submitted: no more submit button, and the planner cannot decide it either.
    page = client.get(change_url(route)).content.decode()
    assert f'action="{submit_url}"' not in page
    assert decide_link(route) not in page


def test_inline_stop_with_address_of_another_case_is_refused(world: World, client: Client) -> None:
    login(client, world.planner)
    data = {
        "team": world.team.pk,
        "date": tomorrow().isoformat(),
        "stops-TOTAL_FORMS": "1",
        "stops-INITIAL_FORMS": "0",
        "stops-MIN_NUM_FORMS": "0",
        "stops-MAX_NUM_FORMS": "1000",
        "stops-0-sequence": "1",
        "stops-0-case": str(world.cases[0].pk),
        "stops-0-address": str(world.addresses[1].pk),
    }
    response = client.post(reverse("admin:fieldvisit_route_add"), data)
    assert response.status_code == 200
    assert "The address must belong to the stop&#x27;s case." in response.content.decode()
    assert not Route.objects.filter(date=tomorrow()).exists()


def route_form(team: Any, day: dt.date, stops: list[Any], **extra: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "team": team.pk,
        "date": day.isoformat(),
        "stops-TOTAL_FORMS": str(len(stops)),
        "stops-INITIAL_FORMS": "0",
        "stops-MIN_NUM_FORMS": "0",
        "stops-MAX_NUM_FORMS": "1000",
        **extra,
    }
    for n, address in enumerate(stops):
        data[f"stops-{n}-sequence"] = str(n + 1)
        data[f"stops-{n}-case"] = str(address.case_id)
        data[f"stops-{n}-address"] = str(address.pk)
    return data


def test_second_live_route_for_team_and_day_is_a_form_error(world: World, client: Client) -> None:
    # Regression: the database constraint used to surface as an IntegrityError (500).
    login(client, world.planner)
    response = client.post(
        reverse("admin:fieldvisit_route_add"), route_form(world.team, today(), [])
    )
    assert response.status_code == 200
    assert (
        f"Huangpu already has a route for {today():%Y-%m-%d}; edit that one instead."
        in response.content.decode()
    )
    assert Route.objects.filter(team=world.team, date=today()).count() == 1


def test_route_for_same_day_as_a_rejected_one_can_be_added(world: World, client: Client) -> None:
    rejected = factories.route(world.team, world.planner, tomorrow(), world.addresses[:1])
    actions.submit_route(rejected.pk, world.planner)
    actions.decide_route(rejected.pk, world.supervisor, False, "replan")
    login(client, world.planner)
    response = client.post(
        reverse("admin:fieldvisit_route_add"),
        route_form(world.team, tomorrow(), world.addresses[:2]),
    )
    assert response.status_code == 302
    assert Route.objects.filter(team=world.team, date=tomorrow()).count() == 2


def test_planner_edits_own_draft(world: World, client: Client) -> None:
    route = factories.route(world.team, world.planner, tomorrow(), [])
    login(client, world.planner)
    later = tomorrow() + dt.timedelta(days=1)
    response = client.post(change_url(route), route_form(world.team, later, world.addresses[:2]))
    assert response.status_code == 302
    route.refresh_from_db()
    assert route.date == later
    assert route.stops.count() == 2


def test_submit_refusal_is_shown_as_message(world: World, client: Client) -> None:
    empty = factories.route(world.team, world.planner, tomorrow(), [])
    login(client, world.planner)
    response = client.post(reverse("admin:fieldvisit_route_submit", args=[empty.pk]))
    assert response.status_code == 302
    assert messages_of(response) == [("error", "A route needs at least one stop.")]
    empty.refresh_from_db()
    assert empty.status == RouteStatus.DRAFT


def test_submit_by_get_changes_nothing(world: World, client: Client) -> None:
    route = factories.route(world.team, world.planner, tomorrow(), world.addresses[:2])
    login(client, world.planner)
    response = client.get(reverse("admin:fieldvisit_route_submit", args=[route.pk]))
    assert response.status_code == 302
    route.refresh_from_db()
    assert route.status == RouteStatus.DRAFT


# --- deciding ------------------------------------------------------------------------------


def test_planner_cannot_decide(world: World, client: Client, submitted: Route) -> None:
    login(client, world.planner)
    page = client.get(change_url(submitted))
    assert page.status_code == 200
    assert decide_link(submitted) not in page.content.decode()

    # The decision page is the decision's: closed to those who may not decide.
    assert client.get(decide_url(submitted)).status_code == 403
    response = client.post(decide_url(submitted), {"comment": "mine", "_approve": "Approve"})
    assert response.status_code == 403
    submitted.refresh_from_db()
    assert submitted.status == RouteStatus.SUBMITTED
    assert submitted.decided_by is None
    assert kinds(f"route:{submitted.pk}") == ["route.submitted"]


@pytest.mark.parametrize("who", ["legal", "auditor"])
def test_staff_without_decide_permission_cannot_decide(
    world: World, client: Client, submitted: Route, who: str
) -> None:
    login(client, getattr(world, who))
    page = client.get(change_url(submitted))
    assert page.status_code == 200
    assert decide_link(submitted) not in page.content.decode()
    assert client.get(decide_url(submitted)).status_code == 403
    response = client.post(decide_url(submitted), {"comment": "x", "_approve": "Approve"})
    assert response.status_code == 403
    submitted.refresh_from_db()
    assert submitted.status == RouteStatus.SUBMITTED


def test_supervisor_who_planned_the_route_gets_no_link_and_is_refused(
    world: World, client: Client
) -> None:
    route = factories.route(world.team, world.supervisor, tomorrow(), world.addresses[:3])
    actions.submit_route(route.pk, world.planner)
    login(client, world.supervisor)
    assert decide_link(route) not in client.get(change_url(route)).content.decode()
    response = client.post(decide_url(route), {"comment": "", "_approve": "Approve"})
    assert messages_of(response) == [
        (
            "error",
            "Someone who made this route (planned, changed or submitted it) cannot approve "
            "or reject it.",
        )
    ]
    route.refresh_from_db()
    assert route.status == RouteStatus.SUBMITTED


def test_supervisor_approves(world: World, client: Client, submitted: Route) -> None:
    login(client, world.supervisor)
    page = client.get(change_url(submitted))
    assert page.status_code == 200
    assert decide_link(submitted) in page.content.decode()

    form = client.get(decide_url(submitted))
    assert form.status_code == 200
    body = form.content.decode()
    for stop in submitted.stops.select_related("case", "address"):
        assert f"{stop.sequence}. {stop.case.number}" in body
    assert {"comment", "_approve", "_reject"} <= field_names(body)

    response = client.post(decide_url(submitted), {"comment": "Good plan.", "_approve": "Approve"})
    assert response.status_code == 302
    assert response["Location"] == change_url(submitted)
    assert messages_of(response) == [("success", f"{submitted} approved.")]
    submitted.refresh_from_db()
    assert submitted.status == RouteStatus.APPROVED
    assert submitted.decided_by == world.supervisor
    assert submitted.decision_comment == "Good plan."
    numbers = list(submitted.stops.values_list("notice_number", flat=True))
    assert len(numbers) == 3
    assert all(numbers)
    assert len(set(numbers)) == 3
    assert Visit.objects.filter(stop__route=submitted).count() == 3
    assert kinds(f"route:{submitted.pk}") == ["route.submitted", "route.approved"]
    # Decided: no link any more.
    assert decide_link(submitted) not in client.get(change_url(submitted)).content.decode()


def test_supervisor_rejects_with_comment(world: World, client: Client, submitted: Route) -> None:
    login(client, world.supervisor)
    response = client.post(decide_url(submitted), {"comment": "Wrong team.", "_reject": "Reject"})
    assert response.status_code == 302
    submitted.refresh_from_db()
    assert submitted.status == RouteStatus.REJECTED
    assert submitted.decision_comment == "Wrong team."
    assert kinds(f"route:{submitted.pk}") == ["route.submitted", "route.rejected"]


def test_rejecting_without_comment_is_refused(
    world: World, client: Client, submitted: Route
) -> None:
    login(client, world.supervisor)
    response = client.post(decide_url(submitted), {"comment": "  ", "_reject": "Reject"})
    assert response.status_code == 200
    assert messages_of(response) == [("error", "Say why the route is rejected.")]
    assert "Say why the route is rejected." in response.content.decode()
    submitted.refresh_from_db()
    assert submitted.status == RouteStatus.SUBMITTED
    assert kinds(f"route:{submitted.pk}") == ["route.submitted"]


# --- approved routes are frozen ------------------------------------------------------------


@pytest.mark.parametrize("who", ["planner", "supervisor"])
def test_approved_route_change_page_is_read_only(world: World, client: Client, who: str) -> None:
    route = world.route
    login(client, getattr(world, who))
    page = client.get(change_url(route))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="_save"' not in html
    assert 'name="_continue"' not in html
    # Only the hidden management fields of the inline render: nothing to edit.
    names = field_names(html)
    assert not {"team", "date", "stops-0-sequence", "stops-0-case", "stops-0-address"} & names
    assert not any(name.endswith("-DELETE") for name in names)
    assert "stops-3-sequence" not in names  # no empty form to add a stop
    assert reverse("admin:fieldvisit_route_delete", args=[route.pk]) not in html


def test_posting_a_change_to_an_approved_route_alters_nothing(world: World, client: Client) -> None:
    route = world.route
    before = list(route.stops.order_by("sequence").values_list("pk", "sequence", "address"))
    stops = list(route.stops.order_by("sequence"))
    login(client, world.planner)
    data = {
        "team": world.other_team.pk,
        "date": tomorrow().isoformat(),
        "stops-TOTAL_FORMS": "4",
        "stops-INITIAL_FORMS": "3",
        "stops-MIN_NUM_FORMS": "0",
        "stops-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    for n, stop in enumerate(stops):
        data[f"stops-{n}-id"] = str(stop.pk)
        data[f"stops-{n}-route"] = str(route.pk)
        data[f"stops-{n}-sequence"] = str(3 - n)
        data[f"stops-{n}-case"] = str(stop.case_id)
        data[f"stops-{n}-address"] = str(stop.address_id)
        data[f"stops-{n}-DELETE"] = "on" if n == 0 else ""
    data["stops-3-sequence"] = "9"
    data["stops-3-case"] = str(world.cases[3].pk)
    data["stops-3-address"] = str(world.addresses[3].pk)
    response = client.post(change_url(route), data)
    assert response.status_code == 403
    route.refresh_from_db()
    assert route.team == world.team
    assert route.date == today()
    after = list(route.stops.order_by("sequence").values_list("pk", "sequence", "address"))
    assert after == before


@pytest.mark.parametrize("method", ["get", "post"])
def test_approved_route_cannot_be_deleted(world: World, client: Client, method: str) -> None:
    user = User.objects.create_superuser("root", password="x")
    login(client, user)
    url = reverse("admin:fieldvisit_route_delete", args=[world.route.pk])
    response = getattr(client, method)(url, {"post": "yes"} if method == "post" else None)
    assert response.status_code == 403
    assert Route.objects.filter(pk=world.route.pk).exists()
    assert Stop.objects.filter(route=world.route).count() == 3


def test_approved_route_cannot_be_deleted_by_bulk_action(world: World, client: Client) -> None:
    login(client, world.planner)
    response = client.post(
        reverse("admin:fieldvisit_route_changelist"),
        {"action": "delete_selected", "_selected_action": [str(world.route.pk)], "post": "yes"},
    )
    # Refused with the admin's "Cannot delete" page (frozen route, protected visits).
    assert response.status_code == 200
    assert "Cannot delete route" in response.content.decode()
    assert Route.objects.filter(pk=world.route.pk).exists()
    assert Stop.objects.filter(route=world.route).count() == 3


def test_draft_route_can_still_be_deleted_by_its_planner(world: World, client: Client) -> None:
    route = factories.route(world.team, world.planner, tomorrow(), world.addresses[:2])
    login(client, world.planner)
    url = reverse("admin:fieldvisit_route_delete", args=[route.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"post": "yes"})
    assert response.status_code == 302
    assert not Route.objects.filter(pk=route.pk).exists()


# --- change requests -----------------------------------------------------------------------


def change_request_decide_url(change: RouteChangeRequest) -> str:
    return reverse("admin:fieldvisit_routechangerequest_decide", args=[change.pk])


def test_supervisor_approves_change_request(world: World, client: Client) -> None:
    change = change_request(world)
    login(client, world.supervisor)
    page = client.get(reverse("admin:fieldvisit_routechangerequest_change", args=[change.pk]))
    assert page.status_code == 200
    assert f'href="{change_request_decide_url(change)}"' in page.content.decode()
    form = client.get(change_request_decide_url(change))
    assert "Reason: The workplace closed early." in form.content.decode()
    assert "Add 1 stop(s)" in form.content.decode()

    response = client.post(change_request_decide_url(change), {"comment": "", "_approve": "1"})
    assert response.status_code == 302
    change.refresh_from_db()
    assert change.status == ChangeRequestStatus.APPROVED
    assert change.decided_by == world.supervisor
    stops = list(world.route.stops.order_by("sequence"))
    assert [s.status for s in stops] == [
        StopStatus.PLANNED,
        StopStatus.PLANNED,
        StopStatus.SKIPPED,
        StopStatus.PLANNED,
    ]
    assert stops[3].address == world.addresses[3]
    assert stops[3].notice_number
    assert kinds(f"route:{world.route.pk}")[-2:] == [
        "route_change.requested",
        "route_change.approved",
    ]


def test_supervisor_rejects_change_request(world: World, client: Client) -> None:
    change = change_request(world)
    login(client, world.supervisor)
    refused = client.post(change_request_decide_url(change), {"comment": "", "_reject": "1"})
    assert messages_of(refused) == [("error", "Say why the change is rejected.")]
    change.refresh_from_db()
    assert change.status == ChangeRequestStatus.PENDING

    response = client.post(
        change_request_decide_url(change), {"comment": "Keep to the plan.", "_reject": "1"}
    )
    assert response.status_code == 302
    change.refresh_from_db()
    assert change.status == ChangeRequestStatus.REJECTED
    assert change.decision_comment == "Keep to the plan."
    assert world.route.stops.count() == 3
    assert kinds(f"route:{world.route.pk}")[-1] == "route_change.rejected"
    # Decided: the link is gone and a second decision is refused.
    page = client.get(reverse("admin:fieldvisit_routechangerequest_change", args=[change.pk]))
    assert change_request_decide_url(change) not in page.content.decode()
    again = client.post(change_request_decide_url(change), {"comment": "", "_approve": "1"})
    assert messages_of(again) == [("error", "The change request is already rejected.")]


def test_approving_a_change_whose_added_address_was_deleted_is_refused(
    world: World, client: Client
) -> None:
    """The request names its added addresses by id, not by a foreign key: an address deleted
    meanwhile (a superuser's clean-up of a case) leaves a request that can no longer apply.
    Approving it is refused with a message, not a server error, and nothing changes."""
    change = change_request(world)
    root = User.objects.create_superuser("root", "root@example.com", "pw")
    login(client, root)
    address = world.addresses[3]
    delete = reverse("admin:fieldvisit_address_delete", args=[address.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302
    client = login(Client(), world.supervisor)
    response = client.post(change_request_decide_url(change), {"comment": "", "_approve": "1"})
    assert response.status_code == 200
    (message,) = messages_of(response)
    assert message[0] == "error"
    change.refresh_from_db()
    assert change.status == ChangeRequestStatus.PENDING
    assert world.route.stops.count() == 3
    assert kinds(f"route:{world.route.pk}")[-1] == "route_change.requested"


def test_planner_cannot_decide_change_request(world: World, client: Client) -> None:
    change = change_request(world)
    login(client, world.planner)
    page = client.get(reverse("admin:fieldvisit_routechangerequest_change", args=[change.pk]))
    assert page.status_code == 200
    assert change_request_decide_url(change) not in page.content.decode()
    assert client.get(change_request_decide_url(change)).status_code == 403
    response = client.post(change_request_decide_url(change), {"comment": "", "_approve": "1"})
    assert response.status_code == 403
    change.refresh_from_db()
    assert change.status == ChangeRequestStatus.PENDING


# --- the ledger in admin is read-only ------------------------------------------------------


def test_ledger_admin_is_read_only_for_auditor(world: World, client: Client) -> None:
    login(client, world.auditor)
    entry = LedgerEntry.objects.filter(kind="route.approved").get()

    listing = client.get(reverse("admin:fieldvisit_ledgerentry_changelist"))
    assert listing.status_code == 200
    html = listing.content.decode()
    assert "route.approved" in html
    assert reverse("admin:fieldvisit_ledgerentry_add") not in html
    assert 'name="action"' not in html  # no bulk delete

    detail = client.get(reverse("admin:fieldvisit_ledgerentry_change", args=[entry.pk]))
    assert detail.status_code == 200
    html = detail.content.decode()
    assert bytes(entry.leaf_hash).hex() in html
    assert json.loads(bytes(entry.entry_bytes))["kind"] == "route.approved"
    assert 'name="_save"' not in html
    assert reverse("admin:fieldvisit_ledgerentry_delete", args=[entry.pk]) not in html

    assert client.get(reverse("admin:fieldvisit_ledgerentry_add")).status_code == 403
    delete_url = reverse("admin:fieldvisit_ledgerentry_delete", args=[entry.pk])
    assert client.get(delete_url).status_code == 403
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    assert client.post(detail.wsgi_request.path, {"kind": "forged"}).status_code == 403
    assert LedgerEntry.objects.get(pk=entry.pk).kind == "route.approved"


def test_ledger_admin_refuses_delete_even_for_superuser(world: World, client: Client) -> None:
    login(client, User.objects.create_superuser("root", password="x"))
    entry = LedgerEntry.objects.order_by("index").first()
    assert entry is not None
    url = reverse("admin:fieldvisit_ledgerentry_delete", args=[entry.pk])
    assert client.post(url, {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:fieldvisit_ledgerentry_add")).status_code == 403
    assert LedgerEntry.objects.filter(pk=entry.pk).exists()
