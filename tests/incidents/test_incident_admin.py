"""Incidents and suspensions in admin: the risk manager's pages."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.urls import reverse

from fieldvisit.choices import CaseStatus
from fieldvisit.models import AgentSuspension, Incident, SuspensionLift
from tests.helpers import file_report, report_body


def browser(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_risk_manager_reads_and_closes_an_incident_in_admin(
    world: Any, visit: Any, phone_a: Any, risk: Any, django_assert_max_num_queries: Any
) -> None:
    file_report(phone_a, visit, report_body(attestations={"no_cash_accepted": False}))
    incident = Incident.objects.get()
    page = browser(risk)
    with django_assert_max_num_queries(14):
        listed = page.get(reverse("admin:fieldvisit_incident_changelist"))
    assert listed.status_code == 200
    shown = page.get(reverse("admin:fieldvisit_incident_change", args=[incident.pk]))
    assert shown.status_code == 200
    decide = reverse("admin:fieldvisit_incident_decide", args=[incident.pk])
    assert decide.encode() in shown.content
    # The day-to-day supervisor is not the team's risk manager: no link for them.
    other = browser(world.supervisor).get(
        reverse("admin:fieldvisit_incident_change", args=[incident.pk])
    )
    assert decide.encode() not in other.content

    done = page.post(
        decide,
        {"decision": "warning", "findings": "Took 200 yuan; returned it.", "case_status": "open"},
    )
    assert done.status_code == 302
    visit.stop.case.refresh_from_db()
    assert visit.stop.case.status == CaseStatus.OPEN
    again = page.post(decide, {"decision": "warning", "findings": "x", "case_status": "open"})
    assert again.status_code == 200 and b"already closed" in again.content


def test_a_supervisor_opens_a_finding_in_admin(world: Any, visit: Any) -> None:
    page = browser(world.supervisor)
    assert page.get(reverse("admin:fieldvisit_incident_add")).status_code == 200
    response = page.post(
        reverse("admin:fieldvisit_incident_add"),
        {
            "visit": str(visit.pk),
            "rules": ["no_threats_or_insults"],
            "agents": [str(world.agent_a.pk)],
            "summary": "Recording 09:44: 'we know where your children go to school'.",
        },
    )
    assert response.status_code == 302, response.content
    assert Incident.objects.get().opened_by == world.supervisor


def test_suspend_and_reinstate_in_admin(world: Any, risk: Any) -> None:
    page = browser(risk)
    response = page.post(
        reverse("admin:fieldvisit_agentsuspension_add"),
        {"agent": str(world.agent_b.pk), "reason": "Pending incident review."},
    )
    assert response.status_code == 302, response.content
    suspension = AgentSuspension.objects.get()
    lifted = page.post(
        reverse("admin:fieldvisit_agentsuspension_lift", args=[suspension.pk]),
        {"reason": "Cleared."},
    )
    assert lifted.status_code == 302
    assert SuspensionLift.objects.get().lifted_by == risk
    assert page.get(reverse("admin:fieldvisit_agentsuspension_changelist")).status_code == 200
