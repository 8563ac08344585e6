"""The supervisors' workspace in a real browser: a planner builds a route in admin and
submits it, the supervisor approves it (the route's map drawn without any tile server), and
a panic raised through the API appears on the live operations dashboard without a reload.

Screenshots of each step are saved under ``var/test-artifacts/browser/<test>/``.
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.request
import uuid
from typing import Any

import pytest
from django.utils import timezone

from fieldvisit.actions.auth import issue_token
from fieldvisit.choices import AlertKind, CheckInKind, RouteStatus, VisitStatus
from fieldvisit.models import Alert, CheckIn, Route, Visit
from tests.browser.conftest import Browser, choose, sign_in
from tests.factories import PASSWORD
from tests.helpers import World, today

pytestmark = pytest.mark.django_db(transaction=True)

NOTE = "Two men blocking the stairwell"


def raise_panic_over_http(base_url: str, token: str) -> dict[str, Any]:
    """What the agent's phone does: POST /api/v1/alerts/panic/ to the running server."""
    payload = {
        "id": str(uuid.uuid4()),
        "lat": 31.2311,
        "lon": 121.4742,
        "captured_at": timezone.now().isoformat(),
        "note": NOTE,
    }
    request = urllib.request.Request(  # noqa: S310 - the live test server, over http
        f"{base_url}/api/v1/alerts/panic/",
        data=json.dumps(payload).encode(),
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        assert response.status == 201
        return json.loads(response.read())


def test_plan_approve_and_see_a_panic_live(world: World, browser: Browser) -> None:
    tomorrow = today() + dt.timedelta(days=1)
    case, address = world.cases[3], world.addresses[3]  # not on today's route

    # 1. The planner drafts tomorrow's route with one stop, then submits it.
    def draft(page: Any) -> str:
        sign_in(page, world.planner.username, PASSWORD)
        page.goto("/admin/fieldvisit/route/add/")
        choose(page, "id_team", "Huang", "Huangpu")
        page.fill("#id_date", tomorrow.isoformat())
        page.fill("#id_stops-0-sequence", "1")
        choose(page, "id_stops-0-case", case.number, case.number)
        choose(page, "id_stops-0-address", case.number, address.text)
        page.click("input[name=_continue]")
        page.wait_for_selector(".messagelist .success")
        return page.url.removeprefix(browser.base_url)

    route_url = browser.do("planner", draft)
    route = Route.objects.get(team=world.team, date=tomorrow)
    assert (route.status, route.planned_by) == (RouteStatus.DRAFT, world.planner)
    assert [(s.sequence, s.address_id) for s in route.stops.all()] == [(1, address.pk)]

    def submit(page: Any) -> None:
        page.click("button:has-text('Submit for approval')")
        page.wait_for_selector(".messagelist .success:has-text('submitted for approval')")

    browser.do("planner", submit)
    browser.screenshot("planner", "1-planner-submitted")
    route.refresh_from_db()
    assert route.status == RouteStatus.SUBMITTED

    # 2. The supervisor approves it; the route's map draws its stop with no tiles configured.
    def approve(page: Any) -> int:
        sign_in(page, world.supervisor.username, PASSWORD)
        page.goto(route_url)
        page.click("a:has-text('Approve or reject')")
        page.fill("#id_comment", "Address checked against the case file.")
        page.click("input[name=_approve]")
        page.wait_for_selector(".messagelist .success:has-text('approved')")
        page.wait_for_selector("#fv-map[data-drawn='1']")
        return page.locator("#fv-map path.fv-marker-stop").count()

    assert browser.do("supervisor", approve) == 1
    browser.screenshot("supervisor", "2-supervisor-approved-with-map")
    route.refresh_from_db()
    assert (route.status, route.decided_by) == (RouteStatus.APPROVED, world.supervisor)

    # 3. The supervisor opens the dashboard from the admin index; a panic comes in.
    def open_dashboard(page: Any) -> str:
        page.goto("/admin/")
        page.click("a:has-text('Live operations')")
        page.wait_for_selector("#fv-teams tr[data-team]")
        page.evaluate("window.fvSamePage = true")  # gone if the page reloads
        return page.text_content("#fv-panics")

    assert browser.do("supervisor", open_dashboard) == "0"
    browser.screenshot("supervisor", "3-dashboard-before-panic")

    token, _ = issue_token(world.agent_a, "phone-a", "agent A's phone", "android")
    raised = raise_panic_over_http(browser.base_url, token)

    def see_panic(page: Any) -> dict[str, Any]:
        alert = page.wait_for_selector(f"#fv-teams li.fv-alert-panic:has-text({NOTE!r})")
        return {
            "same_page": page.evaluate("window.fvSamePage === true"),
            "live": page.get_attribute("#fv-updated", "data-live"),
            "panics": page.text_content("#fv-panics"),
            "row_class": page.get_attribute("#fv-teams tr:has(li.fv-alert-panic)", "class"),
            "link": alert.eval_on_selector("a", "a => a.getAttribute('href')"),
            "title": page.title(),
        }

    seen = browser.do("supervisor", see_panic)
    browser.screenshot("supervisor", "4-dashboard-shows-panic")
    assert seen["same_page"] is True  # picked up by polling, not a reload
    assert (seen["live"], seen["panics"], seen["row_class"]) == ("on", "1", "fv-panic")
    assert seen["link"] == f"/admin/fieldvisit/alert/{raised['id']}/change/"
    assert seen["title"].startswith("(1 panic)")
    alert = Alert.objects.get(pk=raised["id"])
    assert (alert.kind, alert.team, alert.raised_by) == (
        AlertKind.PANIC,
        world.team,
        world.agent_a,
    )
    shots = sorted(p.name for p in browser.artifacts.glob("*.png"))
    assert shots == [
        "1-planner-submitted.png",
        "2-supervisor-approved-with-map.png",
        "3-dashboard-before-panic.png",
        "4-dashboard-shows-panic.png",
    ]


def test_visit_map_draws_geofence_and_checkins_when_tiles_fail(
    world: World, browser: Browser, settings: Any
) -> None:
    # A tile server that refuses connections: the positions must still be drawn.
    settings.MAP_TILE_URL = "http://127.0.0.1:9/{z}/{x}/{y}.png"
    stop = world.route.stops.select_related("address").order_by("sequence").first()
    visit = Visit.objects.get(stop=stop)  # made with the stop's notice at approval
    Visit.objects.filter(pk=visit.pk).update(status=VisitStatus.OPEN, opened_at=timezone.now())
    for n, agent in enumerate((world.agent_a, world.agent_b)):
        CheckIn.objects.create(  # recorded as the check-in action would: the map is the subject
            id=uuid.uuid4(),
            route=world.route,
            stop=stop,
            visit=visit,
            agent=agent,
            device_id=f"phone-{n}",
            kind=CheckInKind.ARRIVE,
            lat=stop.address.lat + 0.0002 * n,
            lon=stop.address.lon,
            accuracy_m=12,
            captured_at=timezone.now(),
            received_at=timezone.now(),
            request_sha256="0" * 64,
        )

    def look(page: Any) -> dict[str, int]:
        sign_in(page, world.supervisor.username, PASSWORD)
        page.goto(f"/admin/fieldvisit/visit/{visit.pk}/change/")
        page.wait_for_selector("#fv-map[data-drawn='3']")
        page.hover("#fv-map path.fv-marker-checkin >> nth=0")
        page.wait_for_selector(".leaflet-tooltip:has-text('agent_a')")
        return {
            kind: page.locator(f"#fv-map path.fv-marker-{kind}").count()
            for kind in ("address", "checkin")
        } | {"circles": page.locator("#fv-map path.leaflet-interactive").count()}

    drawn = browser.do("supervisor", look)
    browser.screenshot("supervisor", "visit-map-without-tiles")
    assert (drawn["address"], drawn["checkin"]) == (1, 2)
    assert drawn["circles"] == 4  # the three markers and the geofence
