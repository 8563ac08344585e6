"""A whole visit run from the field app on two phones against the live server, and the
legal bundle it ends in: sign in, depart, both arrive (the first phone at the door starts the
recording), a photo from the corpus through the camera's file input, a receipt signed on the
screen with a photo of the slip, a recording of at least three segments that the server
judges continuous and covering the visit, both leave (the recording stops once both have
left), the report filed on one phone and co-signed on the other, return; then the visit's
bundle verifies with its own ``verify.py``.

Then the offline case (check-in, photo and recording segments captured with the network
off, the page reloaded: everything arrives once, in capture order) and a network cut in the
middle of a segment's upload (tus resumes it; the stored segment's SHA-256 is the one the
phone computed).

Segments are 3 s long here (``FIELDAPP_SEGMENT_SECONDS``) instead of 60, so the test records
three of them in seconds; Chromium's fake microphone plays a tone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from fieldvisit.choices import CheckInKind, UploadStatus, VisitStatus
from fieldvisit.models import AudioSegment, CheckIn, Photo, Receipt, Upload, Visit, VisitReport
from tests.browser.conftest import Browser
from tests.browser.phones import open_app, open_current_stop, phone
from tests.bundles.test_bundles import verify_py
from tests.helpers import (
    CORPUS,
    START,
    World,
    download,
    final_path,
    stored_files,
    unzip,
)

pytestmark = pytest.mark.django_db(transaction=True)

DOOR_PHOTO = "gps_pixel8pro.jpg"  # a Pixel 8 Pro's EXIF GPS: Madrid, far from the door
SLIP_PHOTO = "gps_iphone7.jpg"


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(START, tick=True) as traveller:
        yield traveller


@pytest.fixture
def world(clock: Any, world: Any, settings: Any) -> Any:
    """The fixture world, built once the clock is pinned; recordings cut every 3 s."""
    settings.FIELDAPP_SEGMENT_SECONDS = 3
    return world


def corpus(name: str) -> Path:
    return CORPUS / "images" / name


def eventually(check: Callable[[], Any], seconds: float = 60, what: str = "") -> Any:
    """Poll the database from the test's thread until ``check()`` is truthy."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what or check}"
        time.sleep(0.2)


def click(selector: str) -> Callable[[Any], None]:
    return lambda page: page.click(selector)


def arrive(page: Any) -> None:
    open_current_stop(page)
    page.click("button[data-kind=arrive]")


def draw_signature(page: Any) -> None:
    """A finger's stroke across the signature box."""
    page.locator("#fa-signature").scroll_into_view_if_needed()
    box = page.locator("#fa-signature").bounding_box()
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    page.mouse.move(x + 0.1 * w, y + 0.6 * h)
    page.mouse.down()
    for step in range(1, 20):
        page.mouse.move(x + (0.1 + 0.04 * step) * w, y + (0.6 - 0.3 * (step % 2)) * h, steps=2)
    page.mouse.up()


