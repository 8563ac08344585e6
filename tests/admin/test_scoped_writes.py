"""Writes by scoped staff: every team a supervisor sets or acts on is one they oversee.

A supervisor who could move their agent into another team would give that agent (and so
themselves) the other team's debtors, routes and evidence. The refusal lives in the actions
(whatever the caller), and the admin shows it as a form error: no 500, no redirect, nothing
saved, no ledger entry.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from fieldvisit.actions import alerts as alert_actions
from fieldvisit.actions import routes as route_actions
from fieldvisit.actions.auth import issue_token, revoke_token
from fieldvisit.actions.people import save_agent_profile
from fieldvisit.api.errors import status_for
from fieldvisit.choices import AlertKind, Role, RouteStatus
from fieldvisit.ledger import store as ledger
from fieldvisit.models import AgentProfile, Alert, DeviceToken, LedgerEntry, Route, Team
from fieldvisit.rules import RuleViolation
from tests import factories
from tests.helpers import World, today

pytestmark = pytest.mark.django_db


def tomorrow() -> dt.date:
    return today() + dt.timedelta(days=1)


def profile_form(profile: AgentProfile, **changes: Any) -> dict[str, str]:
    form = {
        "user": str(profile.user_id),
        "team": str(profile.team_id or ""),
        "badge_number": profile.badge_number,
        "background_check_on": f"{profile.background_check_on:%Y-%m-%d}",
        "background_check_reference": profile.background_check_reference,
        "active": "on",
        # The agent's papers (none added): the page's rows of qualification documents.
        "documents-TOTAL_FORMS": "0",
        "documents-INITIAL_FORMS": "0",
    }
    form.update({k: str(v) for k, v in changes.items()})
    return form


def ledger_size() -> int:
    return LedgerEntry.objects.count()


def errors_of(response: Any) -> dict[str, list[str]]:
    return response.context["adminform"].form.errors


def messages_of(response: Any) -> list[tuple[str, str]]:
    return [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def boss(world: World) -> Any:
    """The other team's supervisor: oversees Pudong, not Huangpu."""
    user = factories.user("pudong_boss", Role.SUPERVISOR)
    Team.objects.filter(pk=world.other_team.pk).update(supervisor=user)
    return user


# --- agent profiles: moving an agent to another team ----------------------------------------


def test_a_supervisor_cannot_move_their_agent_into_a_team_they_do_not_oversee(
    world: World, client: Client
) -> None:
    profile = AgentProfile.objects.get(user=world.agent_b)
    before = ledger_size()
    client.force_login(world.supervisor)
    url = reverse("admin:fieldvisit_agentprofile_change", args=[profile.pk])
    answer = client.post(url, profile_form(profile, team=world.other_team.pk))
    assert answer.status_code == 200  # the form again, with its error: not a redirect
    assert "team" in errors_of(answer)
    profile.refresh_from_db()
    assert profile.team_id == world.team.pk
    assert ledger_size() == before
    # And so the agent still reads nothing of the other team.
    other = factories.route(world.other_team, world.planner, today(), [])
    assert world.client(world.agent_b).get(f"/api/v1/routes/{other.pk}/").status_code == 404


def test_the_team_choices_are_the_teams_the_supervisor_oversees(
    world: World, client: Client
) -> None:
    client.force_login(world.supervisor)
    profile = AgentProfile.objects.get(user=world.agent_b)
    page = client.get(reverse("admin:fieldvisit_agentprofile_change", args=[profile.pk]))
    assert list(page.context["adminform"].form.fields["team"].queryset) == [world.team]


def test_the_action_refuses_a_team_out_of_scope_whatever_the_caller(world: World) -> None:
    profile = AgentProfile.objects.get(user=world.agent_b)
    profile.team = world.other_team
    before = ledger_size()
    with pytest.raises(RuleViolation) as refused:
        save_agent_profile(profile, world.supervisor)
    assert (refused.value.code, status_for(refused.value.code)) == ("permission_denied", 403)
    assert "team" in refused.value.errors
    assert AgentProfile.objects.get(pk=profile.pk).team_id == world.team.pk
    assert ledger_size() == before


