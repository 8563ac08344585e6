"""The admin pages a supervisor and a planner read first, at 1366 x 768 (a common office
laptop): screenshots kept as test artefacts (var/test-artifacts/browser/), and what must be
seen without scrolling checked by its position on the screen."""

from __future__ import annotations

from typing import Any

from fieldvisit.actions.auth import issue_token
from fieldvisit.models import Alert, ContactPoint
from tests.browser.conftest import Browser, sign_in
from tests.browser.test_workspace import raise_panic_over_http
from tests.factories import PASSWORD
from tests.helpers import World

SCREEN = {"width": 1366, "height": 768}


def above_the_fold(page: Any, selector: str) -> bool:
    box = page.locator(selector).first.bounding_box()
    return box is not None and box["y"] + box["height"] <= SCREEN["height"]


def test_the_supervisors_first_pages_at_a_glance(world: World, browser: Browser) -> None:
    ContactPoint.objects.create(user=world.agent_b, kind="mobile", value="13800138000")
    token, _ = issue_token(world.agent_a, "phone-a", "agent A's phone", "android")
    raised = raise_panic_over_http(browser.base_url, token)
    alert = Alert.objects.get(pk=raised["id"])
    browser.prepare("supervisor", viewport=SCREEN)
    browser.prepare("planner", viewport=SCREEN)

    def home(page: Any) -> list[str]:
        sign_in(page, world.supervisor.username, PASSWORD)
        page.goto("/admin/")
        return page.locator("#fv-daily th a").all_inner_texts()

    links = browser.do("supervisor", home)
    browser.screenshot("supervisor", "glance-1-home")
    assert {"Routes waiting for approval", "Live operations", "Open alerts"} <= set(links)

    def panic_page(page: Any) -> dict[str, Any]:
        page.goto(f"/admin/fieldvisit/alert/{alert.pk}/change/")
        page.wait_for_selector("#fv-alert-top")
        return {
            "acknowledge": above_the_fold(page, "#fv-alert-top input[name=_acknowledge]"),
            "call": above_the_fold(page, "#fv-alert-top .fv-call"),
            "tel": page.locator("#fv-alert-top a[href='tel:13800138000']").count(),
            "text": page.inner_text("#fv-alert-top"),
        }

    shown = browser.do("supervisor", panic_page)
    browser.screenshot("supervisor", "glance-2-panic")
    assert shown["acknowledge"] and shown["call"], shown
    assert shown["tel"] == 1
    assert "CST" in shown["text"]  # the time says its zone
    assert "{#" not in shown["text"] and "#}" not in shown["text"]

    def acknowledge(page: Any) -> str:
        page.click("#fv-alert-top input[name=_acknowledge]")
        page.wait_for_selector(".messagelist .success")
        return page.url

    browser.do("supervisor", acknowledge)
    alert.refresh_from_db()
    assert (alert.status, alert.acknowledged_by, alert.acknowledged_via) == (
        "acknowledged",
        world.supervisor,
        "admin",
    )

    def operations(page: Any) -> None:
        page.goto("/admin/operations/")
        page.wait_for_selector("#fv-teams tr[data-team]")

    browser.do("supervisor", operations)
    browser.screenshot("supervisor", "glance-3-operations")

    def propose(page: Any) -> str:
        sign_in(page, world.planner.username, PASSWORD)
        page.goto("/admin/")
        page.click("#fv-daily a:has-text('Propose a route')")
        page.wait_for_selector("#id_date[type=date]")
        return page.url

    assert browser.do("planner", propose).endswith("/admin/fieldvisit/route/propose/")
    browser.screenshot("planner", "glance-4-propose")