def test_a_whole_visit_on_two_phones_ends_in_a_bundle_that_verifies(
    world: World, browser: Browser, tmp_path: Path
) -> None:
    stop = world.route.stops.select_related("address", "case").order_by("sequence").first()
    lat, lon = stop.address.lat, stop.address.lon
    phone(browser, "agent_a", lat, lon, "en-US")
    phone(browser, "agent_b", lat + 0.0002, lon, "zh-CN")
    errors: list[str] = []
    browser.do("agent_a", open_app("agent_a", errors, timezone.now()))
    browser.do("agent_b", open_app("agent_b", errors, timezone.now()))

    for actor in ("agent_a", "agent_b"):
        browser.do(actor, click("button[data-kind=depart]"))
    eventually(lambda: CheckIn.objects.filter(kind=CheckInKind.DEPART).count() == 2, what="depart")

    # A is first at the door: A's phone starts recording, then records the arrival.
    def first_arrival(page: Any) -> str:
        arrive(page)
        page.wait_for_selector("#fa-rec-state[data-recording=live]")
        return page.inner_text("#fa-rec-state")

    assert "Recording" in browser.do("agent_a", first_arrival)
    visit = Visit.objects.get(stop=stop)
    eventually(lambda: Visit.objects.get(pk=visit.pk).status == VisitStatus.ARRIVING, what="A")

    def second_arrival(page: Any) -> str:
        arrive(page)
        page.wait_for_selector("#fa-visit[data-visit-status='open']")
        return page.get_attribute("#fa-rec-state", "data-recording")

    assert browser.do("agent_b", second_arrival) == "off"  # one recording: A's phone

    # A photographs the door, the partner in the frame, through the camera's file input.
    def take_photo(page: Any) -> str:
        page.select_option("#fa-photo-kind", "door")
        page.check("#fa-photo-partner")
        page.set_input_files("#fa-photo-input", str(corpus(DOOR_PHOTO)))
        return page.wait_for_selector("#fa-photos li[data-status=delivered]").inner_text()

    shown = browser.do("agent_a", take_photo)
    photo = Photo.objects.get(visit=visit)
    assert photo.file_id == hashlib.sha256(corpus(DOOR_PHOTO).read_bytes()).hexdigest()
    assert (photo.kind, photo.partner_in_frame, photo.agent) == ("door", True, world.agent_a)
    assert "far_from_address" in photo.flags and "taken far from the address" in shown

    # B takes the notice receipt: signed by the debtor on the screen, the slip photographed.
    def take_receipt(page: Any) -> str:
        page.select_option("#fa-receipt-outcome", "signed_by_debtor")
        page.fill("#fa-receipt-signer", stop.case.debtor_name)
        draw_signature(page)
        page.set_input_files("#fa-receipt-photo", str(corpus(SLIP_PHOTO)))
        page.click("#fa-receipt-submit")
        return page.wait_for_selector("#fa-receipts li[data-status=delivered]").inner_text()

    assert "公司已收到" in browser.do("agent_b", take_receipt)
    receipt = Receipt.objects.select_related("signature", "photo").get(visit=visit)
    assert (receipt.outcome, receipt.signer_name) == ("signed_by_debtor", stop.case.debtor_name)
    assert receipt.signature.media_type == "image/png" and receipt.signature.size > 500
    assert receipt.photo_id == hashlib.sha256(corpus(SLIP_PHOTO).read_bytes()).hexdigest()

    # Three segments or more reach the server while the visit goes on.
    eventually(
        lambda: AudioSegment.objects.filter(recording__visit=visit).count() >= 3, 90, "3 segments"
    )

    # A leaves first: A's phone goes on recording until B has left too.
    browser.do("agent_a", click("button[data-kind=leave]"))
    eventually(lambda: CheckIn.objects.filter(kind=CheckInKind.LEAVE).count() == 1, what="A leaves")
    assert (
        browser.do("agent_a", lambda p: p.get_attribute("#fa-rec-state", "data-recording"))
        == "live"
    )
    browser.do("agent_b", click("button[data-kind=leave]"))
    eventually(lambda: Visit.objects.get(pk=visit.pk).status == VisitStatus.CLOSED, what="closed")

    def recording_stopped(page: Any) -> str:
        page.wait_for_selector("#fa-rec-state[data-recording=off]")
        page.wait_for_selector("#fa-rec-backlog[data-count='0']")
        page.wait_for_selector("#fa-sync[data-waiting='0']")
        return page.inner_text("#fa-rec-backlog")

    assert "uploaded" in browser.do("agent_a", recording_stopped)
    agent_a = world.client(world.agent_a)
    recording = agent_a.get(f"/api/v1/visits/{visit.pk}/recording/").json()
    assert len(recording["segments"]) >= 3
    assert {s["format"] for s in recording["segments"]} == {"webm-opus"}  # Chromium's choice
    assert (recording["continuous"], recording["covers_visit"], recording["valid"]) == (
        True,
        True,
        True,
    ), recording

    # A files the report; B reads it on their own phone and co-signs it.
    def file_report(page: Any) -> str:
        page.select_option("#fa-report-outcome", "met_debtor")
        page.fill("#fa-report-notes", "Debtor met at the door; notice served.")
        for box in page.locator("#fa-report input[type=checkbox]").all():
            box.check()
        page.click("#fa-report-submit")
        return page.wait_for_selector(
            "#fa-report-current[data-status=awaiting_cosign]"
        ).inner_text()

    assert "agent_a" in browser.do("agent_a", file_report)

    def cosign(page: Any) -> str:
        page.click("#fa-cosign:not([disabled])")
        return page.wait_for_selector("#fa-report-current[data-status=cosigned]").inner_text()

    assert "两名外访员均已签署" in browser.do("agent_b", cosign)
    report = VisitReport.objects.get(visit=visit)
    assert report.author == world.agent_a and all(report.attestations.values())
    assert Visit.objects.get(pk=visit.pk).status == VisitStatus.REPORTED

    for actor in ("agent_a", "agent_b"):

        def go_back(page: Any) -> None:
            page.click("a.back")
            page.click("button[data-kind=return]")

        browser.do(actor, go_back)
    eventually(lambda: CheckIn.objects.filter(kind=CheckInKind.RETURN).count() == 2, what="return")
    assert world.route.__class__.objects.get(pk=world.route.pk).status == "completed"

    answer = agent_a.get(f"/api/v1/visits/{visit.pk}/").json()
    checks = answer["compliance"]["checks"]
    for name in ("two_agents_together", "recording", "notice_outcome", "report_cosigned"):
        assert checks[name]["ok"], (name, checks[name])

    # The legal team's bundle of this visit verifies with its own verify.py.
    legal = world.client(world.legal, "desk")
    bundle = unzip(download(legal, f"/api/v1/visits/{visit.pk}/bundle/"), tmp_path)
    verified = verify_py(bundle)
    assert verified.returncode == 0, verified.stdout
    assert verified.stdout.strip().endswith("ALL CHECKS PASSED")
    segments = AudioSegment.objects.filter(recording__visit=visit).count()
    names = {p.name for p in (bundle / "evidence").rglob("*") if p.is_file()}
    assert len(names) >= segments + 3  # every segment, the photo, the signature, the slip
    browser.screenshot("agent_a", "visit-done-en")
    browser.screenshot("agent_b", "visit-done-zh")
    assert errors == []
    # Every upload the phone began was completed, each as one segment: none failed or left.
    assert set(Upload.objects.values_list("status", flat=True)) == {UploadStatus.COMPLETED}
    assert Upload.objects.count() == segments


