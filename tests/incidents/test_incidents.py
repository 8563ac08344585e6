"""Incidents (issue item 4): opened by a lone-agent action or a supervisor's finding as well
as by an attestation; the agents' written accounts through the API; the risk manager's
decision, which releases the case; suspensions, which keep the agent's team off routes."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from fieldvisit.actions import incidents as actions
from fieldvisit.actions import routes as route_actions
from fieldvisit.choices import (
    AlertKind,
    CaseStatus,
    CheckInKind,
    IncidentDecisionKind,
    IncidentSource,
)
from fieldvisit.models import (
    AgentSuspension,
    Alert,
    CaseStatusChange,
    Incident,
    IncidentAccount,
    Visit,
)
from fieldvisit.rules import RuleViolation
from tests import factories
from tests.helpers import (
    assert_problem,
    body,
    file_report,
    ledger_entries,
    ledger_kinds,
    post,
    report_body,
    stops_of,
    today,
)

ACCOUNTS = "/api/v1/incidents/"


def account_url(incident: Incident) -> str:
    return f"/api/v1/incidents/{incident.pk}/account/"


def breach(visit: Visit, phone_a: Any) -> Incident:
    response = file_report(
        phone_a, visit, report_body(attestations={"did_not_enter_residence": False})
    )
    assert response.status_code == 201, response.content
    return Incident.objects.get(report_id=response.json()["id"])


def test_lone_agent_action_opens_an_incident_行为指引_2(world: Any, phone_a: Any) -> None:
    """Two agents always together (行为指引 2): a report filed while the partner had not
    arrived opens an incident naming the lone agent, besides the lone-agent alert; a second
    lone record of the same visit adds no second incident while the first is open."""
    stop = stops_of(world.route)[0]
    assert post(phone_a, body(world, CheckInKind.ARRIVE, stop)).status_code == 201
    visit = Visit.objects.get(stop=stop)
    assert file_report(phone_a, visit).status_code == 201

    incident = Incident.objects.get()
    assert incident.source == IncidentSource.LONE_AGENT
    assert incident.rules == ["lone_agent"]
    assert [n.agent for n in incident.named.all()] == [world.agent_a]
    assert Alert.objects.filter(kind=AlertKind.LONE_AGENT).count() == 1
    assert Alert.objects.filter(kind=AlertKind.INCIDENT).count() == 1
    stop.case.refresh_from_db()
    assert stop.case.status == CaseStatus.ON_HOLD

    actions.from_lone_action(visit, world.agent_a, "a photo", {"type": "system", "name": "t"})
    assert Incident.objects.count() == 1


def test_a_partner_joins_a_visit_the_lone_incident_put_on_hold(world: Any, phone_a: Any) -> None:
    """The hold keeps the case from new visits; the partner still joins the one under way,
    so the first agent is not left alone at the door (行为指引 2)."""
    stop = stops_of(world.route)[0]
    assert post(phone_a, body(world, CheckInKind.ARRIVE, stop)).status_code == 201
    visit = Visit.objects.get(stop=stop)
    assert file_report(phone_a, visit).status_code == 201
    stop.case.refresh_from_db()
    assert stop.case.status == CaseStatus.ON_HOLD
    phone_b = world.client(world.agent_b, "phone-b")
    joined = post(phone_b, body(world, CheckInKind.ARRIVE, stop, dlat=20))
    assert joined.status_code == 201, joined.content
    assert joined.json()["visit"]["status"] == "open"


def test_each_agent_is_asked_for_a_written_account(
    world: Any, visit: Visit, phone_a: Any, phone_b: Any
) -> None:
    incident = breach(visit, phone_a)
    listed = phone_b.get(ACCOUNTS)
    assert listed.status_code == 200
    [shown] = listed.json()["results"]
    assert shown["id"] == str(incident.pk)
    assert shown["status"] == "open" and shown["rules"] == ["did_not_enter_residence"]
    assert shown["account_due_at"] and shown["my_accounts"] == []

    payload = {"id": str(uuid.uuid4()), "text": "The debtor's mother asked us in; we declined."}
    first = phone_b.post(account_url(incident), payload, format="json")
    assert first.status_code == 201, first.content
    again = phone_b.post(account_url(incident), payload, format="json")
    assert again.status_code == 200 and again.json()["id"] == payload["id"]
    assert IncidentAccount.objects.count() == 1
    assert ledger_entries("incident.account")[0]["data"]["text"] == payload["text"]
    assert phone_b.get(ACCOUNTS).json()["results"][0]["my_accounts"][0]["text"] == payload["text"]


def test_an_agent_the_incident_does_not_name_gives_no_account(
    world: Any, visit: Visit, phone_a: Any
) -> None:
    incident = breach(visit, phone_a)
    outsider = world.client(world.outsider, "phone-o")
    assert outsider.get(ACCOUNTS).json()["results"] == []
    response = outsider.post(
        account_url(incident), {"id": str(uuid.uuid4()), "text": "me?"}, format="json"
    )
    assert_problem(response, 404, "not_found")


def test_the_risk_manager_closes_the_incident_and_the_case_resumes(
    world: Any, visit: Visit, phone_a: Any, phone_b: Any, risk: Any
) -> None:
    incident = breach(visit, phone_a)
    # The day-to-day supervisor is not the team's risk manager here: absent to them.
    with pytest.raises(RuleViolation) as refused:
        actions.decide(
            incident.pk, decision="warning", findings="x", case_status="open", by=world.supervisor
        )
    assert refused.value.code == "not_found"

    made = actions.decide(
        incident.pk,
        decision=IncidentDecisionKind.NOT_SUBSTANTIATED,
        findings="The recording shows they stayed at the door; the box was ticked in error.",
        case_status=CaseStatus.OPEN,
        by=risk,
    )
    case = visit.stop.case
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN
    assert made.release is not None and made.release.changed_by == risk
    assert "incident.decided" in ledger_kinds()
    # Closed: no second decision, no more accounts.
    with pytest.raises(RuleViolation) as again:
        actions.decide(incident.pk, decision="warning", findings="x", case_status="open", by=risk)
    assert again.value.code == "incident_closed"
    late = phone_b.post(account_url(incident), {"id": str(uuid.uuid4()), "text": "late"})
    assert_problem(late, 409, "incident_closed")
    assert phone_b.get(ACCOUNTS).json()["results"][0]["status"] == "closed"


def test_a_case_stays_on_hold_while_another_incident_holds_it(
    world: Any, visit: Visit, phone_a: Any, risk: Any
) -> None:
    first = breach(visit, phone_a)
    second = actions.open_finding(
        visit_id=visit.pk,
        rules=["no_threats_or_insults"],
        summary="The recording has the agent shouting at the door.",
        agents=[world.agent_a],
        by=world.supervisor,
    )
    assert second.hold is None  # already on hold
    actions.decide(first.pk, decision="warning", findings="Warned.", case_status="open", by=risk)
    case = visit.stop.case
    case.refresh_from_db()
    assert case.status == CaseStatus.ON_HOLD
    actions.decide(second.pk, decision="warning", findings="Warned.", case_status="open", by=risk)
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN


def test_whoever_opens_a_finding_does_not_close_it(world: Any, visit: Visit, risk: Any) -> None:
    finding = actions.open_finding(
        visit_id=visit.pk,
        rules=["no_disturbance"],
        summary="Rang the bell for five minutes (recording 09:41).",
        agents=[world.agent_a, world.agent_b],
        by=risk,
    )
    assert finding.source == IncidentSource.FINDING and finding.opened_by == risk
    with pytest.raises(RuleViolation) as refused:
        actions.decide(finding.pk, decision="warning", findings="x", case_status="open", by=risk)
    assert refused.value.code == "maker_checker"


def test_a_suspended_agent_cannot_be_put_on_a_route(
    world: Any, visit: Visit, phone_a: Any, risk: Any
) -> None:
    """A suspension decision suspends the agents the incident names: no route of their team
    is submitted or approved until they leave the team or the suspension is lifted."""
    incident = breach(visit, phone_a)
    actions.decide(
        incident.pk,
        decision=IncidentDecisionKind.SUSPENSION,
        findings="Entered the home, on the recording.",
        case_status=CaseStatus.OPEN,
        by=risk,
    )
    assert set(AgentSuspension.objects.values_list("agent__username", flat=True)) == {
        "agent_a",
        "agent_b",
    }
    tomorrow = factories.route(
        world.team, world.planner, today() + dt.timedelta(days=1), world.addresses[3:]
    )
    with pytest.raises(RuleViolation) as refused:
        route_actions.submit_route(tomorrow.pk, world.planner)
    assert refused.value.code == "agent_suspended"

    for suspension in AgentSuspension.objects.all():
        actions.lift_suspension(suspension.pk, reason="Retrained on 外访流程.", by=risk)
    route_actions.submit_route(tomorrow.pk, world.planner)
    assert ledger_kinds().count("agent.suspended") == 2
    assert ledger_kinds().count("agent.reinstated") == 2


def test_a_route_submitted_before_the_suspension_is_not_approved(world: Any, risk: Any) -> None:
    tomorrow = factories.route(
        world.team, world.planner, today() + dt.timedelta(days=1), world.addresses[3:]
    )
    route_actions.submit_route(tomorrow.pk, world.planner)
    actions.suspend_agent(world.agent_b, reason="Pending the incident.", by=risk)
    with pytest.raises(RuleViolation) as refused:
        route_actions.decide_route(tomorrow.pk, world.supervisor, True, "ok")
    assert refused.value.code == "agent_suspended"


def test_the_system_hold_is_a_case_status_change_on_record(
    world: Any, visit: Visit, phone_a: Any
) -> None:
    incident = breach(visit, phone_a)
    change = CaseStatusChange.objects.get(case=visit.stop.case)
    assert change == incident.hold
    assert change.previous_status == CaseStatus.OPEN and change.status == CaseStatus.ON_HOLD
    entry = ledger_entries("case.status_changed")[-1]
    assert entry["actor"] == {"type": "system", "name": "fieldvisit"}
    assert entry["data"]["incident"] == str(incident.pk)


def test_a_correction_restating_a_breach_opens_no_second_incident(
    world: Any, visit: Visit, phone_a: Any
) -> None:
    first = breach(visit, phone_a)
    correction = report_body(
        attestations={"did_not_enter_residence": False, "no_cash_accepted": False},
        corrects=str(first.report_id),
    )
    assert file_report(phone_a, visit, correction).status_code == 201
    assert Incident.objects.count() == 2
    assert Incident.objects.exclude(pk=first.pk).get().rules == ["no_cash_accepted"]
