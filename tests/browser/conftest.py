"""Browser tests: Playwright for Python driving the system's Chromium (Debian's
``/usr/bin/chromium``, or ``CHROMIUM``) against pytest-django's live server.

Playwright's sync API runs an asyncio event loop in the thread that uses it, and Django
refuses database calls from a thread with a running loop. Rather than switch that check off
(``DJANGO_ALLOW_ASYNC_UNSAFE``), Playwright lives in a thread of its own: the test hands it
steps (``browser.do(actor, steps)``) and keeps its own thread for the ORM.

Without a browser the tests skip with one line; on CI (``CI`` set) they fail instead, since
``.ci/run`` installs Chromium. Screenshots go to ``var/test-artifacts/browser/``.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "var" / "test-artifacts" / "browser"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # A fake microphone and camera (a tone and a test pattern), allowed without a prompt: the
    # field app records the visit with getUserMedia and MediaRecorder.
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]
TIMEOUT_MS = 20_000  # per wait; generous for a loaded CI machine, never a fixed sleep

T = TypeVar("T")


def on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def unavailable(reason: str) -> None:
    if on_ci():
        pytest.fail(f"browser tests cannot run on CI: {reason}")
    pytest.skip(reason)


def chromium_path() -> str | None:
    wanted = os.environ.get("CHROMIUM")
    if wanted:
        return wanted if os.access(wanted, os.X_OK) else None
    for candidate in ("/usr/bin/chromium", "chromium", "chromium-browser"):
        found = shutil.which(candidate)
        if found:
            return found
    return None


class Browser:
    """One Chromium, one browser context (cookies, session) per named actor."""

    def __init__(self, executable: str, base_url: str, artifacts: Path) -> None:
        self.base_url = base_url
        self.artifacts = artifacts
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="playwright")
        self._pages: dict[str, Any] = {}
        self._options: dict[str, dict[str, Any]] = {}
        self._call(self._launch, executable)

    def prepare(self, actor: str, **options: Any) -> None:
        """Browser context options for ``actor`` (a phone's viewport, geolocation and its
        permission, locale, ...), given before the actor's first step."""
        assert actor not in self._pages, f"{actor} has already started"
        self._options[actor] = options

    def _call(self, fn: Callable[..., T], *args: Any) -> T:
        return self._thread.submit(fn, *args).result(timeout=180)

    def _launch(self, executable: str) -> None:
        from playwright.sync_api import sync_playwright

        self._playwright = sync_playwright().start()
        self._browser = self._playwright.chromium.launch(
            executable_path=executable, headless=True, args=LAUNCH_ARGS
        )

    def _page(self, actor: str) -> Any:
        if actor not in self._pages:
            options = {"viewport": {"width": 1366, "height": 900}, **self._options.get(actor, {})}
            context = self._browser.new_context(base_url=self.base_url, **options)
            context.set_default_timeout(TIMEOUT_MS)
            self._pages[actor] = context.new_page()
        return self._pages[actor]

    def do(self, actor: str, steps: Callable[[Any], T]) -> T:
        """Run ``steps(page)`` in the browser thread, as ``actor``; on failure, a screenshot
        of what the actor saw is saved before the error propagates."""

        def run() -> T:
            page = self._page(actor)
            try:
                return steps(page)
            except Exception:
                self._screenshot(page, f"FAILED-{actor}")
                raise

        return self._call(run)

    def screenshot(self, actor: str, name: str) -> Path:
        return self._call(lambda: self._screenshot(self._page(actor), name))

    def _screenshot(self, page: Any, name: str) -> Path:
        path = self.artifacts / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        def stop() -> None:
            self._browser.close()
            self._playwright.stop()

        try:
            self._call(stop)
        finally:
            self._thread.shutdown(wait=True)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip (or fail, on CI) before any fixture builds a database or starts a server."""
    if chromium_path() is None:
        unavailable("no Chromium (install Debian's chromium or set CHROMIUM)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        unavailable("Playwright for Python is not installed")


@pytest.fixture
def browser(live_server: Any, request: pytest.FixtureRequest) -> Iterator[Browser]:
    executable = chromium_path()
    assert executable is not None  # pytest_runtest_setup skipped the test otherwise
    artifacts = ARTIFACTS / request.node.name
    shutil.rmtree(artifacts, ignore_errors=True)
    artifacts.mkdir(parents=True)
    session = Browser(executable, live_server.url, artifacts)
    try:
        yield session
    finally:
        session.close()


def sign_in(page: Any, username: str, password: str) -> None:
    """The admin's own login form."""
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_selector("#user-tools")


def choose(page: Any, field_id: str, search: str, option: str) -> None:
    """Pick ``option`` in the admin's autocomplete (select2) widget for ``field_id``."""
    page.click(f"#{field_id} + .select2 .select2-selection")
    page.fill(".select2-container--open .select2-search__field", search)
    page.click(f".select2-results__option:has-text({option!r})")
    page.wait_for_selector(f"#{field_id} option:checked:has-text({option!r})", state="attached")