def begin_visit(
    world: World,
    browser: Browser,
    errors: list[str],
    a_without_worker: bool = False,
    b_clock_ahead: dt.timedelta = dt.timedelta(0),
) -> Visit:
    """Both phones signed in, departed and arrived at the first stop; A's phone records.
    ``a_without_worker``: A's context blocks service workers (Playwright cannot intercept a
    request that a service worker could answer). ``b_clock_ahead``: how far B's phone clock
    runs ahead of the server's (and A's)."""
    stop = world.route.stops.select_related("address").order_by("sequence").first()
    lat, lon = stop.address.lat, stop.address.lon
    blocked = {"service_workers": "block"} if a_without_worker else {}
    phone(browser, "agent_a", lat, lon, "en-US", **blocked)
    phone(browser, "agent_b", lat + 0.0002, lon, "en-US")
    for actor in ("agent_a", "agent_b"):
        worker = not (a_without_worker and actor == "agent_a")
        ahead = b_clock_ahead if actor == "agent_b" else dt.timedelta(0)
        now = timezone.now() + ahead
        browser.do(actor, open_app(actor, errors, now, service_worker=worker))
        browser.do(actor, click("button[data-kind=depart]"))
    eventually(lambda: CheckIn.objects.filter(kind=CheckInKind.DEPART).count() == 2, what="depart")
    browser.do("agent_a", arrive)
    browser.do("agent_a", lambda page: page.wait_for_selector("#fa-rec-state[data-recording=live]"))
    visit = Visit.objects.get(stop=stop)
    eventually(lambda: Visit.objects.get(pk=visit.pk).status == VisitStatus.ARRIVING, what="A")
    browser.do("agent_b", arrive)
    eventually(lambda: Visit.objects.get(pk=visit.pk).status == VisitStatus.OPEN, what="open")
    return visit


