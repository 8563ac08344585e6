"""The demo data commands: ``seed_demo --json`` (API.md "Demo data") and ``quickstart``."""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid
import zoneinfo
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from fieldvisit import demo
from fieldvisit.choices import Role, RouteStatus
from fieldvisit.models import AgentProfile, LedgerEntry, Route, Stop, Visit
from tests.helpers import today

# The quick start chooses its zone by the hour; these tests are about reuse, in Shanghai.
SHANGHAI = ("--zone", "Asia/Shanghai")
USER_KEYS = {
    "agent_a",
    "agent_b",
    "outsider_agent",
    "planner",
    "supervisor",
    "team_lead",
    "risk_manager",
    "legal",
}
STOP_KEYS = {"id", "visit_id", "case_id", "notice_number", "lat", "lon", "timezone"}


def seed(*args: str) -> tuple[dict[str, Any], str]:
    out = io.StringIO()
    call_command("seed_demo", "--json", *args, stdout=out)
    return json.loads(out.getvalue()), out.getvalue()


@pytest.mark.django_db
def test_seed_demo_prints_one_json_object_with_the_documented_keys() -> None:
    world, raw = seed()

    # Exactly one JSON document on stdout, nothing before or after it.
    decoder = json.JSONDecoder()
    parsed, end = decoder.raw_decode(raw.strip())
    assert end == len(raw.strip())
    assert parsed == world

    assert {"users", "route", "stops"} <= set(world)
    assert set(world["users"]) >= USER_KEYS
    for login in world["users"].values():
        assert set(login) == {"username", "password"}
        assert login["username"]
        assert len(login["password"]) >= 8
    assert set(world["route"]) == {"id", "date"}
    assert world["route"]["date"] == today().isoformat()
    assert len(world["stops"]) >= 3
    for stop in world["stops"]:
        assert set(stop) == STOP_KEYS
        assert isinstance(stop["lat"], float)
        assert isinstance(stop["lon"], float)
        assert stop["timezone"] == "Asia/Shanghai"
        assert stop["notice_number"]
    assert len({s["notice_number"] for s in world["stops"]}) == len(world["stops"])


@pytest.mark.django_db
def test_seed_demo_world_matches_the_database() -> None:
    world, _ = seed()
    route = Route.objects.get(pk=world["route"]["id"])
    assert route.status == RouteStatus.APPROVED
    assert route.date.isoformat() == world["route"]["date"]
    assert route.planned_by.username == world["users"]["planner"]["username"]
    # The risk manager approves routes (seeds: 上门催收个案的确定).
    assert route.decided_by.username == world["users"]["risk_manager"]["username"]

    for item in world["stops"]:
        stop = Stop.objects.select_related("address").get(pk=item["id"])
        assert stop.route_id == route.pk
        assert str(stop.case_id) == item["case_id"]
        assert stop.notice_number == item["notice_number"]
        assert Visit.objects.get(pk=item["visit_id"]).stop_id == stop.pk
        assert (stop.address.lat, stop.address.lon) == (item["lat"], item["lon"])

    def profile(key: str) -> AgentProfile:
        return AgentProfile.objects.get(user__username=world["users"][key]["username"])

    agent_a, agent_b, outsider = profile("agent_a"), profile("agent_b"), profile("outsider_agent")
    assert agent_a.team_id == agent_b.team_id == route.team_id
    assert outsider.team_id is not None
    assert outsider.team_id != agent_a.team_id
    assert all(p.qualified for p in (agent_a, agent_b, outsider))

    def roles(key: str) -> set[str]:
        user = User.objects.get(username=world["users"][key]["username"])
        return set(user.groups.values_list("name", flat=True))

    assert roles("agent_a") == {Role.AGENT}
    assert roles("planner") == {Role.PLANNER}
    assert roles("supervisor") == {Role.SUPERVISOR}
    assert roles("legal") == {Role.LEGAL}
    assert roles("team_lead") == {Role.TEAM_LEAD}
    assert roles("risk_manager") == {Role.RISK_MANAGER}
    assert route.team.lead.username == world["users"]["team_lead"]["username"]
    assert route.team.risk_manager.username == world["users"]["risk_manager"]["username"]
    # Every agent's papers are on file (agent B's credit report runs out within 30 days).
    assert all(p.documents.count() == 3 for p in (agent_a, agent_b, outsider))
    # Planned and approved through the actions: the ledger shows both steps.
    kinds = LedgerEntry.objects.filter(subject=f"route:{route.pk}").values_list("kind", flat=True)
    assert list(kinds) == ["route.submitted", "route.approved"]


