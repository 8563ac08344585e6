"""Evidence received after the visit closed, or after its review.

Late evidence is accepted (it may be genuine: a phone offline at the door sends later) and
flagged ``late_submission`` with how long after the close it arrived. Anything received after
the review re-opens it: the review stays as recorded, with the verdict it was made on, the
visit waits for a new review, and the supervisors are alerted. Nothing changes silently.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from fieldvisit.actions.reports import review_visit
from fieldvisit.models import Alert, AudioSegment, Photo, Receipt, Visit, VisitReview
from tests import images
from tests.helpers import (
    ZONE,
    audio,
    body,
    cosign,
    file_report,
    iso,
    leave_pair,
    ledger_entries,
    photo_form,
    photos_url,
    post,
    post_form,
    receipts_url,
    signed,
    upload_segment,
)

pytestmark = pytest.mark.django_db(transaction=True)

MINUTE = dt.timedelta(minutes=1)


def visit_url(visit: Any) -> str:
    return f"/api/v1/visits/{visit.pk}/"


def door_photo(visit: Visit, captured: dt.datetime, **fields: Any) -> dict[str, Any]:
    """A door photo with the partner in frame, at the address, taken at ``captured``."""
    address = visit.stop.address
    data = images.jpeg(lat=address.lat, lon=address.lon, taken_at=captured.astimezone(ZONE))
    return photo_form(data, captured_at=iso(captured), lat=address.lat, lon=address.lon, **fields)


@pytest.fixture
def phone_b(world: Any) -> Any:
    return world.client(world.agent_b, "phone-b")


@pytest.fixture
def supervisor(world: Any) -> Client:
    browser = Client()
    browser.force_login(world.supervisor)
    return browser


def close_after(world: Any, clock: Any, visit: Visit, minutes: int) -> dt.datetime:
    """The agents stay ``minutes`` at the door, then both leave; the close time."""
    clock.shift(minutes * MINUTE)
    leave_pair(world, visit.stop)
    visit.refresh_from_db()
    assert visit.closed_at is not None
    return visit.closed_at


def reviewed(world: Any, agent: Any, phone_b: Any, visit: Visit, comment: str) -> VisitReview:
    assert file_report(agent, visit).status_code == 201
    assert cosign(phone_b, visit).status_code == 200
    return review_visit(visit.pk, world.supervisor, comment)


def test_a_door_photo_after_review_reopens_the_review_and_keeps_its_verdict(
    world: Any, clock: Any, visit: Visit, agent: Any, phone_b: Any, supervisor: Client
) -> None:
    """The assessment's case: reviewed with no door photo (failed); then a door photo with
    the partner in frame, ``captured_at`` 35 minutes back, arrives."""
    closed = close_after(world, clock, visit, 40)
    review = reviewed(world, agent, phone_b, visit, "No door photo: door_photo failed.")
    shown = agent.get(visit_url(visit)).json()
    assert shown["compliance"]["checks"]["door_photo"]["ok"] is False
    assert shown["review"]["compliance"]["checks"]["door_photo"]["ok"] is False
    assert shown["review"]["superseded"] is False

    clock.shift(10 * MINUTE)
    response = post_form(agent, photos_url(visit), door_photo(visit, timezone.now() - 35 * MINUTE))

    # Accepted (it may be genuine), but flagged with how late it came.
    assert response.status_code == 201, response.content
    photo = response.json()
    assert photo["flags"] == ["late_submission"]
    received = dt.datetime.fromisoformat(photo["received_at"])
    assert photo["late_by_s"] == pytest.approx((received - closed).total_seconds(), abs=0.01)
    assert photo["late_by_s"] == pytest.approx(600, abs=30)

    # The review stands as recorded, with the verdict it was made on; the visit waits for a
    # new review, and shows what came after the last one.
    shown = agent.get(visit_url(visit)).json()
    assert shown["status"] == "reported"
    assert shown["review"]["id"] == str(review.pk)
    assert shown["review"]["compliance"]["checks"]["door_photo"]["ok"] is False
    assert shown["review"]["compliance"]["ok"] is False
    assert shown["review"]["superseded"] is True
    (after,) = shown["review"]["received_after"]
    assert (after["kind"], after["id"], after["flags"]) == ("photo", photo["id"], photo["flags"])
    assert after["late_by_s"] == photo["late_by_s"]
    # The current verdict counts the photo, and says it is late.
    door = shown["compliance"]["checks"]["door_photo"]
    assert door["ok"] is True
    assert "late_submission" in door["detail"]
    assert VisitReview.objects.get().comment == "No door photo: door_photo failed."

    # The supervisors are alerted, and everything is in the ledger.
    alert = Alert.objects.get(kind="late_evidence")
    assert (alert.visit_id, alert.team_id, alert.status) == (visit.pk, world.team.pk, "open")
    assert alert.raised_by == world.agent_a
    assert photo["id"] in alert.detail
    (added,) = ledger_entries("photo.added")
    assert added["data"]["flags"] == ["late_submission"]
    assert added["data"]["late_by_s"] == photo["late_by_s"]
    (reopened,) = ledger_entries("visit.review_reopened")
    assert reopened["subject"] == f"visit:{visit.pk}"
    assert reopened["data"]["review"] == str(review.pk)
    assert reopened["data"]["received"] == {"kind": "photo", "id": photo["id"]}
    assert reopened["data"]["visit_status"] == {"from": "reviewed", "to": "reported"}
    assert reopened["data"]["alert"] == str(alert.pk)
    raised = [
        e for e in ledger_entries("alert.raised") if e["data"]["alert_kind"] == "late_evidence"
    ]
    assert len(raised) == 1

    # The admin review page shows the review's own verdict and what is pending, and the
    # supervisor reviews again.
    url = reverse("admin:fieldvisit_visit_review", args=[visit.pk])
    assert (
        url
        in supervisor.get(
            reverse("admin:fieldvisit_visit_change", args=[visit.pk])
        ).content.decode()
    )
    html = supervisor.get(url).content.decode()
    assert "pending re-review" in html
    assert photo["id"] in html
    assert "late_submission" in html
    assert "No door photo: door_photo failed." in html
    response = supervisor.post(url, {"comment": "Late door photo checked with the team."})
    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.status == "reviewed"
    first, second = VisitReview.objects.order_by("created_at")
    assert first.pk == review.pk
    assert first.compliance["checks"]["door_photo"]["ok"] is False
    assert second.compliance["checks"]["door_photo"]["ok"] is True
    entries = ledger_entries("visit.reviewed")
    assert [e["data"]["compliance"]["checks"]["door_photo"]["ok"] for e in entries] == [False, True]
    shown = agent.get(visit_url(visit)).json()
    assert shown["review"]["id"] == str(second.pk)
    assert (shown["review"]["superseded"], shown["review"]["received_after"]) == (False, [])


def test_photo_receipt_and_segment_received_after_the_close_are_flagged(
    world: Any, clock: Any, visit: Visit, agent: Any
) -> None:
    began = timezone.now()
    closed = close_after(world, clock, visit, 40)
    clock.shift(20 * MINUTE)

    photo = post_form(agent, photos_url(visit), door_photo(visit, began + 10 * MINUTE))
    receipt = post_form(
        agent, receipts_url(visit), signed(visit, captured_at=iso(began + 20 * MINUTE))
    )
    data = audio("recording_seg0.m4a")
    _, segment = upload_segment(agent, visit, data, started_at=began - MINUTE)

    assert photo.status_code == 201, photo.content
    assert receipt.status_code == 201, receipt.content
    assert segment.status_code == 204, segment.content
    for answer in (photo.json(), receipt.json()):
        assert answer["flags"] == ["late_submission"]
        received = dt.datetime.fromisoformat(answer["received_at"])
        assert answer["late_by_s"] == pytest.approx((received - closed).total_seconds(), abs=0.01)
        assert answer["late_by_s"] == pytest.approx(1200, abs=30)
    stored = AudioSegment.objects.get()
    assert stored.late_by_s == pytest.approx((stored.received_at - closed).total_seconds())
    (shown,) = agent.get(f"/api/v1/visits/{visit.pk}/recording/").json()["segments"]
    assert shown["flags"] == ["late_submission"]
    assert shown["late_by_s"] == stored.late_by_s
    assert Photo.objects.get().late_by_s == photo.json()["late_by_s"]
    assert Receipt.objects.get().late_by_s == receipt.json()["late_by_s"]

    # Ledgered with the flag and how late.
    for kind in ("photo.added", "receipt.recorded", "recording.segment_added"):
        (entry,) = ledger_entries(kind)
        assert entry["data"]["flags"] == ["late_submission"], kind
        assert entry["data"]["late_by_s"] == pytest.approx(1200, abs=30), kind
    # Nothing was reviewed: nothing to re-open.
    assert not Alert.objects.filter(kind="late_evidence").exists()
    assert ledger_entries("visit.review_reopened") == []
    assert Visit.objects.get(pk=visit.pk).status == "closed"


def test_sent_as_the_agents_leave_is_on_time_and_a_capture_after_the_close_is_not_late(
    world: Any, clock: Any, visit: Visit, agent: Any
) -> None:
    closed = close_after(world, clock, visit, 20)
    clock.shift(2 * MINUTE)
    on_the_way_out = post_form(agent, photos_url(visit), door_photo(visit, closed - MINUTE))
    assert on_the_way_out.status_code == 201, on_the_way_out.content
    assert on_the_way_out.json()["flags"] == []
    assert on_the_way_out.json()["late_by_s"] is None

    # Taken an hour after both left and sent at once: the capture is what is wrong with it.
    clock.shift(60 * MINUTE)
    after = post_form(agent, photos_url(visit), door_photo(visit, timezone.now()))
    assert after.status_code == 201, after.content
    assert "late_submission" not in after.json()["flags"]
    assert {"lone_agent", "taken_outside_visit"} <= set(after.json()["flags"])


def test_a_segment_after_review_reopens_it_too(
    world: Any, clock: Any, visit: Visit, agent: Any, phone_b: Any
) -> None:
    began = timezone.now()
    close_after(world, clock, visit, 40)
    review = reviewed(world, agent, phone_b, visit, "No recording.")
    clock.shift(30 * MINUTE)
    _, answer = upload_segment(agent, visit, audio("recording_seg0.m4a"), started_at=began)
    assert answer.status_code == 204, answer.content

    assert Visit.objects.get(pk=visit.pk).status == "reported"
    (reopened,) = ledger_entries("visit.review_reopened")
    segment = AudioSegment.objects.get()
    assert reopened["data"]["received"] == {"kind": "segment", "id": str(segment.pk)}
    assert Alert.objects.get(kind="late_evidence").visit_id == visit.pk
    shown = agent.get(visit_url(visit)).json()
    assert shown["review"]["id"] == str(review.pk)
    assert shown["review"]["compliance"]["checks"]["recording"]["ok"] is False
    (after,) = shown["review"]["received_after"]
    assert (after["kind"], after["id"]) == ("segment", str(segment.pk))


def test_a_second_late_item_before_the_new_review_raises_no_second_alert(
    world: Any, clock: Any, visit: Visit, agent: Any, phone_b: Any
) -> None:
    began = timezone.now()
    close_after(world, clock, visit, 40)
    reviewed(world, agent, phone_b, visit, "Seen.")
    clock.shift(10 * MINUTE)
    first = post_form(agent, photos_url(visit), door_photo(visit, began + MINUTE))
    second = post_form(
        agent, receipts_url(visit), signed(visit, captured_at=iso(began + 2 * MINUTE))
    )
    assert (first.status_code, second.status_code) == (201, 201)
    assert Alert.objects.filter(kind="late_evidence").count() == 1
    assert len(ledger_entries("visit.review_reopened")) == 1
    shown = agent.get(visit_url(visit)).json()
    kinds = [(i["kind"], i["id"]) for i in shown["review"]["received_after"]]
    assert kinds == [("photo", first.json()["id"]), ("receipt", second.json()["id"])]


def test_a_check_in_received_after_review_reopens_it(
    world: Any, clock: Any, visit: Visit, agent: Any, phone_b: Any
) -> None:
    """A leave queued offline (captured during the visit) reaching us after the review."""
    began = timezone.now()
    close_after(world, clock, visit, 40)
    reviewed(world, agent, phone_b, visit, "Seen.")
    clock.shift(20 * MINUTE)
    late = body(world, "leave", visit.stop, captured_at=began + 30 * MINUTE, id=str(uuid.uuid4()))
    response = post(agent, late)
    assert response.status_code == 201, response.content
    assert Visit.objects.get(pk=visit.pk).status == "reported"
    (reopened,) = ledger_entries("visit.review_reopened")
    assert reopened["data"]["received"] == {"kind": "checkin", "id": response.json()["id"]}
    assert Alert.objects.filter(kind="late_evidence", visit=visit).count() == 1


def test_a_photo_committed_before_the_review_is_not_after_it_whatever_its_time_stamp(
    world: Any, clock: Any, visit: Visit, agent: Any, phone_b: Any
) -> None:
    """Order is the order of commits, not of clocks: the photo commits first, stamped a few
    seconds after the review's time (a clock stepped back, another server's clock)."""
    began = timezone.now()
    close_after(world, clock, visit, 40)
    assert file_report(agent, visit).status_code == 201
    assert cosign(phone_b, visit).status_code == 200
    photo = post_form(agent, photos_url(visit), door_photo(visit, began + MINUTE))
    assert photo.status_code == 201, photo.content
    clock.shift(-dt.timedelta(seconds=5))
    review = review_visit(visit.pk, world.supervisor, "Door photo seen.")
    assert review.created_at < dt.datetime.fromisoformat(photo.json()["received_at"])

    shown = agent.get(visit_url(visit)).json()
    assert shown["status"] == "reviewed"
    assert shown["review"]["compliance"]["checks"]["door_photo"]["ok"] is True
    assert (shown["review"]["superseded"], shown["review"]["received_after"]) == (False, [])
    assert not Alert.objects.filter(kind="late_evidence").exists()


def test_a_photo_committed_after_the_review_is_after_it_whatever_its_time_stamp(
    world: Any, clock: Any, visit: Visit, agent: Any, phone_b: Any
) -> None:
    """The photo commits after the review, stamped a few seconds before the review's time:
    it re-opened the review, so it is listed as received after it."""
    began = timezone.now()
    close_after(world, clock, visit, 40)
    review = reviewed(world, agent, phone_b, visit, "No door photo.")
    clock.shift(-dt.timedelta(seconds=5))
    photo = post_form(agent, photos_url(visit), door_photo(visit, began + MINUTE))
    assert photo.status_code == 201, photo.content
    assert review.created_at > dt.datetime.fromisoformat(photo.json()["received_at"])

    shown = agent.get(visit_url(visit)).json()
    assert shown["status"] == "reported"
    assert shown["review"]["compliance"]["checks"]["door_photo"]["ok"] is False
    assert shown["review"]["superseded"] is True
    (after,) = shown["review"]["received_after"]
    assert (after["kind"], after["id"]) == ("photo", photo.json()["id"])
    assert Alert.objects.filter(kind="late_evidence", visit=visit).count() == 1
