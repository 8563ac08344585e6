"""Roles as the seeds assign them (外访流程 (1)-(7), 行为指引 3, 上门催收个案的确定).

The team lead (客户负责人) receives the arrival, position and return reports of the teams
they lead, decides their route changes, and reviews and keeps their visit reports and slips;
the risk manager (风控) approves routes and handles what goes wrong. Each only for their own
teams (``Team.lead``, ``Team.risk_manager``), through the API and admin alike.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from django.contrib.auth.models import Group

from fieldvisit.actions import alerts as alert_actions
from fieldvisit.actions import reports as report_actions
from fieldvisit.actions import routes as route_actions
from fieldvisit.choices import (
    AlertKind,
    AlertStatus,
    ChangeRequestStatus,
    CheckInKind,
    Role,
    RouteStatus,
    VisitStatus,
)
from fieldvisit.ledger import store as ledger
from fieldvisit.models import Alert, CheckIn, Receipt, RouteChangeRequest, Visit
from fieldvisit.rules import RuleViolation
from tests import factories
from tests.helpers import World, body, cosign, file_report, leave_pair, post, stops_of, today


@pytest.fixture(autouse=True)
def _pinned_clock(clock: Any) -> None:
    """On the pinned clock (inside visiting hours), set before ``world`` is built."""


@pytest.fixture
def other_lead(world: World) -> Any:
    """The lead of Pudong, the other team."""
    lead = factories.user("pudong_lead", Role.TEAM_LEAD)
    world.other_team.lead = lead
    world.other_team.save()
    return lead


@pytest.fixture
def risk(world: World) -> Any:
    """The world's risk manager, made Huangpu's."""
    world.team.risk_manager = world.risk
    world.team.save()
    return world.risk


def test_arrival_and_position_reports_go_to_the_team_lead(
    world: World,
    visit: Visit,
    other_lead: Any,
    client: Any,
    django_assert_max_num_queries: Any,
) -> None:
    """外访流程 (2) 通报: the agents report their arrival and, on a schedule, where they are,
    and the team lead records the times: the lead reads their team's check-ins (API and
    admin); another team's lead sees none of them."""
    stop = visit.stop
    position = body(world, CheckInKind.PERIODIC, lat=stop.address.lat, lon=stop.address.lon)
    assert post(world.client(world.agent_a, "phone-a"), position).status_code == 201

    seen = world.client(world.lead).get(f"/api/v1/visits/{visit.pk}/")
    assert seen.status_code == 200
    assert world.client(other_lead).get(f"/api/v1/visits/{visit.pk}/").status_code == 404
    assert world.client(world.lead).get(f"/api/v1/routes/{world.route.pk}/").status_code == 200

    client.force_login(world.lead)
    with django_assert_max_num_queries(12):
        listed = client.get("/admin/fieldvisit/checkin/")
    assert listed.status_code == 200
    kinds = {row.kind for row in listed.context["cl"].result_list}
    assert kinds == {CheckInKind.ARRIVE, CheckInKind.PERIODIC}
    assert len(listed.context["cl"].result_list) == CheckIn.objects.filter(route=stop.route).count()
    client.force_login(other_lead)
    assert list(client.get("/admin/fieldvisit/checkin/").context["cl"].result_list) == []


def test_return_reports_go_to_the_team_lead(world: World, visit: Visit, client: Any) -> None:
    """外访流程 (7) 结束: the agents report their return to the team lead, who records the
    time: the lead opens each of those reports in admin."""
    leave_pair(world, visit.stop)
    for user, phone in ((world.agent_a, "phone-a"), (world.agent_b, "phone-b")):
        returned = post(world.client(user, phone), body(world, CheckInKind.RETURN))
        assert returned.status_code == 201, returned.content
    client.force_login(world.lead)
    for report in CheckIn.objects.filter(kind=CheckInKind.RETURN):
        assert client.get(f"/admin/fieldvisit/checkin/{report.pk}/change/").status_code == 200