def test_a_supervisor_cannot_take_an_agent_out_of_another_team(world: World, boss: Any) -> None:
    """The profile's present team must be in scope too: no pulling agents across."""
    profile = AgentProfile.objects.get(user=world.outsider)
    profile.team = world.team
    with pytest.raises(RuleViolation) as refused:
        save_agent_profile(profile, world.supervisor)
    assert status_for(refused.value.code) in (403, 404)
    assert AgentProfile.objects.get(pk=profile.pk).team_id == world.other_team.pk
    # The other team's own supervisor may not hand the agent to Huangpu either.
    with pytest.raises(RuleViolation):
        save_agent_profile(profile, boss)


def test_a_supervisor_moves_agents_between_teams_they_oversee(world: World, client: Client) -> None:
    Team.objects.filter(pk=world.other_team.pk).update(supervisor=world.supervisor)
    profile = AgentProfile.objects.get(user=world.agent_b)
    client.force_login(world.supervisor)
    url = reverse("admin:fieldvisit_agentprofile_change", args=[profile.pk])
    answer = client.post(url, profile_form(profile, team=world.other_team.pk))
    assert answer.status_code == 302, errors_of(answer)
    profile.refresh_from_db()
    assert profile.team_id == world.other_team.pk
    assert LedgerEntry.objects.filter(kind="agent.updated").count() == 1


def test_a_new_agent_goes_only_into_an_overseen_team(world: World, client: Client) -> None:
    recruit = factories.user("recruit", Role.AGENT)
    client.force_login(world.supervisor)
    form = profile_form(
        AgentProfile(
            user=recruit,
            team=world.other_team,
            badge_number="N-1",
            background_check_on=dt.date(2025, 2, 1),
        )
    )
    answer = client.post(reverse("admin:fieldvisit_agentprofile_add"), form)
    assert answer.status_code == 200 and "team" in errors_of(answer)
    assert not AgentProfile.objects.filter(user=recruit).exists()
    form["team"] = str(world.team.pk)
    answer = client.post(reverse("admin:fieldvisit_agentprofile_add"), form)
    assert answer.status_code == 302, errors_of(answer)
    assert AgentProfile.objects.get(user=recruit).team_id == world.team.pk


def test_a_profile_keeps_its_user(world: World, client: Client) -> None:
    """Whose qualification a profile records is its ledger subject: never re-pointed."""
    recruit = factories.user("recruit", Role.AGENT)
    profile = AgentProfile.objects.get(user=world.agent_b)
    profile.user = recruit
    with pytest.raises(RuleViolation) as refused:
        save_agent_profile(profile, world.supervisor)
    assert "user" in refused.value.errors
    assert AgentProfile.objects.get(pk=profile.pk).user_id == world.agent_b.pk


def test_the_team_page_adds_agents_only_to_its_own_team(world: World, client: Client) -> None:
    """The team page's agent rows: the row's team is the page's, the user a newcomer's."""
    recruit = factories.user("recruit", Role.AGENT)
    agents = list(AgentProfile.objects.filter(team=world.team).order_by("pk"))
    form: dict[str, str] = {
        "name": world.team.name,
        "timezone": world.team.timezone,
        "active": "on",
        "agents-TOTAL_FORMS": str(len(agents) + 1),
        "agents-INITIAL_FORMS": str(len(agents)),
        "agents-MIN_NUM_FORMS": "0",
        "agents-MAX_NUM_FORMS": "1000",
        # The on-call chain's rows, left as they are.
        "oncall-TOTAL_FORMS": "0",
        "oncall-INITIAL_FORMS": "0",
        "oncall-MIN_NUM_FORMS": "0",
        "oncall-MAX_NUM_FORMS": "1000",
    }
    for n, agent in enumerate(agents):
        form.update(
            {
                f"agents-{n}-id": str(agent.pk),
                f"agents-{n}-team": str(world.team.pk),
                f"agents-{n}-user": str(agent.user_id),
                f"agents-{n}-badge_number": agent.badge_number,
                f"agents-{n}-background_check_on": f"{agent.background_check_on:%Y-%m-%d}",
                f"agents-{n}-active": "on",
            }
        )
    n = len(agents)
    form.update(
        {
            f"agents-{n}-team": str(world.other_team.pk),  # not the page's team
            f"agents-{n}-user": str(recruit.pk),
            f"agents-{n}-badge_number": "N-2",
            f"agents-{n}-background_check_on": "2025-02-01",
            f"agents-{n}-active": "on",
        }
    )
    client.force_login(world.supervisor)
    url = reverse("admin:fieldvisit_team_change", args=[world.team.pk])
    before = ledger_size()
    assert client.post(url, form).status_code == 200
    assert not AgentProfile.objects.filter(user=recruit).exists()
    form[f"agents-{n}-team"] = str(world.team.pk)
    form[f"agents-{n}-user"] = str(world.outsider.pk)  # an agent of another team
    assert client.post(url, form).status_code == 200
    assert AgentProfile.objects.get(user=world.outsider).team_id == world.other_team.pk
    assert ledger_size() == before
    form[f"agents-{n}-user"] = str(recruit.pk)
    answer = client.post(url, form)
    assert answer.status_code == 302, answer.context["inline_admin_formsets"][0].formset.errors
    assert AgentProfile.objects.get(user=recruit).team_id == world.team.pk
    # An existing row cannot be re-pointed at another person either.
    form["agents-0-user"] = str(factories.user("another", Role.AGENT).pk)
    form[f"agents-{n}-id"] = str(AgentProfile.objects.get(user=recruit).pk)
    form["agents-INITIAL_FORMS"] = form["agents-TOTAL_FORMS"]
    answer = client.post(url, form)
    assert answer.status_code == 200
    assert AgentProfile.objects.get(pk=agents[0].pk).user_id == agents[0].user_id


