"""The main admin pages as a Chinese supervisor, planner and lawyer see them: the browser
speaks zh-CN, every page (including what its scripts draw: the operations board, the maps)
reads in Chinese with no English of ours left, and each is kept as a screenshot
(var/test-artifacts/browser/zh-*.png) at 1366 x 768."""

from __future__ import annotations

from typing import Any

from fieldvisit.actions.auth import issue_token
from fieldvisit.models import Alert, ContactPoint
from tests.browser.conftest import Browser, sign_in
from tests.browser.test_workspace import raise_panic_over_http
from tests.factories import PASSWORD
from tests.helpers import World
from tests.i18n.english import data_values, english_left
from tests.i18n.test_catalog import catalogue

SCREEN = {"width": 1366, "height": 768}
CHINESE = {"viewport": SCREEN, "locale": "zh-CN"}


def our_words() -> set[str]:
    return {e.msgid for e in catalogue("django") if e.msgid.isalpha() and len(e.msgid) > 2}


def test_the_main_admin_pages_in_chinese(world: World, browser: Browser) -> None:
    ContactPoint.objects.create(user=world.agent_b, kind="mobile", value="13800138000")
    token, _ = issue_token(world.agent_a, "phone-a", "agent A's phone", "android")
    raised = raise_panic_over_http(browser.base_url, token)
    alert = Alert.objects.get(pk=raised["id"])
    for actor in ("supervisor", "planner", "legal"):
        browser.prepare(actor, **CHINESE)
    users = {"supervisor": world.supervisor, "planner": world.planner, "legal": world.legal}
    panic = f"/admin/fieldvisit/alert/{alert.pk}/change/"
    route = f"/admin/fieldvisit/route/{world.route.pk}/change/"
    pages = [
        ("supervisor", "zh-1-home", "/admin/", "#fv-daily"),
        ("supervisor", "zh-2-panic", panic, "#fv-alert-top"),
        ("supervisor", "zh-3-alerts", "/admin/fieldvisit/alert/", "#result_list"),
        ("supervisor", "zh-4-operations", "/admin/operations/", "#fv-teams tr[data-team]"),
        ("supervisor", "zh-5-route", route, "#content"),
        ("planner", "zh-6-propose", "/admin/fieldvisit/route/propose/", "#id_date"),
        ("planner", "zh-7-import", "/admin/fieldvisit/case/import/", "#content"),
        ("legal", "zh-8-cases", "/admin/fieldvisit/case/", "#result_list"),
    ]  # fmt: skip
    signed_in: set[str] = set()
    shown: dict[str, dict[str, Any]] = {}
    for actor, name, url, ready in pages:

        def visit(page: Any, url: str = url, ready: str = ready, actor: str = actor) -> dict:
            if actor not in signed_in:
                sign_in(page, users[actor].username, PASSWORD)
                signed_in.add(actor)
            page.goto(url)
            page.wait_for_selector(ready)
            page.wait_for_timeout(300)  # the scripts' first drawing
            return {
                "lang": page.evaluate("document.documentElement.lang"),
                "html": page.content(),
                "text": page.inner_text("body"),
            }

        shown[name] = browser.do(actor, visit)
        browser.screenshot(actor, name)
    data, ours = data_values(), our_words()
    for name, page in shown.items():
        assert page["lang"] == "zh-hans", name
        assert not english_left(page["html"], ours, data), (
            name,
            english_left(page["html"], ours, data),
        )
    assert "今日工作" in shown["zh-1-home"]["text"]
    assert "紧急求助" in shown["zh-2-panic"]["text"]
    assert "确认" in shown["zh-2-panic"]["text"]