@pytest.mark.django_db
def test_seed_demo_passwords_sign_in(settings: Any) -> None:
    # The fixture's fast hasher is what the seeded users were hashed with.
    assert settings.PASSWORD_HASHERS == ["django.contrib.auth.hashers.MD5PasswordHasher"]
    world, _ = seed()
    for key in sorted(USER_KEYS):
        login = world["users"][key]
        response = APIClient().post(
            "/api/v1/auth/token/",
            {
                "username": login["username"],
                "password": login["password"],
                "device_id": f"demo-{key}",
                "device_name": "test phone",
                "platform": "android",
            },
            format="json",
        )
        assert response.status_code == 201, (key, response.content)
        assert response.json()["user"]["username"] == login["username"]
        assert response.json()["token"]

    wrong = APIClient().post(
        "/api/v1/auth/token/",
        {
            "username": world["users"]["agent_a"]["username"],
            "password": world["users"]["agent_a"]["password"] + "x",
            "device_id": "demo-wrong",
            "device_name": "test phone",
            "platform": "android",
        },
        format="json",
    )
    assert wrong.status_code == 401


@pytest.mark.django_db
def test_seed_demo_date() -> None:
    world, _ = seed("--date", "2030-01-02")
    assert world["route"]["date"] == "2030-01-02"
    assert Route.objects.get(pk=world["route"]["id"]).date == dt.date(2030, 1, 2)
    assert Route.objects.get(pk=world["route"]["id"]).status == RouteStatus.APPROVED


@pytest.mark.django_db
def test_seed_demo_bad_date() -> None:
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("seed_demo", "--json", "--date", "02/01/2030", stdout=io.StringIO())


@pytest.mark.django_db
def test_seed_demo_twice_creates_two_independent_worlds() -> None:
    first, _ = seed()
    second, _ = seed()
    first_names = {u["username"] for u in first["users"].values()}
    second_names = {u["username"] for u in second["users"].values()}
    assert not first_names & second_names
    assert first["route"]["id"] != second["route"]["id"]
    assert first["route"]["date"] == second["route"]["date"]
    routes = Route.objects.filter(pk__in=[first["route"]["id"], second["route"]["id"]])
    assert sorted(r.status for r in routes) == [RouteStatus.APPROVED, RouteStatus.APPROVED]
    assert routes[0].team_id != routes[1].team_id
    assert not {s["id"] for s in first["stops"]} & {s["id"] for s in second["stops"]}
    assert not {s["notice_number"] for s in first["stops"]} & {
        s["notice_number"] for s in second["stops"]
    }
    # Both worlds' logins still work.
    for world in (first, second):
        login = world["users"]["agent_a"]
        user = User.objects.get(username=login["username"])
        assert user.check_password(login["password"])


@pytest.mark.django_db
def test_seed_demo_without_json_prints_logins() -> None:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    text = out.getvalue()
    assert f"Demo world with a route on {today().isoformat()}" in text
    assert "agent_a" in text
    assert "supervisor" in text


@pytest.mark.django_db
def test_quickstart_twice_reuses_the_saved_world(settings: Any, tmp_path: Path) -> None:
    settings.STATE_DIR = tmp_path
    first_out = io.StringIO()
    call_command("quickstart", "--no-serve", *SHANGHAI, stdout=first_out)
    saved = tmp_path / "demo-world.json"
    assert saved.exists()
    assert saved.stat().st_mode & 0o777 == 0o600
    world = json.loads(saved.read_text(encoding="utf-8"))
    assert world["route"]["date"] == today().isoformat()
    users = User.objects.count()
    routes = Route.objects.count()

    second_out = io.StringIO()
    call_command("quickstart", "--no-serve", *SHANGHAI, stdout=second_out)
    assert json.loads(saved.read_text(encoding="utf-8")) == world
    assert User.objects.count() == users
    assert Route.objects.count() == routes
    for text in (first_out.getvalue(), second_out.getvalue()):
        assert f"Demo route for {world['route']['date']}" in text
        for login in world["users"].values():
            assert login["username"] in text
            assert login["password"] in text
    assert first_out.getvalue() == second_out.getvalue()


@pytest.mark.django_db
def test_quickstart_rebuilds_a_stale_world(settings: Any, tmp_path: Path) -> None:
    settings.STATE_DIR = tmp_path
    saved = tmp_path / "demo-world.json"
    call_command("quickstart", "--no-serve", *SHANGHAI, stdout=io.StringIO())
    stale = json.loads(saved.read_text(encoding="utf-8"))
    stale["route"]["date"] = "2001-01-01"
    saved.write_text(json.dumps(stale), encoding="utf-8")

    call_command("quickstart", "--no-serve", *SHANGHAI, stdout=io.StringIO())
    fresh = json.loads(saved.read_text(encoding="utf-8"))
    assert fresh["route"]["date"] == today().isoformat()
    assert fresh["route"]["id"] != stale["route"]["id"]
    assert Route.objects.filter(pk=fresh["route"]["id"]).exists()