def test_a_planner_supervisor_changes_only_the_teams_they_oversee(
    world: World, client: Client
) -> None:
    """Planners see every team; their supervisor's rights still reach only their own."""
    both = factories.user("both", Role.PLANNER, Role.SUPERVISOR)
    client.force_login(both)
    profile = AgentProfile.objects.get(user=world.agent_b)
    url = reverse("admin:fieldvisit_agentprofile_change", args=[profile.pk])
    assert client.get(url).status_code == 200  # read, as a planner
    answer = client.post(url, profile_form(profile, active=""))
    assert answer.status_code == 403
    assert AgentProfile.objects.get(pk=profile.pk).active
    team_url = reverse("admin:fieldvisit_team_change", args=[world.team.pk])
    answer = client.post(team_url, {"name": "Renamed", "timezone": "UTC", "active": "on"})
    assert answer.status_code == 403
    assert Team.objects.get(pk=world.team.pk).name == world.team.name


# --- decisions and handling: only on overseen teams' records ---------------------------------


def test_decisions_reach_only_overseen_teams(world: World, boss: Any) -> None:
    route = factories.route(world.team, world.planner, tomorrow(), world.addresses[:3])
    route_actions.submit_route(route.pk, world.planner)
    before = ledger_size()
    with pytest.raises(RuleViolation) as refused:
        route_actions.decide_route(route.pk, boss, True, "ok")
    assert (refused.value.code, status_for(refused.value.code)) == ("not_found", 404)
    assert Route.objects.get(pk=route.pk).status == RouteStatus.SUBMITTED
    assert ledger_size() == before


def test_alerts_are_handled_only_by_their_teams_supervisors(world: World, boss: Any) -> None:
    from django.db import transaction

    with transaction.atomic():
        alert = alert_actions.raise_alert(
            kind=AlertKind.PANIC,
            team=world.team,
            detail="help",
            actor=ledger.actor_for(world.agent_a),
        )
    before = ledger_size()
    for handle in (alert_actions.acknowledge, alert_actions.resolve):
        with pytest.raises(RuleViolation) as refused:
            handle(alert.pk, boss, "seen")
        assert status_for(refused.value.code) == 404
    assert Alert.objects.get(pk=alert.pk).acknowledged_by_id is None
    assert ledger_size() == before


def test_tokens_are_revoked_only_by_their_owner_or_a_supervisor_of_their_team(
    world: World, boss: Any
) -> None:
    _, token = issue_token(world.agent_a, "spare", "spare phone", "android")
    with pytest.raises(RuleViolation) as refused:
        revoke_token(token.pk, boss, "not mine")
    assert status_for(refused.value.code) == 404
    assert DeviceToken.objects.get(pk=token.pk).revoked_at is None
    revoke_token(token.pk, world.supervisor, "lost")
    assert DeviceToken.objects.get(pk=token.pk).revoked_at is not None


