"""The field app as a phone: a 360x640 touch context with geolocation, notifications and a
microphone granted, signed in through the app's own form, and the waits its screens need."""

from __future__ import annotations

import datetime as dt
from typing import Any

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.browser.conftest import Browser
from tests.factories import PASSWORD

PHONE = {
    "viewport": {"width": 360, "height": 640},
    "is_mobile": True,
    "has_touch": True,
    "permissions": ["geolocation", "notifications", "microphone"],
}


def phone(
    browser: Browser, actor: str, lat: float, lon: float, locale: str, **options: Any
) -> None:
    browser.prepare(
        actor, **PHONE, geolocation={"latitude": lat, "longitude": lon}, locale=locale, **options
    )


def watch_errors(page: Any) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def open_app(
    username: str, errors: list[str], now: dt.datetime | None = None, service_worker: bool = True
) -> Any:
    """Steps: the phone's clock set to ``now``, the app opened and signed in (and, unless the
    context blocks service workers, controlled by its service worker)."""

    def steps(page: Any) -> str:
        errors.extend(watch_errors(page))
        if now is not None:
            page.clock.install(time=now)
        page.goto("/app/")
        page.wait_for_selector("#fa-signin")
        page.fill("#fa-username", username)
        page.fill("#fa-password", PASSWORD)
        page.click("#fa-signin-submit")
        page.wait_for_selector("#fa-stops li.stop")
        if service_worker:
            page.wait_for_selector("html[data-sw='ready']")  # the worker controls the page
        return page.evaluate("localStorage.getItem('fieldapp.device_id')")

    return steps


def delivered(page: Any, count: int) -> None:
    """Wait until ``count`` records are shown as received and nothing waits."""
    page.wait_for_selector("#fa-sync[data-waiting='0']")
    page.wait_for_function(
        "n => document.querySelectorAll('#fa-sent li[data-status=delivered]').length >= n",
        arg=count,
    )


def open_current_stop(page: Any) -> None:
    """Tap the current stop and wait for its visit screen. A tap that lands just as the route
    list is redrawn (the answer to the last check-in refreshes it) goes to the replaced
    element, as a thumb's would: tap again, as the agent would, up to three times."""
    for _ in range(3):
        page.click("#fa-stops li.current a.button")
        try:
            page.wait_for_selector("#fa-visit", timeout=5_000)
            return
        except PlaywrightTimeoutError:
            continue
    page.wait_for_selector("#fa-visit")