@pytest.mark.parametrize("closing", ["partner", "own"])
def test_the_recording_goes_on_until_the_phone_clock_is_past_the_partners_leave(
    world: World, browser: Browser, closing: str
) -> None:
    """Two phones' clocks never agree exactly (the server flags a skew only beyond two
    minutes): here B's runs 10 s ahead. A leaves, then B; A's phone learns the visit closed
    from the server within seconds of B's leave, but B stamped that leave 10 s ahead of A's
    clock, and the recording is timed by A's. Stopped at once, it would end, on the record,
    before the last leave, and the visit's recording would not cover it. A's phone records on
    until its own clock is past the last leave.

    ``own``: B leaves first, and A's own leave closes the visit, on a slow network (each read
    of the visit takes 3 s): A's phone reads B's leave before it decides when to stop, rather
    than stopping 2 s after the close while the read is still on its way."""
    errors: list[str] = []
    ahead = dt.timedelta(seconds=10)
    own = closing == "own"
    visit = begin_visit(world, browser, errors, a_without_worker=own, b_clock_ahead=ahead)
    eventually(
        lambda: AudioSegment.objects.filter(recording__visit=visit).exists(), 60, "a segment"
    )

    def slow_visit_reads(page: Any) -> None:
        def slowly(route: Any) -> None:
            time.sleep(3)
            route.continue_()

        page.route(f"**/api/v1/visits/{visit.pk}/", slowly)

    if own:
        browser.do("agent_a", slow_visit_reads)
    order = ("agent_b", "agent_a") if own else ("agent_a", "agent_b")
    for left, actor in enumerate(order, start=1):
        browser.do(actor, click("button[data-kind=leave]"))
        eventually(
            lambda n=left: CheckIn.objects.filter(kind=CheckInKind.LEAVE).count() == n,
            what=f"{actor} leaves",
        )
    eventually(lambda: Visit.objects.get(pk=visit.pk).status == VisitStatus.CLOSED, what="closed")

    def recording_stopped(page: Any) -> None:
        page.wait_for_selector("#fa-rec-state[data-recording=off]", timeout=60_000)
        page.wait_for_selector("#fa-rec-backlog[data-count='0']", timeout=60_000)

    browser.do("agent_a", recording_stopped)
    leave_b = CheckIn.objects.get(agent=world.agent_b, kind=CheckInKind.LEAVE)
    assert leave_b.captured_at - leave_b.received_at > ahead / 2  # B's clock is ahead
    recording = world.client(world.agent_a).get(f"/api/v1/visits/{visit.pk}/recording/").json()
    ends_at = dt.datetime.fromisoformat(recording["ends_at"])
    assert ends_at >= leave_b.captured_at, recording["detail"]
    assert (recording["continuous"], recording["covers_visit"]) == (True, True), recording
    assert errors == []


def backlog_at_least(page: Any, count: int, timeout: float = 30_000) -> None:
    """Wait until ``count`` recording segments wait on the phone to be uploaded."""
    page.wait_for_function(
        "n => Number(document.querySelector('#fa-rec-backlog').dataset.count) >= n",
        arg=count,
        timeout=timeout,
    )