def test_routes_are_planned_only_for_teams_in_scope(world: World) -> None:
    """A supervisor given the right to plan plans only for the teams they oversee."""
    from django.contrib.auth.models import Permission

    world.supervisor.user_permissions.add(
        *Permission.objects.filter(codename__in=["add_route", "change_route"])
    )
    world.supervisor = type(world.supervisor).objects.get(pk=world.supervisor.pk)
    case = factories.case(world.other_team, world.creditor)
    address = factories.address(case)
    with pytest.raises(RuleViolation) as refused:
        route_actions.create_route(world.other_team.pk, tomorrow(), [address.pk], world.supervisor)
    assert status_for(refused.value.code) == 403
    assert not Route.objects.filter(team=world.other_team).exists()
    draft = factories.route(world.other_team, world.planner, tomorrow(), [address])
    with pytest.raises(RuleViolation):
        route_actions.submit_route(draft.pk, world.supervisor)
    assert Route.objects.get(pk=draft.pk).status == RouteStatus.DRAFT


# --- maker-checker for a user with both roles -----------------------------------------------


def test_a_planner_supervisor_cannot_approve_a_route_they_planned(
    world: World, client: Client
) -> None:
    both = factories.user("both", Role.PLANNER, Role.SUPERVISOR)
    Team.objects.filter(pk=world.team.pk).update(supervisor=both)
    route = factories.route(world.team, both, tomorrow(), world.addresses[:3])
    route_actions.submit_route(route.pk, both)
    before = ledger_size()
    client.force_login(both)
    page = client.get(reverse("admin:fieldvisit_route_change", args=[route.pk]))
    assert page.status_code == 200 and not page.context["can_decide"]
    decide = reverse("admin:fieldvisit_route_decide", args=[route.pk])
    answer = client.post(decide, {"comment": "mine", "_approve": "1"})
    assert answer.status_code == 200
    assert [level for level, _ in messages_of(answer)] == ["error"]
    with pytest.raises(RuleViolation) as refused:
        route_actions.decide_route(route.pk, both, True, "mine")
    assert refused.value.code == "maker_checker"
    assert Route.objects.get(pk=route.pk).status == RouteStatus.SUBMITTED
    assert ledger_size() == before
    # No API path decides routes at all: the phones' route endpoints only read.
    api = world.client(both, "laptop")
    for method in ("post", "put", "patch"):
        answer = getattr(api, method)(
            f"/api/v1/routes/{route.pk}/", {"status": "approved"}, format="json"
        )
        assert answer.status_code in (403, 404, 405), (method, answer.status_code)
    assert Route.objects.get(pk=route.pk).status == RouteStatus.SUBMITTED


@pytest.fixture
def ps(world: World) -> Any:
    """A planner who also manages Huangpu's risk (so oversees it beside its supervisor)."""
    user = factories.user("ps", Role.PLANNER, Role.SUPERVISOR)
    Team.objects.filter(pk=world.team.pk).update(risk_manager=user)
    return user


def test_whoever_submitted_a_route_cannot_decide_it(world: World, ps: Any) -> None:
    """The review's reproduction: another planner drafts, the planner-supervisor submits
    and then approves."""
    route = factories.route(world.team, world.planner, tomorrow(), world.addresses[:1])
    route_actions.submit_route(route.pk, ps)
    before = ledger_size()
    for approve in (True, False):
        with pytest.raises(RuleViolation) as refused:
            route_actions.decide_route(route.pk, ps, approve, "ok")
        assert refused.value.code == "maker_checker"
    assert Route.objects.get(pk=route.pk).status == RouteStatus.SUBMITTED
    assert ledger_size() == before
    # Someone who made none of it decides.
    route_actions.decide_route(route.pk, world.supervisor, True, "ok")
    assert Route.objects.get(pk=route.pk).status == RouteStatus.APPROVED


def route_page(route: Route, stops: list[tuple[Any, Any]]) -> dict[str, str]:
    """The draft's change page with ``stops`` as its (case, address) rows, in order."""
    existing = list(route.stops.order_by("sequence"))
    form = {
        "team": str(route.team_id),
        "date": f"{route.date:%Y-%m-%d}",
        "stops-TOTAL_FORMS": str(max(len(stops), len(existing))),
        "stops-INITIAL_FORMS": str(len(existing)),
        "stops-MIN_NUM_FORMS": "0",
        "stops-MAX_NUM_FORMS": "1000",
    }
    for n, (case, address) in enumerate(stops):
        if n < len(existing):
            form[f"stops-{n}-id"] = str(existing[n].pk)
            form[f"stops-{n}-route"] = str(route.pk)
        form |= {
            f"stops-{n}-sequence": str(n + 1),
            f"stops-{n}-case": str(case.pk),
            f"stops-{n}-address": str(address.pk),
        }
    return form


