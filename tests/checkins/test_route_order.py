"""The approved order, and the escort to a bank counter as a change of it (seeds: 行为指引 3,
no change of route without the lead's prior consent; 行为指引 4, a debtor who wants to pay may
be led to the nearest bank counter and pays there in person)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from fieldvisit.actions.routes import decide_change
from fieldvisit.choices import AddressKind, CheckInKind
from fieldvisit.models import Alert, RouteChangeRequest, Stop
from tests.helpers import (
    arrive_pair,
    assert_problem,
    body,
    leave_pair,
    ledger_entries,
    post,
    stops_of,
)

ARRIVE = CheckInKind.ARRIVE
BANK_LAT, BANK_LON = 31.2254, 121.4737  # about 550 m south of the route's first stop


def change_url(world: Any) -> str:
    return f"/api/v1/routes/{world.route.pk}/change-requests/"


def escort_body(stop: Stop, **fields: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "reason": "The debtor wants to pay at the bank counter now.",
        "kind": "bank_escort",
        "escort": {
            "stop": str(stop.pk),
            "bank_name": "ICBC Huangpu branch",
            "bank_address": "300 Nanjing Road East",
            "lat": BANK_LAT,
            "lon": BANK_LON,
        },
        **fields,
    }


def test_escort_to_a_bank_counter_is_a_change_request_that_allows_the_arrival_there(
    world: Any, phone_a: Any, stops: list[Stop]
) -> None:
    """行为指引 4: the agents may lead the debtor to the nearest bank counter. Asked for as a
    change request, approved by someone else like any change (行为指引 3); once approved the
    bank counter is the route's next stop, arrived at in sequence and not counted as a
    second visit to the debtor."""
    arrive_pair(world, stops[0])
    asked = phone_a.post(change_url(world), escort_body(stops[0]), format="json")
    assert asked.status_code == 201, asked.content
    answer = asked.json()
    assert (answer["status"], answer["kind"]) == ("pending", "bank_escort")
    assert answer["escort"]["bank_name"] == "ICBC Huangpu branch"
    (requested,) = ledger_entries("route_change.requested")
    assert requested["data"]["escort"]["stop"] == str(stops[0].pk)

    # Pending: nothing changes, the route still has its three stops.
    assert len(stops_of(world.route)) == 3
    leave_pair(world, stops[0])
    decide_change(uuid.UUID(answer["id"]), world.supervisor, approve=True)

    bank, after = stops_of(world.route)[1:3]
    assert bank.address.kind == AddressKind.BANK
    assert (bank.sequence, bank.escort_of_id, bank.case_id) == (2, stops[0].pk, stops[0].case_id)
    assert bank.notice_number and after.pk == stops[1].pk and after.sequence == 3
    # The stop after it waits for the bank counter, as the approved order now says.
    problem = assert_problem(post(phone_a, body(world, ARRIVE, after)), 422, "out_of_sequence")
    assert "stop(s) 2" in problem["detail"]
    # At the bank, the same day as the visit at the door: in sequence, and within the cap.
    arrive_pair(world, bank)
    assert not Alert.objects.exists()


def test_an_escort_starts_from_a_visit_under_way(world: Any, phone_a: Any, stops: list[Stop]):
    """The debtor escorted is the one met at the door: not a stop nobody has arrived at."""
    problem = assert_problem(
        phone_a.post(change_url(world), escort_body(stops[1]), format="json"),
        422,
        "invalid_change_request",
    )
    assert "escort" in problem["errors"]
    missing = escort_body(stops[0])
    del missing["escort"]
    problem = assert_problem(
        phone_a.post(change_url(world), missing, format="json"), 422, "validation_error"
    )
    assert "escort" in problem["errors"]
    assert not RouteChangeRequest.objects.exists()


def test_a_pending_change_of_order_allows_nothing_until_approved(
    world: Any, phone_a: Any, stops: list[Stop]
) -> None:
    """行为指引 3: the lead's consent comes first; the request alone changes no order."""
    order = [str(stops[2].pk), str(stops[0].pk), str(stops[1].pk)]
    asked = phone_a.post(
        change_url(world),
        {"id": str(uuid.uuid4()), "reason": "Stop 3 is only home mornings", "order": order},
        format="json",
    )
    assert asked.status_code == 201, asked.content
    assert_problem(post(phone_a, body(world, ARRIVE, stops[2])), 422, "out_of_sequence")
    decide_change(uuid.UUID(asked.json()["id"]), world.supervisor, approve=True)
    assert post(phone_a, body(world, ARRIVE, stops[2])).status_code == 201


@pytest.mark.parametrize("kind", ["route", "bank_escort"])
def test_the_change_request_shows_its_kind(world: Any, phone_a: Any, stops: list[Stop], kind):
    arrive_pair(world, stops[0])
    payload = (
        escort_body(stops[0])
        if kind == "bank_escort"
        else {"id": str(uuid.uuid4()), "reason": "closed", "skip_stops": [str(stops[2].pk)]}
    )
    created = phone_a.post(change_url(world), payload, format="json").json()
    shown = phone_a.get(f"/api/v1/change-requests/{created['id']}/").json()
    assert shown["kind"] == kind
    assert (shown["escort"] is None) == (kind == "route")


def test_an_arrival_out_of_order_fails_the_visits_approved_order_check(
    world: Any, phone_a: Any, stops: list[Stop]
) -> None:
    """Kept when queued offline, the break shows in the visit's compliance verdict."""
    answer = post(phone_a, body(world, ARRIVE, stops[1], ago=dt.timedelta(minutes=6)))
    assert answer.status_code == 201, answer.content
    checks = phone_a.get(f"/api/v1/visits/{stops[1].visit.pk}/").json()["compliance"]["checks"]
    assert checks["approved_order"]["ok"] is False
    assert "approved order" in checks["approved_order"]["detail"]


def test_a_supervisor_sees_and_approves_an_escort_in_admin(
    world: Any, phone_a: Any, stops: list[Stop], client: Any
) -> None:
    """The decision page says what the escort is, and approving it there adds the stop."""
    from django.urls import reverse

    arrive_pair(world, stops[0])
    asked = phone_a.post(change_url(world), escort_body(stops[0]), format="json").json()
    client.force_login(world.supervisor)
    url = reverse("admin:fieldvisit_routechangerequest_decide", args=[asked["id"]])
    page = client.get(url).content.decode()
    assert "Escort the debtor of stop 1 to a bank counter: ICBC Huangpu branch" in page
    assert client.post(url, {"comment": "", "_approve": "1"}).status_code == 302
    assert [s.address.kind for s in stops_of(world.route)] == ["home", "bank", "home", "home"]