def test_offline_capture_and_reload_arrives_once_in_order(
    world: World, browser: Browser, clock: Any
) -> None:
    errors: list[str] = []
    visit = begin_visit(world, browser, errors)
    eventually(
        lambda: AudioSegment.objects.filter(recording__visit=visit).exists(), 30, "a segment"
    )

    # The network goes: a check-in, a photo and two segments are captured and wait.
    def capture_offline(page: Any) -> dict[str, Any]:
        page.context.set_offline(True)
        page.click("button[data-kind=periodic]")
        page.set_input_files("#fa-photo-input", str(corpus(DOOR_PHOTO)))
        page.wait_for_selector("#fa-photos li[data-status=waiting]")
        page.wait_for_function(
            "() => Number(document.querySelector('#fa-rec-backlog').dataset.count) >= 2"
        )
        page.reload()  # the service worker serves the app; IndexedDB keeps everything
        page.wait_for_selector("#fa-visit")
        # The segment the reload cut short is queued from its saved seconds, and recording
        # goes on in a new one.
        page.wait_for_selector("#fa-rec-state[data-recording=live]")
        page.wait_for_function(
            "() => Number(document.querySelector('#fa-rec-backlog').dataset.count) >= 4"
        )
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("#fa-rec-stop")
        page.wait_for_selector("#fa-rec-state[data-recording=off]")
        waiting = "#fa-outbox-items li"
        return {
            "waiting": page.locator(waiting).count(),
            "kinds": [
                li.get_attribute("data-kind") for li in page.locator("#fa-outbox-items li").all()
            ],
        }

    offline = browser.do("agent_a", capture_offline)
    assert offline["kinds"].count("checkin") == 1 and offline["kinds"].count("photo") == 1
    assert offline["kinds"].count("segment") >= 4
    before = AudioSegment.objects.filter(recording__visit=visit).count()

    # Six minutes later the network is back: everything arrives once, with the server's
    # offline flags (the check-in was captured more than 5 minutes before it was received).
    clock.shift(dt.timedelta(minutes=6))
    server_now = timezone.now()

    def back_online(page: Any) -> None:
        page.clock.set_system_time(server_now)
        page.context.set_offline(False)
        page.wait_for_selector("#fa-sync[data-waiting='0']", timeout=60_000)

    browser.do("agent_a", back_online)
    late = CheckIn.objects.get(agent=world.agent_a, kind=CheckInKind.PERIODIC)
    assert "late_submission" in late.flags
    assert Photo.objects.filter(visit=visit).count() == 1
    segments = list(AudioSegment.objects.filter(recording__visit=visit).order_by("index"))
    assert len(segments) == before + offline["kinds"].count("segment")
    assert [s.index for s in segments] == list(range(len(segments)))  # once each, in order
    assert [s.received_at for s in segments] == sorted(s.received_at for s in segments)
    recording = world.client(world.agent_a).get(f"/api/v1/visits/{visit.pk}/recording/").json()
    assert recording["missing"] == []
    # The reload itself is the only silence on record (a second or two while the page and
    # the microphone came back), never a lost segment.
    assert len(recording["gaps"]) <= 1, recording["gaps"]
    assert set(Upload.objects.values_list("status", flat=True)) == {UploadStatus.COMPLETED}
    assert errors == []