def test_whoever_changed_a_drafts_stops_cannot_decide_it(
    world: World, ps: Any, client: Client
) -> None:
    """Through admin: the planner-supervisor edits another planner's draft's stops, the
    planner submits, and the planner-supervisor may not approve (nor is offered to)."""
    route = factories.route(world.team, world.planner, tomorrow(), world.addresses[:1])
    client.force_login(ps)
    change = reverse("admin:fieldvisit_route_change", args=[route.pk])
    second = world.addresses[1]
    rows = [(world.addresses[0].case, world.addresses[0]), (second.case, second)]
    answer = client.post(change, route_page(route, rows))
    assert answer.status_code == 302, answer.context and answer.context["errors"]
    assert route.stops.count() == 2
    route_actions.submit_route(route.pk, world.planner)
    page = client.get(change)
    assert page.status_code == 200 and not page.context["can_decide"]
    before = ledger_size()
    decide = reverse("admin:fieldvisit_route_decide", args=[route.pk])
    answer = client.post(decide, {"comment": "ok", "_approve": "1"})
    assert answer.status_code == 200
    assert [level for level, _ in messages_of(answer)] == ["error"]
    assert Route.objects.get(pk=route.pk).status == RouteStatus.SUBMITTED
    assert ledger_size() == before
    # The supervisor, who made none of it, is offered the decision and takes it.
    client.force_login(world.supervisor)
    assert client.get(change).context["can_decide"]
    assert client.post(decide, {"comment": "ok", "_approve": "1"}).status_code == 302
    assert Route.objects.get(pk=route.pk).status == RouteStatus.APPROVED


def test_opening_a_draft_without_changing_it_makes_nobody_its_maker(
    world: World, ps: Any, client: Client
) -> None:
    route = factories.route(world.team, world.planner, tomorrow(), world.addresses[:1])
    client.force_login(ps)
    change = reverse("admin:fieldvisit_route_change", args=[route.pk])
    rows = [(world.addresses[0].case, world.addresses[0])]
    assert client.post(change, route_page(route, rows)).status_code == 302
    route_actions.submit_route(route.pk, world.planner)
    route_actions.decide_route(route.pk, ps, True, "ok")
    assert Route.objects.get(pk=route.pk).status == RouteStatus.APPROVED


# --- case import: the importer's scope ------------------------------------------------------


def test_a_scoped_importer_imports_only_cases_of_their_teams(world: World, client: Client) -> None:
    """Planners import for every team; anyone else given the right, for the teams they
    oversee: a row naming another team, or updating another team's case, is invalid."""
    from django.contrib.auth.models import Permission

    from fieldvisit.models import Case
    from tests.admin.test_case_import import csv_file, preview, rows

    world.supervisor.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["import_case", "add_case", "change_case", "view_case"]
        )
    )
    theirs = factories.case(world.other_team, world.creditor)
    table = rows(world)
    table[0][2] = world.other_team.name
    table[1][0] = theirs.number  # would move the other team's case to Huangpu
    before = Case.objects.count()
    client.force_login(world.supervisor)
    result = preview(client, csv_file(table), "csv").context["result"]
    errors = {row.number: row.error_dict for row in result.invalid_rows}
    assert errors == {
        1: {"team": ["Not a team you plan for."]},
        2: {"number": ["A case of a team you do not plan for."]},
        3: {"team": ["Not a team you plan for."]},  # no team: the planners'
    }
    assert Case.objects.count() == before
    assert Case.objects.get(pk=theirs.pk).team_id == world.other_team.pk
    # The planner's own import of the same rows is not limited.
    client.force_login(world.planner)
    result = preview(client, csv_file(table), "csv").context["result"]
    assert not result.has_validation_errors()


