"""Qualified agents (seeds: 外访催收作业规范 1, 外访催收作业人员诚信规定): only those the police
and the credit bureau confirm have no criminal record and no bad credit may visit. An agent's
qualification holds those papers (无犯罪记录证明, 个人征信报告), each with its date and expiry,
their training, and for an outsourced agent their agency's agreement; a paper not in force on
a route's day keeps the agent off it, and supervisors are warned 30 days ahead.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import transaction

from fieldvisit import jobs
from fieldvisit.actions import routes as route_actions
from fieldvisit.actions.qualifications import record_agreement, record_document
from fieldvisit.choices import AlertKind, DocumentKind, RouteStatus
from fieldvisit.db.append_only import AppendOnlyViolation
from fieldvisit.models import Agency, AgentProfile, Alert, QualificationDocument, Route, Team
from fieldvisit.rules import RuleViolation
from tests import factories
from tests.helpers import World, ledger_entries, today

IN_FORCE = dt.date(2099, 12, 31)


def days(n: int) -> dt.date:
    return today() + dt.timedelta(days=n)


@pytest.fixture
def team(world: World) -> Team:
    """Jing'an: supervised by the world's supervisor, one agent with every paper and one
    (agent D) with none yet."""
    team = Team.objects.create(
        name="Jing'an", supervisor=world.supervisor, lead=world.lead, timezone="Asia/Shanghai"
    )
    factories.agent("agent_c", team)
    factories.agent("agent_d", team, papers=False)
    return team


@pytest.fixture
def agent_d(team: Team) -> AgentProfile:
    return AgentProfile.objects.get(user__username="agent_d")


def give(profile: AgentProfile, by: Any, **expiries: dt.date) -> None:
    """Record the agent's papers through the action: every kind in force for years, except
    those given (kind=expiry date) or named with None (left out)."""
    for kind in DocumentKind.values:
        expires = expiries.get(kind, IN_FORCE)
        if expires is not None:
            record_document(
                agent_id=profile.pk,
                kind=kind,
                reference=f"{kind}-1",
                issued_on=days(-100),
                expires_on=expires,
                by=by,
            )


def route_on(world: World, team: Team, day: dt.date) -> Route:
    case = factories.case(team, world.creditor)
    return factories.route(team, world.planner, day, [factories.address(case)])


def refused(world: World, route: Route) -> str:
    with pytest.raises(RuleViolation) as refusal:
        route_actions.submit_route(route.pk, world.planner)
    assert refusal.value.code == "team_understaffed"
    return str(refusal.value.detail)


def test_integrity_rule_an_expired_certificate_of_no_criminal_record_keeps_the_agent_off_new_routes(
    world: World, team: Team, agent_d: AgentProfile
) -> None:
    give(agent_d, world.supervisor, criminal_record=days(2))
    # In force on the route's day: the route goes in.
    route_actions.submit_route(route_on(world, team, days(2)).pk, world.planner)
    # The day after it expires: agent D is not qualified, and the planner is told why.
    later = route_on(world, team, days(3))
    detail = refused(world, later)
    assert agent_d.badge_number in detail and "Certificate of no criminal record" in detail
    assert Route.objects.get(pk=later.pk).status == RouteStatus.DRAFT


def test_integrity_rule_an_agent_without_a_personal_credit_report_is_not_qualified(
    world: World, team: Team, agent_d: AgentProfile
) -> None:
    give(agent_d, world.supervisor, credit_report=None)
    assert "Personal credit report" in refused(world, route_on(world, team, days(1)))


def test_an_agent_who_has_not_completed_training_is_not_qualified(
    world: World, team: Team, agent_d: AgentProfile
) -> None:
    give(agent_d, world.supervisor, training=None)
    assert "Training completed" in refused(world, route_on(world, team, days(1)))


def test_an_outsourced_agent_is_qualified_only_under_their_agencys_agreement(
    world: World, team: Team, agent_d: AgentProfile
) -> None:
    give(agent_d, world.supervisor)
    agency = Agency.objects.create(name="Acme Field Services")
    agent_d.agency = agency
    agent_d.save()
    route = route_on(world, team, days(1))
    assert "agency agreement" in refused(world, route)
    record_agreement(
        agency_id=agency.pk,
        reference="AG-7",
        issued_on=days(-30),
        expires_on=days(335),
        by=world.supervisor,
    )
    agency.active = False
    agency.save()
    assert "agency agreement" in refused(world, route)  # a closed agency's agents are not
    agency.active = True
    agency.save()
    route_actions.submit_route(route.pk, world.planner)


def test_a_renewed_paper_is_a_new_record_and_the_old_one_is_kept(
    world: World, team: Team, agent_d: AgentProfile
) -> None:
    give(agent_d, world.supervisor, criminal_record=days(-1))
    route = route_on(world, team, days(1))
    refused(world, route)
    old = QualificationDocument.objects.get(agent=agent_d, kind=DocumentKind.CRIMINAL_RECORD)
    record_document(
        agent_id=agent_d.pk,
        kind=DocumentKind.CRIMINAL_RECORD,
        reference="PSB-2",
        issued_by="派出所",
        issued_on=days(-1),
        expires_on=days(180),
        by=world.supervisor,
    )
    route_actions.submit_route(route.pk, world.planner)
    kept = QualificationDocument.objects.filter(agent=agent_d, kind=DocumentKind.CRIMINAL_RECORD)
    assert sorted(kept.values_list("reference", flat=True)) == ["PSB-2", old.reference]
    # Never edited, by the ORM or behind its back.
    old.expires_on = IN_FORCE
    with pytest.raises(AppendOnlyViolation), transaction.atomic():
        old.save()
    with pytest.raises(Exception), transaction.atomic():  # noqa: B017 (the trigger's error)
        QualificationDocument.objects.filter(pk=old.pk).update(expires_on=IN_FORCE)
    # Each paper is on the ledger, under the agent.
    recorded = [
        e for e in ledger_entries("agent.document_recorded") if e["data"]["reference"] == "PSB-2"
    ]
    assert recorded and recorded[0]["data"]["kind"] == DocumentKind.CRIMINAL_RECORD
    assert recorded[0]["subject"] == f"user:{agent_d.user_id}"


def test_papers_are_recorded_only_for_the_agents_of_teams_one_oversees(
    world: World, agent_d: AgentProfile
) -> None:
    outsider = AgentProfile.objects.get(user=world.outsider)
    with pytest.raises(RuleViolation) as refusal:
        give(outsider, world.supervisor)
    assert refusal.value.code == "not_found"
    with pytest.raises(RuleViolation) as refusal:
        give(agent_d, world.lead)  # the team lead reads papers; recording them is not theirs
    assert refusal.value.code == "permission_denied"
    with pytest.raises(RuleViolation) as refusal:
        record_document(
            agent_id=agent_d.pk,
            kind=DocumentKind.TRAINING,
            reference="T-1",
            issued_on=days(1),
            expires_on=days(2),
            by=world.supervisor,
        )
    assert set(refusal.value.errors) == {"issued_on"}  # not issued yet


def test_supervisors_are_warned_30_days_before_a_paper_expires(world: World) -> None:
    agent = AgentProfile.objects.get(user=factories.agent("agent_e", world.team, papers=False))
    give(agent, world.supervisor, credit_report=days(20))
    assert jobs.expiring_papers() == 1
    [alert] = Alert.objects.filter(kind=AlertKind.QUALIFICATION_EXPIRING)
    assert alert.team == world.team
    assert agent.badge_number in alert.detail and days(20).isoformat() in alert.detail
    assert jobs.expiring_papers() == 0  # once per paper and expiry
    # Renewed: nothing more to warn of.
    record_document(
        agent_id=agent.pk,
        kind=DocumentKind.CREDIT_REPORT,
        reference="CR-2",
        issued_on=today(),
        expires_on=days(200),
        by=world.supervisor,
    )
    assert jobs.expiring_papers() == 0


def test_the_agent_list_shows_each_agents_papers_and_what_expires_within_30_days(
    world: World, client: Any, django_assert_max_num_queries: Any
) -> None:
    agent = AgentProfile.objects.get(user=factories.agent("agent_e", world.team, papers=False))
    give(agent, world.supervisor, credit_report=days(20), training=None)
    soon = AgentProfile.objects.get(user=factories.agent("agent_f", world.team, papers=False))
    give(soon, world.supervisor, criminal_record=days(10))
    client.force_login(world.supervisor)
    with django_assert_max_num_queries(12) as few:
        page = client.get("/admin/fieldvisit/agentprofile/")
    html = page.content.decode()
    assert "Training completed" in html  # agent E: not qualified, says what is missing
    assert f"Certificate of no criminal record {days(10).isoformat()}" in html  # agent F
    assert html.count("All papers in force") == 2  # agents A and B
    for n in range(5):
        factories.agent(f"extra_{n}", world.team)
    with django_assert_max_num_queries(12) as many:
        client.get("/admin/fieldvisit/agentprofile/")
    assert len(many.captured_queries) == len(few.captured_queries)


def test_a_supervisor_records_a_renewal_on_the_agents_page(
    world: World, client: Any, agent_d: AgentProfile
) -> None:
    client.force_login(world.supervisor)
    form = {
        "user": str(agent_d.user_id),
        "team": str(agent_d.team_id),
        "badge_number": agent_d.badge_number,
        "background_check_on": "2025-01-15",
        "active": "on",
        "documents-TOTAL_FORMS": "1",
        "documents-INITIAL_FORMS": "0",
        "documents-MIN_NUM_FORMS": "0",
        "documents-MAX_NUM_FORMS": "1000",
        "documents-0-kind": DocumentKind.TRAINING,
        "documents-0-reference": "TR-9",
        "documents-0-issued_on": days(-1).isoformat(),
        "documents-0-expires_on": days(364).isoformat(),
    }
    url = f"/admin/fieldvisit/agentprofile/{agent_d.pk}/change/"
    assert client.post(url, form).status_code == 302
    paper = QualificationDocument.objects.get(agent=agent_d)
    assert (paper.reference, paper.recorded_by) == ("TR-9", world.supervisor)
    # Dates that cannot be: the form again, with the error on the row's field.
    form |= {"documents-0-issued_on": days(5).isoformat(), "documents-0-expires_on": days(9)}
    again = client.post(url, form)
    assert again.status_code == 200
    assert QualificationDocument.objects.filter(agent=agent_d).count() == 1
