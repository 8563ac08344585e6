"""What happened in the field (visits, their reports and reviews, alerts, check-ins, the
agents' devices) reads in admin within ``access.evidence_scope``: a user
who plans for every team and supervises one sees that team's records only, on every page
of those models (list, change, history, review, the alert feed and its filter), while the
planning pages still cover every team.

The pure planner, who holds no view permission on these models, is refused them (403) in
the GET matrix (test_admin_matrix.py); the pages list below says the same here.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from fieldvisit.choices import Role
from fieldvisit.models import Alert, CheckIn, DeviceToken, Visit, VisitReport, VisitReview
from tests import factories
from tests.authz.scene import Scene

pytestmark = pytest.mark.django_db(transaction=True)


def browser(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def planning_boss(full_scene: Scene) -> Any:
    """A planner who supervises the other team (the outsider's), not the fixture team."""
    w = full_scene.world
    boss = factories.user("planning_boss", Role.PLANNER, Role.SUPERVISOR)
    w.other_team.supervisor = boss
    w.other_team.save()
    return boss


def fixture_team_records(scene: Scene) -> dict[str, Any]:
    """One record of the fixture team (the one the boss does not supervise) per model."""
    w = scene.world
    return {
        "visit": scene.closed,
        "visitreport": scene.report,
        "visitreview": VisitReview.objects.get(visit=scene.closed),
        "alert": scene.alert,
        "checkin": CheckIn.objects.filter(route__team=w.team).earliest("captured_at"),
        "devicetoken": scene.revoked_token,
    }


def other_team_records(scene: Scene) -> dict[str, Any]:
    w = scene.world
    return {
        "alert": scene.foreign_alert,
        "devicetoken": DeviceToken.objects.filter(user=w.outsider).earliest("created_at"),
    }


def test_planning_every_team_opens_no_other_teams_field_records(
    full_scene: Scene, planning_boss: Any
) -> None:
    client = browser(planning_boss)
    for name, record in fixture_team_records(full_scene).items():
        for page in ("change", "history"):
            url = reverse(f"admin:fieldvisit_{name}_{page}", args=[record.pk])
            response = client.get(url)
            # "Does not exist": back to the admin index, nothing of the record shown.
            assert response.status_code == 302, (name, page, response.status_code)
    review = reverse("admin:fieldvisit_visit_review", args=[full_scene.closed.pk])
    assert client.get(review).status_code == 404
    handle = reverse("admin:fieldvisit_alert_handle", args=[full_scene.alert.pk])
    assert client.get(handle).status_code == 404

    for name, record in other_team_records(full_scene).items():
        url = reverse(f"admin:fieldvisit_{name}_change", args=[record.pk])
        assert client.get(url).status_code == 200, name


def test_the_alert_feed_counts_only_the_teams_in_scope(
    full_scene: Scene, planning_boss: Any
) -> None:
    w = full_scene.world
    assert Alert.objects.filter(status="open").count() == 2  # one of each team
    feed = browser(planning_boss).get(reverse("admin:fieldvisit_alert_feed")).json()
    assert feed["open"] == 1
    assert browser(w.supervisor).get(reverse("admin:fieldvisit_alert_feed")).json()["open"] == 1


def alert_list(client: Client) -> tuple[set[str], str]:
    """The team filter's choices (none when it is not shown: one team to choose from) and
    the page's HTML."""
    response = client.get(reverse("admin:fieldvisit_alert_changelist"))
    assert response.status_code == 200
    specs = [s for s in response.context["cl"].filter_specs if s.field_path == "team"]
    choices = {name for spec in specs for _, name in spec.lookup_choices}
    return choices, response.content.decode()


def test_the_alert_team_filter_names_only_the_teams_in_scope(
    full_scene: Scene, planning_boss: Any, django_assert_max_num_queries: Any
) -> None:
    w = full_scene.world
    for user, mine, theirs in (
        (planning_boss, w.other_team, w.team),
        (w.supervisor, w.team, w.other_team),
    ):
        client = browser(user)
        with django_assert_max_num_queries(ALERT_PAGE_QUERIES):
            choices, page = alert_list(client)
        assert choices <= {mine.name}, user
        assert mine.name in page and theirs.name not in page, user
    w.auditor.is_staff = True
    w.auditor.save()
    choices, _ = alert_list(browser(w.auditor))
    assert choices == {w.team.name, w.other_team.name}


# Session, user, the user's permissions (own and groups'), roles, the teams of the "team"
# filter (those of the alerts in scope), the count, the unfiltered count, the page.
ALERT_PAGE_QUERIES = 9


def test_legal_and_auditors_still_read_every_team(full_scene: Scene, planning_boss: Any) -> None:
    w = full_scene.world
    every = {
        "visit": Visit.objects.count(),
        "visitreport": VisitReport.objects.count(),
        "visitreview": VisitReview.objects.count(),
        "alert": Alert.objects.count(),
        "checkin": CheckIn.objects.count(),
        "devicetoken": DeviceToken.objects.count(),
    }
    for reader in (w.legal, w.auditor):
        reader.is_staff = True
        reader.save()
        client = browser(reader)
        for name, count in every.items():
            response = client.get(reverse(f"admin:fieldvisit_{name}_changelist"))
            if name == "devicetoken" and reader == w.legal:
                assert response.status_code == 403  # not legal's business
                continue
            assert response.status_code == 200, (reader, name)
            cl = response.context["cl"]
            assert len(cl.result_list) == count, (reader, name)


def test_planning_pages_still_cover_every_team(full_scene: Scene, planning_boss: Any) -> None:
    """The planner's daily pages, for a pure planner and one who also supervises."""
    w = full_scene.world
    theirs = factories.case(w.other_team, w.cases[0].creditor)
    factories.route(w.other_team, w.planner, w.route.date, [factories.address(theirs)])
    for user in (w.planner, planning_boss):
        client = browser(user)
        for page in ("case_import", "route_propose", "route_add", "case_add"):
            response = client.get(reverse(f"admin:fieldvisit_{page}"))
            assert response.status_code == 200, (user, page)
        response = client.get(reverse("admin:fieldvisit_route_propose"))
        teams = {str(choice[1]) for choice in response.context["form"].fields["team"].choices}
        assert {w.team.name, w.other_team.name} <= teams, user
        for name, teams_of in (
            ("route", lambda rows: {r.team_id for r in rows}),
            ("case", lambda rows: {c.team_id for c in rows}),
        ):
            response = client.get(reverse(f"admin:fieldvisit_{name}_changelist"))
            assert response.status_code == 200
            shown = teams_of(response.context["cl"].result_list)
            assert {w.team.pk, w.other_team.pk} <= shown, (user, name)


@pytest.mark.parametrize("name", ["case", "route", "agentprofile", "alert"])
def test_no_team_filter_names_a_team_the_supervisor_does_not_oversee(
    full_scene: Scene, name: str
) -> None:
    """A supervisor's lists offer no other team to filter by: its name is not on the page."""
    w = full_scene.world
    theirs = factories.case(w.other_team, w.cases[0].creditor)
    factories.route(w.other_team, w.planner, w.route.date, [factories.address(theirs)])
    response = browser(w.supervisor).get(reverse(f"admin:fieldvisit_{name}_changelist"))
    assert response.status_code == 200
    assert response.context["cl"].result_list
    assert w.other_team.name not in response.content.decode()