def test_a_segment_upload_cut_mid_way_resumes_after_a_reload(
    world: World, browser: Browser, settings: Any
) -> None:
    """tus PATCHes of 4 KB: the first of a segment goes through, then the connection drops on
    every try; the page is reloaded; the upload resumes at the server's offset (HEAD), with
    no second upload created, and the stored segment is the bytes the phone hashed."""
    settings.FIELDAPP_UPLOAD_CHUNK_BYTES = 4096
    errors: list[str] = []
    visit = begin_visit(world, browser, errors, a_without_worker=True)
    seen: dict[str, Any] = {"patch": 0, "cut": 0, "head": 0, "post": 0, "cutting": False}

    def network(route: Any) -> None:
        method = route.request.method
        seen[method.lower()] = seen.get(method.lower(), 0) + 1
        if method == "PATCH" and seen["cutting"]:
            seen["cut"] += 1
            route.abort("connectionreset")
            return
        if method == "PATCH" and seen["cut"] == 0 and seen["patch"] >= 2:
            seen["cutting"] = True  # the next PATCH and its retries are cut
        route.continue_()

    def cut(page: Any) -> None:
        page.route("**/api/v1/uploads/**", network)
        deadline = time.monotonic() + 60
        while seen["cut"] < 2:
            assert time.monotonic() < deadline, seen
            page.wait_for_timeout(200)

    browser.do("agent_a", cut)
    cut_at = dict(seen)

    def reload_and_resume(page: Any) -> int:
        page.reload()
        page.wait_for_selector("#fa-visit")
        seen["cutting"] = False
        page.wait_for_function(
            "() => Number(document.querySelector('#fa-rec-backlog').dataset.count) >= 1"
        )
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("#fa-rec-stop")
        page.wait_for_selector("#fa-rec-state[data-recording=off]")  # the last one queued
        page.wait_for_selector("#fa-rec-backlog[data-count='0']", timeout=60_000)
        return int(page.get_attribute("#fa-rec-state", "data-segments"))

    recorded = browser.do("agent_a", reload_and_resume)
    assert seen["head"] > cut_at["head"]  # the resumed upload asked the server where it was
    uploads = list(Upload.objects.all())
    segments = AudioSegment.objects.filter(recording__visit=visit)
    failures = [(u.length, u.failure) for u in uploads if u.failure]
    assert len(uploads) == segments.count() == recorded, failures  # resumed, not begun again
    assert {u.status for u in uploads} == {UploadStatus.COMPLETED}
    stored = stored_files()
    for upload in uploads:  # each stored segment is the bytes the phone hashed and declared
        declared = upload.metadata["sha256"]
        assert hashlib.sha256(stored[final_path(declared)]).hexdigest() == declared
    assert any(u.length > 4096 for u in uploads)  # a segment went in more than one PATCH
    assert errors == []


def test_a_segment_the_server_refuses_does_not_break_the_chain(
    world: World, browser: Browser
) -> None:
    """The second segment's bytes are damaged on the way (one byte flipped in its PATCH): the
    server refuses it (hash_mismatch) and keeps nothing of it; the phone keeps it, moves the
    segments queued after it up one place, and the recording goes on: every later segment is
    accepted, with the lost seconds a gap, never a broken chain."""
    errors: list[str] = []
    visit = begin_visit(world, browser, errors, a_without_worker=True)
    patches = {"n": 0}

    def network(route: Any) -> None:
        if route.request.method == "PATCH":
            patches["n"] += 1
            if patches["n"] == 2:
                body = bytearray(route.request.post_data_buffer)
                body[len(body) // 2] ^= 0xFF
                route.continue_(post_data=bytes(body))
                return
        route.continue_()

    def record_four(page: Any) -> int:
        page.route("**/api/v1/uploads/**", network)
        page.wait_for_function(
            "() => Number(document.querySelector('#fa-rec-state').dataset.segments) >= 4",
            timeout=60_000,
        )
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("#fa-rec-stop")
        page.wait_for_selector("#fa-rec-state[data-recording=off]")
        page.wait_for_selector("#fa-rec-backlog[data-count='0']", timeout=60_000)
        return int(page.get_attribute("#fa-rec-state", "data-segments"))

    recorded = browser.do("agent_a", record_four)
    failed = [u for u in Upload.objects.all() if u.status != UploadStatus.COMPLETED]
    assert [u.failure["code"] for u in failed] == ["hash_mismatch"], [u.failure for u in failed]
    indexes = list(
        AudioSegment.objects.filter(recording__visit=visit)
        .order_by("index")
        .values_list("index", flat=True)
    )
    # The chain as the phone left it (the refused one's place taken by the next) is the
    # server's: contiguous, every segment once.
    assert indexes == list(range(recorded))
    recording = world.client(world.agent_a).get(f"/api/v1/visits/{visit.pk}/recording/").json()
    assert recording["missing"] == [] and len(recording["gaps"]) == 1, recording["gaps"]
    assert recording["gaps"][0]["seconds"] >= 2
    assert errors == []