def test_route_changes_are_decided_by_the_team_lead(
    world: World, other_lead: Any, risk: Any
) -> None:
    """行为指引 3: no change of route without reporting it to the team lead first and their
    consent: the lead decides their team's change requests; another team's lead and the
    risk manager do not."""
    third = stops_of(world.route)[2]
    asked = world.client(world.agent_a, "phone-a").post(
        f"/api/v1/routes/{world.route.pk}/change-requests/",
        {"id": str(uuid.uuid4()), "reason": "gate locked", "skip_stops": [str(third.pk)]},
        format="json",
    )
    assert asked.status_code == 201, asked.content
    change = RouteChangeRequest.objects.get()
    assert world.client(world.lead).get(f"/api/v1/change-requests/{change.pk}/").status_code == 200
    for outsider, code in ((other_lead, "not_found"), (risk, "permission_denied")):
        with pytest.raises(RuleViolation) as refusal:
            route_actions.decide_change(change.pk, outsider, approve=True)
        assert refusal.value.code == code
    route_actions.decide_change(change.pk, world.lead, approve=True, comment="Go on.")
    change.refresh_from_db()
    assert (change.status, change.decided_by) == (ChangeRequestStatus.APPROVED, world.lead)


def test_visit_reports_and_slips_are_reviewed_and_kept_by_the_team_lead(
    world: World, visit: Visit, other_lead: Any, client: Any
) -> None:
    """外访流程 (7) 结束: the visit report, with the signed slips of the demand notices, is
    handed to the team lead to review and keep: the lead reads the report and the slips and
    reviews the visit; another team's lead cannot."""
    a, b = world.client(world.agent_a, "phone-a"), world.client(world.agent_b, "phone-b")
    slip = a.post(
        f"/api/v1/visits/{visit.pk}/receipts/",
        {
            "id": str(uuid.uuid4()),
            "notice_number": visit.stop.notice_number,
            "outcome": "refused",
            "captured_at": dt.datetime.now(dt.UTC).isoformat(),
        },
        format="multipart",
    )
    assert slip.status_code == 201, slip.content
    leave_pair(world, visit.stop)
    assert file_report(a, visit).status_code == 201
    assert cosign(b, visit).status_code == 200

    client.force_login(world.lead)
    receipt = Receipt.objects.get(visit=visit)
    assert client.get(f"/admin/fieldvisit/receipt/{receipt.pk}/change/").status_code == 200
    assert client.get(f"/admin/fieldvisit/visit/{visit.pk}/change/").status_code == 200
    with pytest.raises(RuleViolation):
        report_actions.review_visit(visit.pk, other_lead, "Not mine.")
    report_actions.review_visit(visit.pk, world.lead, "Report and slip kept.")
    assert Visit.objects.get(pk=visit.pk).status == VisitStatus.REVIEWED


def test_routes_are_approved_by_the_risk_manager(world: World, risk: Any) -> None:
    """上门催收个案的确定: the team lead's route is carried out only once the risk manager
    approved it: the risk manager approves; the team lead does not; a risk manager who
    planned it too does not approve their own (maker-checker)."""
    tomorrow = today() + dt.timedelta(days=1)
    route = factories.route(world.team, world.planner, tomorrow, world.addresses[3:4])
    route_actions.submit_route(route.pk, world.planner)
    with pytest.raises(RuleViolation) as refusal:
        route_actions.decide_route(route.pk, world.lead, approve=True)
    assert refusal.value.code == "permission_denied"
    route_actions.decide_route(route.pk, risk, approve=True, comment="Safe.")
    route.refresh_from_db()
    assert (route.status, route.decided_by) == (RouteStatus.APPROVED, risk)

    # Planning and approving one's own route is refused, whatever roles one holds.
    risk.groups.add(Group.objects.get(name=Role.PLANNER))
    risk = type(risk).objects.get(pk=risk.pk)
    day_after = factories.route(
        world.team, risk, tomorrow + dt.timedelta(days=1), world.addresses[3:4]
    )
    route_actions.submit_route(day_after.pk, risk)
    with pytest.raises(RuleViolation) as refusal:
        route_actions.decide_route(day_after.pk, risk, approve=True)
    assert refusal.value.code == "maker_checker"


def test_what_goes_wrong_is_handled_by_the_risk_manager(world: World, risk: Any) -> None:
    """The risk manager handles incidents: they acknowledge and resolve their teams' alerts
    (the escalation reaches them, DESIGN rule 5)."""
    with_team = Alert.objects.filter(team=world.team)
    alert = alert_actions.raise_alert(
        kind=AlertKind.PANIC,
        team=world.team,
        detail="help",
        actor=ledger.actor_for(world.agent_a),
    )
    alert_actions.acknowledge(alert.pk, risk, "On my way.")
    alert_actions.resolve(alert.pk, risk, "Agents safe.")
    assert with_team.get(pk=alert.pk).status == AlertStatus.RESOLVED