@pytest.mark.django_db
def test_quickstart_survives_a_corrupt_saved_world(settings: Any, tmp_path: Path) -> None:
    settings.STATE_DIR = tmp_path
    (tmp_path / "demo-world.json").write_text("{not json", encoding="utf-8")
    call_command("quickstart", "--no-serve", *SHANGHAI, stdout=io.StringIO())
    world = json.loads((tmp_path / "demo-world.json").read_text(encoding="utf-8"))
    assert Route.objects.filter(pk=world["route"]["id"]).exists()


# --- The quick start at any hour (issue 22) ------------------------------------------------


@pytest.mark.parametrize("month", [1, 7])  # winter and summer time where there is any
def test_every_hour_of_the_day_has_a_demo_zone_in_visiting_hours(month: int) -> None:
    start = dt.datetime(2026, month, 15, tzinfo=dt.UTC)
    for quarter in range(24 * 4):
        now = start + dt.timedelta(minutes=15 * quarter)
        zone = demo.zone_for(now)
        assert demo.in_visiting_hours(now, zone), (now, zone)
        local = now.astimezone(zoneinfo.ZoneInfo(zone)).time()
        assert dt.time(8) <= local <= dt.time(19), (now, zone, local)


def test_shanghai_is_chosen_whenever_it_is_visiting_time_there() -> None:
    assert demo.zone_for(dt.datetime(2026, 12, 5, 2, 0, tzinfo=dt.UTC)) == "Asia/Shanghai"
    assert demo.zone_for(dt.datetime(2026, 12, 5, 11, 0, tzinfo=dt.UTC)) == "Asia/Shanghai"
    # 19:30 in Shanghai: less than two hours of visiting left there.
    assert demo.zone_for(dt.datetime(2026, 12, 5, 11, 30, tzinfo=dt.UTC)) == "Europe/London"
    assert demo.zone_for(dt.datetime(2026, 12, 5, 20, 0, tzinfo=dt.UTC)) == "America/New_York"


@pytest.mark.django_db
def test_the_quick_start_in_the_american_afternoon_lets_the_agents_arrive(
    settings: Any, tmp_path: Path
) -> None:
    """20:00 UTC is 04:00 in Shanghai and 20:00 in London: the demo is built in New York,
    where it is 15:00, and both agents' arrivals at the first stop are accepted and open the
    visit."""
    settings.STATE_DIR = tmp_path
    with time_machine.travel(dt.datetime(2026, 12, 5, 20, 0, tzinfo=dt.UTC), tick=False):
        out = io.StringIO()
        call_command("quickstart", "--no-serve", stdout=out)
        world = json.loads((tmp_path / "demo-world.json").read_text(encoding="utf-8"))
        assert world["zone"] == "America/New_York"
        assert "Chinatown Manhattan (America/New_York)" in out.getvalue()
        assert "it is 15:00 there now." in out.getvalue()
        stop = world["stops"][0]
        assert (world["route"]["date"], stop["timezone"]) == ("2026-12-05", "America/New_York")
        for key in ("agent_a", "agent_b"):
            api = APIClient()
            login = world["users"][key]
            token = api.post(
                "/api/v1/auth/token/",
                {**login, "device_id": f"{key}-phone", "device_name": "phone", "platform": "web"},
                format="json",
            ).json()["token"]
            api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
            answer = api.post(
                "/api/v1/checkins/",
                {
                    "id": str(uuid.uuid4()),
                    "route": world["route"]["id"],
                    "stop": stop["id"],
                    "kind": "arrive",
                    "lat": stop["lat"],
                    "lon": stop["lon"],
                    "accuracy_m": 8,
                    "captured_at": dt.datetime.now(dt.UTC).isoformat(),
                },
                format="json",
            )
            assert answer.status_code == 201, answer.json()
        assert answer.json()["visit"]["status"] == "open"


@pytest.mark.django_db
def test_a_saved_world_in_another_zone_is_not_reused(settings: Any, tmp_path: Path) -> None:
    settings.STATE_DIR = tmp_path
    call_command("quickstart", "--no-serve", "--zone", "Asia/Shanghai", stdout=io.StringIO())
    first = json.loads((tmp_path / "demo-world.json").read_text(encoding="utf-8"))
    call_command("quickstart", "--no-serve", "--zone", "Europe/London", stdout=io.StringIO())
    second = json.loads((tmp_path / "demo-world.json").read_text(encoding="utf-8"))
    assert (first["zone"], second["zone"]) == ("Asia/Shanghai", "Europe/London")
    assert first["route"]["id"] != second["route"]["id"]