def test_a_scoped_planner_is_offered_only_their_teams_records(world: World, client: Client) -> None:
    """Anyone who plans without the planner role (a supervisor given planning rights) picks
    teams, cases and addresses of the teams they oversee only: another team's is no choice."""
    from django.contrib.auth.models import Permission

    from fieldvisit.models import Address, Case

    world.supervisor.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["add_route", "add_stop", "add_case", "add_address", "add_relation"]
        )
    )
    theirs = factories.case(world.other_team, world.creditor)
    their_address = factories.address(theirs)
    client.force_login(world.supervisor)
    management = {
        "-TOTAL_FORMS": "0",
        "-INITIAL_FORMS": "0",
        "-MIN_NUM_FORMS": "0",
        "-MAX_NUM_FORMS": "1000",
    }

    def inline(prefix: str, total: int = 0) -> dict[str, str]:
        form = {f"{prefix}{k}": v for k, v in management.items()}
        form[f"{prefix}-TOTAL_FORMS"] = str(total)
        return form

    route = {"team": world.other_team.pk, "date": f"{tomorrow() + dt.timedelta(days=3)}"}
    route |= inline("stops", 1) | {
        "stops-0-sequence": "1",
        "stops-0-case": theirs.pk,
        "stops-0-address": their_address.pk,
    }
    answer = client.post(reverse("admin:fieldvisit_route_add"), route)
    assert answer.status_code == 200 and set(errors_of(answer)) == {"team"}
    stop_errors = answer.context["inline_admin_formsets"][0].formset.errors
    assert set(stop_errors[0]) == {"case", "address"}
    case = (
        {
            "number": "NEW-1",
            "creditor": world.creditor.pk,
            "team": world.other_team.pk,
            "debtor_name": "Zhao",
            "amount_due": "1",
            "currency": "CNY",
            "status": "open",
        }
        | inline("addresses")
        | inline("relations")
    )
    answer = client.post(reverse("admin:fieldvisit_case_add"), case)
    assert answer.status_code == 200 and set(errors_of(answer)) == {"team"}
    place = {"case": theirs.pk, "kind": "home", "text": "1 Road", "timezone": "Asia/Shanghai"}
    answer = client.post(reverse("admin:fieldvisit_address_add"), place)
    assert answer.status_code == 200 and set(errors_of(answer)) == {"case"}
    assert not Route.objects.filter(team=world.other_team).exists()
    assert not Case.objects.filter(number="NEW-1").exists()
    assert not Address.objects.filter(text="1 Road").exists()
    # Their own team is a choice.
    case["team"] = world.team.pk
    assert client.post(reverse("admin:fieldvisit_case_add"), case).status_code == 302


def test_the_autocomplete_offers_what_the_form_accepts(world: World, client: Client) -> None:
    """A planner who also supervises Huangpu reads every team, but the agent form's team
    autocomplete offers Huangpu only; the case form's offers every team (they plan all)."""
    both = factories.user("both", Role.PLANNER, Role.SUPERVISOR)
    Team.objects.filter(pk=world.team.pk).update(supervisor=both)
    client.force_login(both)

    def offered(model: str) -> set[str]:
        url = reverse("admin:autocomplete")
        query = {"app_label": "fieldvisit", "model_name": model, "field_name": "team"}
        answer = client.get(url, query)
        assert answer.status_code == 200, answer.content
        return {item["text"] for item in answer.json()["results"]}

    assert offered("agentprofile") == {world.team.name}
    assert offered("case") == {world.team.name, world.other_team.name}


# --- agents are field agents: no staff enrolled into a team --------------------------------


def staff_users(world: World) -> dict[str, Any]:
    """Users a supervisor must not enrol as their team's agents: staff roles, a superuser,
    someone holding the agent role beside a staff one, and an agent with admin access."""
    root = type(world.legal).objects.create_superuser("root", password="x")
    return {
        "legal": world.legal,
        "auditor": world.auditor,
        "planner": world.planner,
        "root": root,
        "agent and planner": factories.user("dual", Role.AGENT, Role.PLANNER),
        "agent with admin": factories.user("admin_agent", Role.AGENT, staff=True),
        "no role": factories.user("nobody", staff=False),
    }


def new_profile(user: Any, team: Team, badge: str = "X7") -> AgentProfile:
    return AgentProfile(
        user=user, team=team, badge_number=badge, background_check_on=dt.date(2025, 1, 15)
    )


def test_the_action_enrols_only_field_agents_whatever_the_caller(world: World) -> None:
    root = None
    for name, user in staff_users(world).items():
        root = user if name == "root" else root
        before = ledger_size()
        for by in (world.supervisor, root):
            if by is None:
                continue
            with pytest.raises(RuleViolation) as refused:
                save_agent_profile(new_profile(user, world.team), by)
            assert status_for(refused.value.code) == 422, name
            assert "user" in refused.value.errors, name
        assert not AgentProfile.objects.filter(user=user).exists(), name
        assert ledger_size() == before
    recruit = factories.user("recruit", Role.AGENT)
    save_agent_profile(new_profile(recruit, world.team), world.supervisor)
    assert AgentProfile.objects.get(user=recruit).team_id == world.team.pk


