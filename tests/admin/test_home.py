"""The admin home leads to each role's daily pages, with what waits there; the route
proposal says why nothing can be proposed."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from fieldvisit.actions import routes as route_actions
from fieldvisit.models import OnCallEntry, Team
from tests import factories
from tests.helpers import World, at, today

pytestmark = pytest.mark.django_db


def daily(client: Client) -> dict[str, str]:
    response = client.get("/admin/")
    assert response.status_code == 200
    return {link["label"]: (link["url"], link["count"]) for link in response.context["links"]}


def test_a_supervisor_sees_what_waits_for_them(world: World, client: Client) -> None:
    tomorrow = today() + dt.timedelta(days=1)
    route = factories.route(world.team, world.planner, tomorrow, world.addresses[3:])
    route_actions.submit_route(route.pk, world.planner, now=at(today(), 18))
    client.force_login(world.supervisor)
    links = daily(client)
    assert links["Routes waiting for approval"] == (
        "/admin/fieldvisit/route/?status__exact=submitted",
        1,
    )
    assert links["Live operations"][0] == "/admin/operations/"
    assert "Open alerts" in links and "On-call contacts" in links
    assert "Propose a route" not in links  # a planner's page


def test_a_planner_is_led_to_propose_and_import(world: World, client: Client) -> None:
    client.force_login(world.planner)
    links = daily(client)
    assert links["Propose a route"][0] == "/admin/fieldvisit/route/propose/"
    assert links["Import cases"][0] == "/admin/fieldvisit/case/import/"
    assert "Routes waiting for approval" not in links


def test_propose_says_why_nothing_can_be_proposed(world: World, client: Client) -> None:
    empty = Team.objects.create(name="Empty", supervisor=world.supervisor)
    factories.agent("lonely", empty)
    client.force_login(world.planner)
    day = (today() + dt.timedelta(days=1)).isoformat()
    query = {"team": empty.pk, "date": day, "stops": 5, "start": "09:00"}
    page = client.get("/admin/fieldvisit/route/propose/", query)
    html = page.content.decode()
    assert "Empty has no open case assigned to it" in html
    assert "1 qualified agent(s)" in html  # not staffed: said before planning
    assert "on-call chain has 0 person(s)" in html
    assert 'type="date"' in html  # a date picker
    assert OnCallEntry.objects.filter(team=empty).count() == 0


def test_times_read_in_the_teams_zone_with_seconds_and_the_zone_named(
    world: World, client: Client
) -> None:
    import datetime as dt

    from fieldvisit.choices import AlertKind
    from fieldvisit.models import Alert

    Team.objects.filter(pk=world.team.pk).update(timezone="Asia/Urumqi")  # UTC+6
    alert = Alert.objects.create(
        kind=AlertKind.RULE_BREAK,
        severity=20,
        team=world.team,
        detail="x",
        raised_at=dt.datetime(2026, 11, 24, 1, 2, 3, tzinfo=dt.UTC),
    )
    client.force_login(world.supervisor)
    page = client.get(f"/admin/fieldvisit/alert/{alert.pk}/change/").content.decode()
    assert "2026-11-24 07:02:03 +06" in page  # Urumqi's time; the zone has no abbreviation
    listed = client.get("/admin/fieldvisit/alert/").content.decode()
    assert "2026-11-24 07:02:03 +06" in listed
