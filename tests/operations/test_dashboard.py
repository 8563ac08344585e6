"""The live operations dashboard (/admin/operations/): who may open it, what it says about
each team out today, and a query count that does not grow with the number of teams.

Check-ins go through the API, on the pinned clock of ``conftest.py``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import Client
from django.urls import reverse

from fieldvisit.actions import alerts
from fieldvisit.choices import AlertKind, CheckInKind, Role, RouteStatus
from fieldvisit.models import AgentClock, CheckIn, Team
from fieldvisit.operations import age_text, clock_overdue
from fieldvisit.rules.checkins import clock_times
from tests import factories
from tests.helpers import PANIC_URL, START, World, arrive_pair, body, iso, post, stops_of

pytestmark = pytest.mark.django_db

PAGE = "/admin/operations/"
FEED = "/admin/operations/feed/"


def raise_(team: Team, kind: str) -> Any:
    with transaction.atomic():
        return alerts.raise_alert(
            kind=kind, team=team, detail=f"{kind} for the test", actor=alerts.SYSTEM
        )


def panic(world: World, note: str = "Threatened at the door") -> Any:
    phone = world.client(world.agent_a, "phone-a")
    payload = {
        "id": str(uuid.uuid4()),
        "lat": 31.2311,
        "lon": 121.4742,
        "captured_at": iso(START),
        "note": note,
    }
    response = phone.post(PANIC_URL, payload, format="json")
    assert response.status_code == 201, response.content
    return payload["id"]


def out_today(name: str, supervisor: Any, planner: Any, checkins: int = 1) -> Team:
    """Another team with an approved route under way today and ``checkins`` check-ins."""
    team = Team.objects.create(name=name, supervisor=supervisor, timezone="Asia/Shanghai")
    agent = factories.agent(f"{name}-agent", team)
    creditor = factories.creditor()
    address = factories.address(factories.case(team, creditor))
    route = factories.route(team, planner, START.date(), [address])
    route.status = RouteStatus.IN_PROGRESS
    route.decided_by, route.decided_at = supervisor, START - dt.timedelta(hours=15)
    route.save()
    for n in range(checkins):
        CheckIn.objects.create(
            id=uuid.uuid4(),
            route=route,
            agent=agent,
            device_id="phone",
            kind=CheckInKind.DEPART if n == 0 else CheckInKind.PERIODIC,
            lat=address.lat,
            lon=address.lon,
            accuracy_m=10,
            captured_at=START - dt.timedelta(minutes=20 - n),
            received_at=START - dt.timedelta(minutes=20 - n),
            request_sha256="0" * 64,
        )
    raise_(team, AlertKind.TEAM_SPLIT)
    return team


def rows(client: Client) -> dict[str, dict[str, Any]]:
    response = client.get(FEED)
    assert response.status_code == 200
    return {row["team"]: row for row in response.json()["teams"]}


# --- who may open it ---------------------------------------------------------------------


@pytest.mark.parametrize("url", [PAGE, FEED])
def test_supervisors_and_superusers_only(world: World, client: Client, url: str) -> None:
    client.force_login(world.supervisor)
    assert client.get(url).status_code == 200
    client.force_login(factories.user("root", is_superuser=True, staff=True))
    assert client.get(url).status_code == 200
    for user in (world.planner, world.legal, world.auditor):
        client.force_login(user)
        assert client.get(url).status_code == 403, user
    client.force_login(world.agent_a)  # not staff: the admin's login page
    assert client.get(url)["Location"].startswith(reverse("admin:login"))
    client.logout()
    assert client.get(url)["Location"].startswith(reverse("admin:login"))


def test_linked_from_the_admin_index_for_those_who_may_open_it(
    world: World, client: Client
) -> None:
    client.force_login(world.supervisor)
    assert f'href="{PAGE}"' in client.get(reverse("admin:index")).content.decode()
    for user in (world.planner, world.legal):
        client.force_login(user)
        assert f'href="{PAGE}"' not in client.get(reverse("admin:index")).content.decode()


# --- what it says ------------------------------------------------------------------------


def test_a_team_out_today(world: World, client: Client, clock: Any) -> None:
    stop = stops_of(world.route)[0]
    phone_a = world.client(world.agent_a, "phone-a")
    assert post(phone_a, body(world, CheckInKind.DEPART)).status_code == 201
    arrive_pair(world, stop)
    client.force_login(world.supervisor)

    row = rows(client)["Huangpu"]
    assert row["route_status"] == "In progress"
    assert (row["last_checkin_kind"], row["last_checkin_agent"]) == ("arrive", "agent_b")
    assert row["last_checkin_age_s"] < 60
    assert row["open_visits"] == 1
    assert row["overdue"] is None
    assert (row["open_alerts"], row["alerts"]) == (0, [])

    clock.shift(dt.timedelta(minutes=45))  # 30 min interval + 10 min grace have passed
    row = rows(client)["Huangpu"]
    assert row["last_checkin_age"] == "45 min"
    assert row["overdue"]["level"] == "supervisor"
    assert 15 * 60 - 5 <= row["overdue"]["late_s"] <= 15 * 60 + 5

    assert [(a["agent"], a["last_report_age"]) for a in row["agents"]] == [
        ("agent_a", "45 min"),
        ("agent_b", "45 min"),
    ]
    assert all(a["overdue"] for a in row["agents"])

    # A reports; B stays silent: only B is overdue, and the team's overdue names B.
    assert post(phone_a, body(world, CheckInKind.PERIODIC)).status_code == 201
    row = rows(client)["Huangpu"]
    assert [(a["agent"], bool(a["overdue"])) for a in row["agents"]] == [
        ("agent_a", False),
        ("agent_b", True),
    ]
    assert row["agents"][0]["last_report_age_s"] < 60
    assert row["overdue"]["agent"] == "agent_b"

    clock.shift(dt.timedelta(minutes=20))  # and 15 more: the risk manager is told too
    assert rows(client)["Huangpu"]["overdue"]["level"] == "risk_manager"

    html = client.get(PAGE).content.decode()
    assert "agent_b: due" in html and "risk manager told" in html
    assert 'data-agent="agent_a"' in html


def test_open_alerts_panic_first(world: World, client: Client) -> None:
    split = raise_(world.team, AlertKind.TEAM_SPLIT)
    alert_id = panic(world, note="<b>help</b>")
    done = raise_(world.team, AlertKind.RULE_BREAK)
    alerts.resolve(done.id, world.supervisor, "Handled.")
    acknowledged = raise_(world.team, AlertKind.MISSED_CHECKIN)
    alerts.acknowledge(acknowledged.id, world.supervisor, "Calling them.")
    client.force_login(world.supervisor)

    board = client.get(FEED).json()
    assert (board["open_alerts"], board["panics"]) == (3, 1)
    [row] = board["teams"]
    assert [a["id"] for a in row["alerts"]] == [alert_id, str(split.id), str(acknowledged.id)]
    assert row["alerts"][0]["raised_by"] == "agent_a"

    page = client.get(PAGE)
    html = page.content.decode()
    assert "fv-alert-panic" in html and "(1 panic)" in html
    assert "&lt;b&gt;help&lt;/b&gt;" in html  # an agent's note is text, not markup
    assert f'data-feed="{FEED}"' in html  # it polls
    assert '<meta http-equiv="refresh"' in html  # and reloads without JavaScript


def test_supervisors_see_only_their_teams(world: World, client: Client) -> None:
    other = factories.user("other_supervisor", Role.SUPERVISOR)
    out_today("Jingan", other, world.planner)
    raise_(world.other_team, AlertKind.PANIC)  # Pudong: nobody's, no route
    client.force_login(world.supervisor)
    assert set(rows(client)) == {"Huangpu"}
    client.force_login(other)
    assert set(rows(client)) == {"Jingan"}
    client.force_login(factories.user("root", is_superuser=True, staff=True))
    seen = rows(client)
    assert set(seen) == {"Huangpu", "Jingan", "Pudong"}
    assert seen["Pudong"]["route"] is None and seen["Pudong"]["panics"] == 1
    assert list(seen) == ["Pudong", "Jingan", "Huangpu"]  # panic first, then open alerts


def test_a_team_whose_day_is_not_today_is_not_out(world: World, client: Client) -> None:
    # Same calendar date, but in Honolulu it is still Monday afternoon.
    team = out_today("Honolulu", world.supervisor, world.planner)
    team.timezone = "Pacific/Honolulu"
    team.save()
    client.force_login(world.supervisor)
    seen = rows(client)
    assert seen["Honolulu"]["route"] is None  # listed for its open alert only
    assert seen["Huangpu"]["route"] is not None


# --- how much it costs -------------------------------------------------------------------


@pytest.mark.parametrize("who", ["supervisor", "superuser"])
def test_query_count_does_not_grow_with_teams(
    world: World, client: Client, django_assert_num_queries: Any, who: str
) -> None:
    user = (
        world.supervisor
        if who == "supervisor"
        else factories.user("root", is_superuser=True, staff=True)
    )
    client.force_login(user)
    for n in range(2):
        out_today(f"Team {n}", world.supervisor, world.planner, checkins=2)
    # session, user; the day's routes (last check-in and open visits as subqueries); their
    # agents' clocks; open alerts per team; the most urgent open alerts (team and raiser
    # joined). A supervisor adds their roles (scoping) for the board.
    feed = 6 if who == "superuser" else 7
    # The page adds the admin's app list: a supervisor's user and group permissions.
    page = feed if who == "superuser" else feed + 2
    with django_assert_num_queries(feed):
        assert len(client.get(FEED).json()["teams"]) == 3
    with django_assert_num_queries(page):
        assert client.get(PAGE).status_code == 200
    for n in range(2, 8):
        out_today(f"Team {n}", world.supervisor, world.planner, checkins=3)
    with django_assert_num_queries(feed):
        assert len(client.get(FEED).json()["teams"]) == 9
    with django_assert_num_queries(page):
        assert client.get(PAGE).content.decode().count('data-team="') == 9


# --- the rules it shows ------------------------------------------------------------------


def agent_clock(last: dt.datetime, status: str = RouteStatus.IN_PROGRESS) -> AgentClock:
    times = clock_times(
        last,
        returned=False,
        route_under_way=status == RouteStatus.IN_PROGRESS,
        interval=dt.timedelta(minutes=30),
        grace=dt.timedelta(minutes=10),
        escalation=dt.timedelta(minutes=15),
    )
    return AgentClock(
        agent=get_user_model()(username="agent_x"),
        last_report_at=last,
        next_due_at=times.next_due_at,
        alert_at=times.alert_at,
        escalate_at=times.escalate_at,
    )


def test_an_overdue_report_is_read_from_the_clock_the_watchdog_reads() -> None:
    last, under_way = START, RouteStatus.IN_PROGRESS
    assert clock_overdue(agent_clock(last), last + dt.timedelta(minutes=40), under_way) is None
    late = clock_overdue(agent_clock(last), last + dt.timedelta(minutes=41), under_way)
    assert late is not None and (late.agent, late.level, late.late_s) == (
        "agent_x",
        "supervisor",
        11 * 60,
    )
    assert late.due_at == last + dt.timedelta(minutes=30)
    later = clock_overdue(agent_clock(last), last + dt.timedelta(minutes=56), under_way)
    assert later is not None and later.level == "risk_manager"
    # Nothing is due once the agent is back, or once the route is done.
    done = RouteStatus.COMPLETED
    assert clock_overdue(agent_clock(last, done), last + dt.timedelta(hours=3), done) is None
    assert clock_overdue(agent_clock(last), last + dt.timedelta(hours=3), done) is None


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 s"), (59, "59 s"), (60, "1 min"), (3599, "59 min"), (3600, "1 h 00 min"),
     (7500, "2 h 05 min")],
)  # fmt: skip
def test_age_text(seconds: int, text: str) -> None:
    assert age_text(seconds) == text