def test_a_supervisor_cannot_enrol_legal_then_revoke_and_read_its_ledger(
    world: World, client: Client
) -> None:
    """The review's reproduction: enrol legal as an agent of one's own team, revoke its
    device token, read its ledger entries."""
    _, token = issue_token(world.legal, "legal-laptop", "legal's laptop", "android")
    client.force_login(world.supervisor)
    form = profile_form(new_profile(world.legal, world.team))
    answer = client.post(reverse("admin:fieldvisit_agentprofile_add"), form)
    assert answer.status_code == 200 and "user" in errors_of(answer)
    assert not AgentProfile.objects.filter(user=world.legal).exists()
    page = client.get(reverse("admin:fieldvisit_agentprofile_add"))
    offered = set(page.context["adminform"].form.fields["user"].queryset)
    assert world.legal not in offered and world.planner not in offered
    assert world.supervisor not in offered
    changelist = reverse("admin:fieldvisit_devicetoken_changelist")
    client.post(changelist, {"action": "revoke", "_selected_action": [str(token.pk)]})
    assert DeviceToken.objects.get(pk=token.pk).revoked_at is None
    api = world.client(world.supervisor, "desk")
    entries = LedgerEntry.objects.filter(subject=f"user:{world.legal.pk}")
    assert entries.exists()
    for entry in entries:
        assert api.get(f"/api/v1/ledger/entries/{entry.index}/").status_code == 404


def test_a_staff_user_with_a_profile_from_before_stays_out_of_a_supervisors_reach(
    world: World,
) -> None:
    """A profile made before the rule (or a staff role given to an agent since) widens
    nothing: the supervisor revokes none of that user's tokens and reads none of its
    ledger entries."""
    _, token = issue_token(world.legal, "legal-laptop", "legal's laptop", "android")
    new_profile(world.legal, world.team).save()  # as the old code allowed
    with pytest.raises(RuleViolation) as refused:
        revoke_token(token.pk, world.supervisor, "mine now")
    assert status_for(refused.value.code) == 404
    assert DeviceToken.objects.get(pk=token.pk).revoked_at is None
    api = world.client(world.supervisor, "desk")
    for entry in LedgerEntry.objects.filter(subject=f"user:{world.legal.pk}"):
        assert api.get(f"/api/v1/ledger/entries/{entry.index}/").status_code == 404
    # Their own agents' entries stay readable.
    agent_entry = LedgerEntry.objects.filter(subject=f"user:{world.agent_a.pk}").first()
    if agent_entry is None:
        world.client(world.agent_a, "phone-x")
        agent_entry = LedgerEntry.objects.filter(subject=f"user:{world.agent_a.pk}").first()
    assert api.get(f"/api/v1/ledger/entries/{agent_entry.index}/").status_code == 200


def test_the_team_page_enrols_only_field_agents(world: World, client: Client) -> None:
    client.force_login(world.supervisor)
    agents = list(AgentProfile.objects.filter(team=world.team).order_by("pk"))
    form: dict[str, str] = {
        "name": world.team.name,
        "timezone": world.team.timezone,
        "active": "on",
        "agents-TOTAL_FORMS": str(len(agents) + 1),
        "agents-INITIAL_FORMS": str(len(agents)),
        "agents-MIN_NUM_FORMS": "0",
        "agents-MAX_NUM_FORMS": "1000",
        "oncall-TOTAL_FORMS": "0",
        "oncall-INITIAL_FORMS": "0",
        "oncall-MIN_NUM_FORMS": "0",
        "oncall-MAX_NUM_FORMS": "1000",
    }
    rows = [(agent.pk, agent.user_id, agent.badge_number) for agent in agents]
    for n, (pk, user_id, badge) in enumerate([*rows, (None, world.legal.pk, "X8")]):
        form.update(
            {
                f"agents-{n}-team": str(world.team.pk),
                f"agents-{n}-user": str(user_id),
                f"agents-{n}-badge_number": badge,
                f"agents-{n}-background_check_on": "2025-01-15",
                f"agents-{n}-active": "on",
            }
        )
        if pk is not None:
            form[f"agents-{n}-id"] = str(pk)
    answer = client.post(reverse("admin:fieldvisit_team_change", args=[world.team.pk]), form)
    assert answer.status_code == 200
    assert not AgentProfile.objects.filter(user=world.legal).exists()
