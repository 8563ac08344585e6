"""The agents' field app (/app/) on two phones against the live server: sign in, depart,
both arrive (the visit opens; an arrival too far away is refused in words), a periodic
check-in; a check-in captured offline survives a reload and arrives once with the server's
offline flags; the app opens with the network off (service worker); the panic and the
discreet panic reach the supervisors' live dashboard, and a revoked token sends the app back
to sign-in with a clear message.

Phones are 360x640 touch contexts with geolocation granted and set per step. The server's
clock is pinned to a morning (visits are allowed 08:00-21:00 in Shanghai) and each phone's
clock (Playwright's clock) is set to the server's, so captured_at is what the phone says.
Screenshots go to ``var/test-artifacts/browser/<test>/``.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from fieldvisit.actions.auth import revoke_token
from fieldvisit.actions.cases import change_case_status
from fieldvisit.choices import AlertKind, CheckInKind, VisitStatus
from fieldvisit.models import AgentClock, Alert, CheckIn, DeviceToken, Relation, Visit
from tests.browser.conftest import Browser, sign_in
from tests.browser.phones import delivered, open_app, open_current_stop, phone
from tests.factories import PASSWORD
from tests.helpers import START, World

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(START, tick=True) as traveller:
        yield traveller


@pytest.fixture
def world(clock: Any, world: Any) -> Any:
    """The fixture world, built once the clock is pinned (its route is for that day)."""
    return world


def test_two_agents_visit_offline_capture_and_reload(
    world: World, browser: Browser, clock: Any
) -> None:
    stop = world.route.stops.select_related("address", "case").order_by("sequence").first()
    lat, lon = stop.address.lat, stop.address.lon
    stop.address.hazards, stop.address.hazard_notes = ["dog"], "Gate on the left"
    stop.address.save()
    # The third stop's case was put on hold after the route was approved; the first case's
    # guarantor may not be contacted: both are shown on the stop before anyone knocks.
    third = world.route.stops.select_related("case").order_by("sequence")[2]
    change_case_status(
        third.case.pk, status="on_hold", do_not_contact=False, reason="disputed", by=world.planner
    )
    Relation.objects.create(case=stop.case, name="Li Si", kind="guarantor", do_not_contact=True)
    phone(browser, "agent_a", lat, lon, "en-US")
    phone(browser, "agent_b", lat + 0.0002, lon, "zh-CN")
    errors: list[str] = []

    device_a = browser.do("agent_a", open_app("agent_a", errors, timezone.now()))
    browser.do("agent_b", open_app("agent_b", errors, timezone.now()))
    assert device_a.startswith("web-")

    def route_as_shown(page: Any) -> dict[str, Any]:
        first = page.locator("#fa-stops li.stop").first
        return {
            "stops": page.locator("#fa-stops li.stop").count(),
            "current": page.get_attribute("#fa-stops li.current", "data-stop"),
            "text": first.inner_text(),
            "lang": page.get_attribute("html", "lang"),
        }

    shown_a = browser.do("agent_a", route_as_shown)
    shown_b = browser.do("agent_b", route_as_shown)
    browser.screenshot("agent_a", "1-route-en")
    browser.screenshot("agent_b", "1-route-zh")
    assert (shown_a["stops"], shown_a["current"]) == (3, str(stop.id))
    for fact in (stop.case.debtor_name, stop.case.debtor_id_masked, stop.notice_number):
        assert fact in shown_a["text"]
    assert stop.case.debtor_id_number not in shown_a["text"]
    assert "GMT+8" in shown_a["text"]  # the stop's own zone, whatever the phone's
    assert (shown_b["lang"], "债务人" in shown_b["text"]) == ("zh-CN", True)
    # The address's hazards come first on the stop, in the agent's language.
    assert "Careful at this address: dog (Gate on the left)" in shown_a["text"]
    assert "此地址请注意安全: 有狗" in shown_b["text"]
    assert "Li Si (guarantor, do not contact)" in shown_a["text"]

    def third_stop(page: Any) -> str:
        return page.locator("#fa-stops li.stop").nth(2).inner_text()

    assert "Do not visit: the case is on hold (disputed)" in browser.do("agent_a", third_stop)
    assert "请勿外访：个案暂停" in browser.do("agent_b", third_stop)  # noqa: RUF001

    # Depart (A), then both arrive at the first stop: the visit opens.
    def depart(page: Any) -> None:
        page.click("button[data-kind=depart]")
        delivered(page, 1)

    browser.do("agent_a", depart)
    # Out now: the phone's heartbeat reaches the server (battery from the Battery API).
    deadline = time.monotonic() + 15
    while (
        time.monotonic() < deadline
        and not AgentClock.objects.filter(agent=world.agent_a, heartbeat_at__isnull=False).exists()
    ):
        time.sleep(0.2)
    beat = AgentClock.objects.get(agent=world.agent_a)
    assert beat.heartbeat_at is not None and beat.phone_silent_at is not None

    def arrive(page: Any) -> str:
        before = page.locator("#fa-sent li[data-status=delivered]").count()
        open_current_stop(page)
        page.click("button[data-kind=arrive]")
        delivered(page, before + 1)  # this phone's arrival itself, not an earlier record
        page.wait_for_selector(
            "#fa-visit[data-visit-status='arriving'], #fa-visit[data-visit-status='open']"
        )
        return page.get_attribute("#fa-visit", "data-visit-status")

    assert browser.do("agent_a", arrive) == "arriving"

    # B presses Arrive a kilometre away: refused, in words, with what to do next.
    def arrive_too_far(page: Any) -> dict[str, Any]:
        page.context.set_geolocation({"latitude": lat + 0.009, "longitude": lon})
        open_current_stop(page)
        page.click("button[data-kind=arrive]")
        card = page.wait_for_selector("#fa-refusal")
        page.context.set_geolocation({"latitude": lat + 0.0002, "longitude": lon})
        return {"code": card.get_attribute("data-code"), "text": card.inner_text()}

    refused = browser.do("agent_b", arrive_too_far)
    browser.screenshot("agent_b", "2-arrive-refused-zh")
    assert refused["code"] == "too_far_from_address"
    assert "距离外访地址太远" in refused["text"] and "下一步" in refused["text"]

    def arrive_at_the_door(page: Any) -> str:
        page.click("#fa-refusal button")
        page.click("button[data-kind=arrive]")
        page.wait_for_selector("#fa-visit[data-visit-status='open']")
        page.wait_for_selector("#fa-sync[data-waiting='0']")
        return page.get_attribute("#fa-visit", "data-visit-status")

    assert browser.do("agent_b", arrive_at_the_door) == "open"
    browser.screenshot("agent_b", "2-visit-open-zh")
    visit = Visit.objects.get(stop=stop)
    assert visit.status == VisitStatus.OPEN

    # A periodic check-in: the timer counts down to the next one.
    def periodic(page: Any) -> str:
        page.click("button[data-kind=periodic]")
        delivered(page, 3)
        page.wait_for_selector("#fa-timer[data-phase=running]")
        return page.text_content("#fa-timer")

    assert re.fullmatch(r"Next check-in due in (29:\d\d|30:00)", browser.do("agent_a", periodic))

    # Offline: a check-in captured, the page reloaded (the service worker serves the app and
    # IndexedDB keeps the outbox), six minutes pass, the network returns.
    def capture_offline(page: Any) -> dict[str, Any]:
        page.context.set_offline(True)
        page.context.set_geolocation({"latitude": lat + 0.0001, "longitude": lon})
        page.click("button[data-kind=periodic]")
        page.wait_for_function(
            "() => document.querySelectorAll('#fa-outbox-items li[data-kind=checkin]').length == 1"
        )
        page.reload()
        # A's phone records the visit (first to arrive): recording segments wait beside it.
        waiting = "#fa-outbox-items li[data-kind=checkin]"
        page.wait_for_selector(waiting)
        return {
            "waiting": page.locator(waiting).count(),
            "screen": page.get_attribute("body", "data-screen"),
            "id": page.get_attribute(waiting, "data-id"),
        }

    offline = browser.do("agent_a", capture_offline)
    browser.screenshot("agent_a", "3-offline-after-reload")
    assert (offline["waiting"], offline["screen"]) == (1, "visit")
    assert not CheckIn.objects.filter(pk=offline["id"]).exists()

    clock.shift(dt.timedelta(minutes=6))
    server_now = timezone.now()

    def back_online(page: Any) -> str:
        page.clock.set_system_time(server_now)
        page.context.set_offline(False)
        page.wait_for_selector(f"#fa-sent li[data-id='{offline['id']}'][data-status=delivered]")
        return page.text_content(f"#fa-sent li[data-id='{offline['id']}']")

    shown = browser.do("agent_a", back_online)
    browser.screenshot("agent_a", "4-back-online")
    late = CheckIn.objects.get(pk=offline["id"])
    assert (late.kind, late.agent, late.device_id) == (
        CheckInKind.PERIODIC,
        world.agent_a,
        device_a,
    )
    assert "late_submission" in late.flags and "clock_skew" not in late.flags
    assert late.received_at - late.captured_at >= dt.timedelta(minutes=5)
    assert "sent late (captured offline)" in shown
    assert CheckIn.objects.filter(agent=world.agent_a).count() == 4  # depart, arrive, 2 periodic

    # The next report falls due: the phone rings (vibration, notification) and an overdue
    # banner stays until a check-in is sent.
    clock.shift(dt.timedelta(minutes=31))
    later = timezone.now()

    def overdue(page: Any) -> dict[str, Any]:
        page.evaluate(
            """() => {
              window.fvRang = [];
              navigator.vibrate = (pattern) => { window.fvRang.push('vibrate'); return true; };
              ServiceWorkerRegistration.prototype.showNotification = function (title) {
                window.fvRang.push('notify:' + title); return Promise.resolve();
              };
            }"""
        )
        page.clock.set_system_time(later)
        banner = page.wait_for_selector("#fa-banner:not([hidden])")
        shown = {
            "banner": banner.inner_text(),
            "phase": page.get_attribute("#fa-timer", "data-phase"),
            "rang": page.evaluate("window.fvRang"),
        }
        page.click("button[data-kind=periodic]")
        page.wait_for_selector("#fa-banner", state="hidden")
        shown["phase_after"] = page.get_attribute("#fa-timer", "data-phase")
        return shown

    rang = browser.do("agent_a", overdue)
    assert rang["phase"] == "overdue" and "Check-in overdue by" in rang["banner"]
    assert "vibrate" in rang["rang"] and "notify:Check-in due" in rang["rang"]
    assert rang["phase_after"] == "running"
    assert CheckIn.objects.filter(agent=world.agent_a).count() == 5
    assert errors == []


PHONE_STATE = """async () => {
  const request = (r) => new Promise((ok, ko) => { r.onsuccess = () => ok(r.result);
    r.onerror = () => ko(r.error); });
  const db = await request(indexedDB.open("fieldapp"));
  try {
    const tx = db.transaction(["kv", "sent"]);
    const lastSync = await request(tx.objectStore("kv").get("last_sync"));
    const sent = await request(tx.objectStore("sent").getAll());
    return {last_sync: lastSync || null, discreet_settled: sent.some((s) => s.discreet)};
  } finally { db.close(); }
}"""


def phone_state(page: Any) -> dict[str, Any]:
    """What the app keeps on the phone: its "last sync" and whether a discreet panic has its
    answer (IndexedDB, read directly)."""
    return page.evaluate(PHONE_STATE)


def test_panic_and_discreet_panic_reach_the_dashboard(
    world: World, browser: Browser, settings: Any
) -> None:
    settings.OPERATIONS_REFRESH_S = 1  # the dashboard polls every second
    address = world.addresses[0]
    phone(browser, "agent_a", address.lat, address.lon, "en-US")
    errors: list[str] = []
    browser.do("agent_a", open_app("agent_a", errors, timezone.now()))

    def open_dashboard(page: Any) -> str:
        sign_in(page, world.supervisor.username, PASSWORD)
        page.goto("/admin/operations/")
        page.wait_for_selector("#fv-teams tr[data-team]")
        page.evaluate("window.fvSamePage = true")  # gone if the page reloads
        return page.text_content("#fv-panics")

    assert browser.do("supervisor", open_dashboard) == "0"

    # The panic button: a short tap does nothing; a 2-second hold sends.
    def hold_panic(page: Any) -> str:
        box = page.locator("#fa-panic").bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.down()
        page.clock.run_for(300)
        page.mouse.up()
        page.clock.run_for(2500)  # past the hold time: a timer left running would have fired
        assert page.locator("#fa-overlay").is_hidden()
        page.mouse.down()
        page.clock.run_for(2100)
        page.wait_for_selector("#fa-overlay:not([hidden])", timeout=4000)
        page.mouse.up()
        page.wait_for_selector("#fa-overlay h2:has-text('Emergency alert sent')")
        return page.text_content("#fa-overlay")

    assert "supervisor has been alerted" in browser.do("agent_a", hold_panic)
    browser.screenshot("agent_a", "1-panic-sent")

    def panics_seen(count: int) -> Any:
        def steps(page: Any) -> dict[str, Any]:
            page.wait_for_function(
                "n => document.querySelector('#fv-panics').textContent === String(n)", arg=count
            )
            return {
                "same_page": page.evaluate("window.fvSamePage === true"),
                "alerts": page.locator("#fv-teams li.fv-alert-panic").count(),
            }

        return steps

    assert browser.do("supervisor", panics_seen(1)) == {"same_page": True, "alerts": 1}

    # The discreet panic: five quick taps on the clock; the agent's screen does not change,
    # nor does anything the screen may show later ("last sync").
    def discreet(page: Any) -> tuple[str, Any]:
        page.click("#fa-overlay button")  # the agent closed the first alert's dialog
        # The phone's clock stops 70 s on: the clock shown stands still, and a "last sync"
        # written from now on would name another minute than the one kept.
        page.clock.pause_at(page.evaluate("Date.now()") / 1000 + 70)  # seconds
        page.clock.run_for(1000)  # the clock's tick shows the new time
        before = page.evaluate("document.body.innerHTML"), phone_state(page)
        assert before[1]["last_sync"] and not before[1]["discreet_settled"]
        for _ in range(5):
            page.click("#fa-clock")
        return before

    def settled_screen(page: Any) -> tuple[str, Any]:
        # The server has the alert; then the phone has its answer (no fixed sleep: the
        # phone's own record of it).
        deadline = time.monotonic() + 10
        while not phone_state(page)["discreet_settled"]:
            assert time.monotonic() < deadline, "the phone never settled the discreet panic"
            page.wait_for_timeout(100)
        # The steps that followed a settle (its "last sync", the re-render) are a few
        # IndexedDB round trips, not timers (the clock is paused): a moment covers them.
        page.wait_for_timeout(500)
        return page.evaluate("document.body.innerHTML"), phone_state(page)

    before = browser.do("agent_a", discreet)
    seen = browser.do("supervisor", panics_seen(2))
    after = browser.do("agent_a", settled_screen)
    browser.screenshot("agent_a", "2-after-discreet-panic")
    browser.screenshot("supervisor", "3-dashboard-two-panics")
    assert after[1]["discreet_settled"]
    assert before[0] == after[0]
    assert before[1]["last_sync"] == after[1]["last_sync"]
    assert seen["same_page"] is True
    alerts = Alert.objects.filter(kind=AlertKind.PANIC, raised_by=world.agent_a)
    assert sorted(alerts.values_list("discreet", flat=True)) == [False, True]

    # The phone is reported lost: its token is revoked, and the app says so at once.
    revoke_token(DeviceToken.objects.get(user=world.agent_a).pk, world.supervisor, "lost phone")

    def next_call(page: Any) -> str:
        page.reload()
        return page.wait_for_selector("#fa-signin-message").inner_text()

    assert "access was withdrawn" in browser.do("agent_a", next_call)
    browser.screenshot("agent_a", "4-signed-out-after-revocation")
    assert errors == []


def test_the_app_asks_the_server_for_its_own_language(world: World, browser: Browser) -> None:
    """The server's words (a refusal's detail) come in the language the app shows, not the
    phone's: a Chinese phone switched to English asks for English."""
    address = world.addresses[0]
    phone(browser, "agent_a", address.lat, address.lon, "zh-CN")
    asked: list[str | None] = []

    def listen(page: Any) -> None:
        page.on(
            "request",
            lambda r: (
                asked.append(r.headers.get("accept-language")) if "/api/v1/" in r.url else None
            ),
        )

    browser.do("agent_a", listen)
    browser.do("agent_a", open_app("agent_a", [], timezone.now(), service_worker=False))
    assert asked and set(asked) == {"zh-Hans"}, asked
    asked.clear()

    def switch_to_english(page: Any) -> None:
        page.click("#fa-lang")
        page.reload()
        page.wait_for_selector("#fa-stops li.stop")

    browser.do("agent_a", switch_to_english)
    assert asked and set(asked) == {"en"}, asked
