"""Supervisors see and act on their own teams only; agent qualification changes are ledgered."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fieldvisit.choices import Role
from fieldvisit.models import AgentProfile, Case, LedgerEntry, Route
from tests import factories
from tests.helpers import World

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_supervisor(world: World) -> Any:
    boss = factories.user("other_supervisor", Role.SUPERVISOR)
    world.other_team.supervisor = boss
    world.other_team.save()
    return boss


@pytest.mark.parametrize("model", ["team", "agentprofile", "case", "route"])
def test_a_supervisor_sees_only_their_teams(world, client, other_supervisor, model) -> None:  # type: ignore[no-untyped-def]
    # A record of the other team of each kind, beside the fixture team's own.
    case = factories.case(world.other_team, world.creditor)
    factories.route(world.other_team, world.planner, world.route.date, [factories.address(case)])
    client.force_login(other_supervisor)
    rows = client.get(f"/admin/fieldvisit/{model}/").context["cl"].result_list
    teams = {row if model == "team" else row.team for row in rows}
    assert teams == {world.other_team}


def test_a_supervisor_cannot_open_another_teams_route(world, client, other_supervisor) -> None:  # type: ignore[no-untyped-def]
    client.force_login(other_supervisor)
    page = client.get(f"/admin/fieldvisit/route/{world.route.pk}/change/")
    assert page.status_code == 302  # "does not exist": back to the list
    assert Route.objects.filter(pk=world.route.pk).exists()


def test_planners_legal_and_auditors_see_every_team(world, client) -> None:  # type: ignore[no-untyped-def]
    factories.case(world.other_team, world.creditor)
    for user in (world.planner, world.legal, world.auditor):
        client.force_login(user)
        rows = client.get("/admin/fieldvisit/case/").context["cl"].result_list
        assert {case.team for case in rows} == {world.team, world.other_team}, user


def test_only_a_superuser_changes_who_oversees_a_team(world, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(world.supervisor)
    page = client.get(f"/admin/fieldvisit/team/{world.team.pk}/change/")
    assert page.status_code == 200
    assert "supervisor" not in page.context["adminform"].form.fields
    assert "risk_manager" not in page.context["adminform"].form.fields


def test_a_qualification_change_is_a_ledger_entry(world, client) -> None:  # type: ignore[no-untyped-def]
    profile = AgentProfile.objects.get(user=world.agent_b)
    client.force_login(world.supervisor)
    form = {
        "user": str(world.agent_b.pk),
        "team": str(world.team.pk),
        "badge_number": profile.badge_number,
        "background_check_on": "",
        "background_check_reference": "",
        "active": "on",
        # The agent's papers (none added): the page's rows of qualification documents.
        "documents-TOTAL_FORMS": "0",
        "documents-INITIAL_FORMS": "0",
    }
    answer = client.post(f"/admin/fieldvisit/agentprofile/{profile.pk}/change/", form)
    assert answer.status_code == 302, answer.context["adminform"].form.errors
    profile.refresh_from_db()
    assert profile.background_check_on is None
    entry = LedgerEntry.objects.filter(kind="agent.updated").get()
    data = json.loads(bytes(entry.entry_bytes))["data"]
    assert data["background_check_on"] is None and data["team"] == world.team.name
    assert client.get(f"/admin/fieldvisit/agentprofile/{profile.pk}/delete/").status_code == 403


def test_unassigned_cases_are_the_planners(world, client) -> None:  # type: ignore[no-untyped-def]
    loose = factories.case(None, world.creditor)
    client.force_login(world.supervisor)
    shown = client.get("/admin/fieldvisit/case/").context["cl"].result_list
    assert loose not in shown
    assert Case.objects.filter(pk=loose.pk).exists()
