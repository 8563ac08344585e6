"""POST /api/v1/routes/{id}/change-requests/ and GET /api/v1/change-requests/{id}/.

An agent of the route's team asks to add, skip or reorder stops of an approved route; the
change takes effect only when a supervisor approves it (maker-checker). Phones retry freely,
so the same ``id`` with the same body answers the existing record.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from fieldvisit.actions.routes import decide_change
from fieldvisit.choices import RouteStatus, StopStatus
from fieldvisit.models import LedgerEntry, RouteChangeRequest, Stop, Visit
from fieldvisit.rules import RuleViolation
from tests import factories
from tests.helpers import assert_problem, today


def create_url(route_id) -> str:
    return f"/api/v1/routes/{route_id}/change-requests/"


def detail_url(change_id) -> str:
    return f"/api/v1/change-requests/{change_id}/"


def stops_of(route) -> list[Stop]:
    return list(route.stops.order_by("sequence"))


def add(address) -> dict[str, str]:
    return {"case": str(address.case_id), "address": str(address.pk)}


def change(**fields: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "reason": "Debtor moved next door", **fields}


def requested_entries(world) -> int:
    return LedgerEntry.objects.filter(
        kind="route_change.requested", subject=f"route:{world.route.pk}"
    ).count()


@pytest.fixture
def agent_a(world):
    return world.client(world.agent_a)


# --- creating ----------------------------------------------------------------------------


def test_agent_requests_a_change(world, agent_a):
    second = stops_of(world.route)[1]
    body = change(add_stops=[add(world.addresses[3])], skip_stops=[str(second.pk)])

    response = agent_a.post(create_url(world.route.pk), body, format="json")

    assert response.status_code == 201
    answer = response.json()
    assert answer["id"] == body["id"]
    assert answer["status"] == "pending"
    assert answer["route"] == str(world.route.pk)
    assert answer["reason"] == "Debtor moved next door"
    assert answer["add_stops"] == [add(world.addresses[3])]
    assert answer["skip_stops"] == [str(second.pk)]
    assert answer["decided_by"] is None
    assert answer["comment"] == ""
    record = RouteChangeRequest.objects.get(pk=body["id"])
    assert record.requested_by == world.agent_a
    assert record.route == world.route
    # Nothing changes on the route before a supervisor approves.
    assert [s.status for s in stops_of(world.route)] == ["planned"] * 3
    entry = LedgerEntry.objects.get(kind="route_change.requested")
    assert entry.subject == f"route:{world.route.pk}"


def test_the_same_id_and_body_again_answers_the_same_record(world, agent_a):
    body = change(skip_stops=[str(stops_of(world.route)[0].pk)])
    created = agent_a.post(create_url(world.route.pk), body, format="json")

    again = agent_a.post(create_url(world.route.pk), body, format="json")

    assert created.status_code == 201
    assert again.status_code == 200
    assert again.json() == created.json()
    assert RouteChangeRequest.objects.filter(pk=body["id"]).count() == 1
    assert requested_entries(world) == 1


def test_the_same_id_from_another_device_of_the_same_agent_is_a_retry(world, agent_a):
    body = change(skip_stops=[str(stops_of(world.route)[0].pk)])
    agent_a.post(create_url(world.route.pk), body, format="json")

    tablet = world.client(world.agent_a, device="tablet")
    assert tablet.post(create_url(world.route.pk), body, format="json").status_code == 200


def test_the_same_id_with_a_different_body_is_id_conflict(world, agent_a):
    first, second, _ = stops_of(world.route)
    body = change(skip_stops=[str(first.pk)])
    agent_a.post(create_url(world.route.pk), body, format="json")

    other = {**body, "skip_stops": [str(second.pk)]}
    assert_problem(
        agent_a.post(create_url(world.route.pk), other, format="json"), 409, "id_conflict"
    )
    reason = {**body, "reason": "Another reason"}
    assert_problem(
        agent_a.post(create_url(world.route.pk), reason, format="json"), 409, "id_conflict"
    )

    record = RouteChangeRequest.objects.get(pk=body["id"])
    assert record.skip_stops == [str(first.pk)]
    assert record.reason == "Debtor moved next door"
    assert requested_entries(world) == 1


def test_another_user_reusing_the_id_is_id_conflict(world, agent_a):
    body = change(skip_stops=[str(stops_of(world.route)[0].pk)])
    agent_a.post(create_url(world.route.pk), body, format="json")

    response = world.client(world.agent_b).post(create_url(world.route.pk), body, format="json")

    assert_problem(response, 409, "id_conflict")
    assert RouteChangeRequest.objects.get(pk=body["id"]).requested_by == world.agent_a


def test_a_retry_after_the_decision_answers_the_decided_record(world, agent_a):
    body = change(skip_stops=[str(stops_of(world.route)[0].pk)])
    agent_a.post(create_url(world.route.pk), body, format="json")
    decide_change(uuid.UUID(body["id"]), world.supervisor, approve=True)

    again = agent_a.post(create_url(world.route.pk), body, format="json")

    assert again.status_code == 200
    assert again.json()["status"] == "approved"
    assert requested_entries(world) == 1


def test_outsider_gets_404(world):
    body = change(skip_stops=[str(stops_of(world.route)[0].pk)])

    response = world.client(world.outsider).post(create_url(world.route.pk), body, format="json")

    assert_problem(response, 404, "not_found")
    assert not RouteChangeRequest.objects.exists()


def test_supervisor_may_see_the_route_but_not_request_changes(world):
    body = change(skip_stops=[str(stops_of(world.route)[0].pk)])

    response = world.client(world.supervisor).post(create_url(world.route.pk), body, format="json")

    assert_problem(response, 403, "not_team_member")
    assert not RouteChangeRequest.objects.exists()


def test_legal_planner_and_auditor_get_404(world):
    body = change(skip_stops=[str(stops_of(world.route)[0].pk)])
    for user in (world.legal, world.planner, world.auditor):
        response = world.client(user).post(create_url(world.route.pk), body, format="json")
        assert_problem(response, 404, "not_found")
    assert not RouteChangeRequest.objects.exists()


def test_an_unknown_route_is_404(world, agent_a):
    body = change(skip_stops=[str(stops_of(world.route)[0].pk)])

    assert_problem(agent_a.post(create_url(uuid.uuid4()), body, format="json"), 404, "not_found")


def test_anonymous_gets_401(world, anon):
    body = change(skip_stops=[str(stops_of(world.route)[0].pk)])

    assert_problem(
        anon.post(create_url(world.route.pk), body, format="json"), 401, "not_authenticated"
    )


# --- validation --------------------------------------------------------------------------


def test_a_change_must_change_something(world, agent_a):
    response = agent_a.post(create_url(world.route.pk), change(), format="json")

    body = assert_problem(response, 422, "validation_error")
    assert set(body["errors"]) == {"non_field_errors"}
    assert not RouteChangeRequest.objects.exists()


def test_empty_lists_change_nothing(world, agent_a):
    body = change(add_stops=[], skip_stops=[], order=[])

    assert_problem(
        agent_a.post(create_url(world.route.pk), body, format="json"), 422, "validation_error"
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", "not-a-uuid"),
        ("id", None),
        ("reason", ""),
        ("reason", "x" * 2001),
        ("skip_stops", "not a list"),
        ("skip_stops", ["not-a-uuid"]),
        ("order", ["first", "second"]),
        ("add_stops", [{"case": "x"}]),
        ("add_stops", {"case": "x"}),
    ],
)
def test_malformed_fields_are_validation_errors(world, agent_a, field, value):
    body = change(skip_stops=[str(stops_of(world.route)[0].pk)])
    body[field] = value

    problem = assert_problem(
        agent_a.post(create_url(world.route.pk), body, format="json"), 422, "validation_error"
    )
    assert any(key == field or key.startswith(f"{field}.") for key in problem["errors"])


def test_missing_id_and_reason_are_validation_errors(world, agent_a):
    body = {"skip_stops": [str(stops_of(world.route)[0].pk)]}

    problem = assert_problem(
        agent_a.post(create_url(world.route.pk), body, format="json"), 422, "validation_error"
    )
    assert set(problem["errors"]) == {"id", "reason"}


def test_an_address_of_another_case_is_refused(world, agent_a):
    body = change(
        add_stops=[{"case": str(world.cases[0].pk), "address": str(world.addresses[3].pk)}]
    )

    problem = assert_problem(
        agent_a.post(create_url(world.route.pk), body, format="json"), 422, "validation_error"
    )
    assert set(problem["errors"]) == {"add_stops"}
    assert not RouteChangeRequest.objects.exists()


def test_an_unknown_address_is_refused(world, agent_a):
    body = change(add_stops=[{"case": str(world.cases[3].pk), "address": str(uuid.uuid4())}])

    problem = assert_problem(
        agent_a.post(create_url(world.route.pk), body, format="json"), 422, "validation_error"
    )
    assert set(problem["errors"]) == {"add_stops"}


def test_the_same_address_twice_is_refused(world, agent_a):
    # Accepted twice, the change could never be applied: the route holds each address once.
    body = change(add_stops=[add(world.addresses[3]), add(world.addresses[3])])

    problem = assert_problem(
        agent_a.post(create_url(world.route.pk), body, format="json"), 422, "validation_error"
    )
    assert set(problem["errors"]) == {"add_stops"}
    assert not RouteChangeRequest.objects.exists()


def test_a_case_of_another_team_is_refused(world, agent_a):
    foreign_case = factories.case(world.other_team, world.creditor)
    foreign_address = factories.address(foreign_case)
    body = change(add_stops=[add(foreign_address)])

    problem = assert_problem(
        agent_a.post(create_url(world.route.pk), body, format="json"),
        422,
        "invalid_change_request",
    )
    assert set(problem["errors"]) == {"add_stops"}
    assert foreign_address.text not in problem["errors"]["add_stops"][0]
    assert not RouteChangeRequest.objects.exists()


def test_a_case_of_another_team_is_not_named_in_the_error(world, agent_a):
    foreign_case = factories.case(world.other_team, world.creditor, number="PUDONG-SECRET-1")
    body = change(add_stops=[add(factories.address(foreign_case))])

    response = agent_a.post(create_url(world.route.pk), body, format="json")

    assert response.status_code == 422
    assert b"PUDONG-SECRET-1" not in response.content


def test_an_address_already_on_the_route_is_refused(world, agent_a):
    body = change(add_stops=[add(world.addresses[0])])

    problem = assert_problem(
        agent_a.post(create_url(world.route.pk), body, format="json"),
        422,
        "invalid_change_request",
    )
    assert set(problem["errors"]) == {"add_stops"}


def test_skipping_an_unknown_stop_is_refused(world, agent_a):
    stranger = uuid.uuid4()
    body = change(skip_stops=[str(stops_of(world.route)[0].pk), str(stranger)])

    problem = assert_problem(
        agent_a.post(create_url(world.route.pk), body, format="json"),
        422,
        "invalid_change_request",
    )
    assert set(problem["errors"]) == {"skip_stops"}
    assert str(stranger) in problem["errors"]["skip_stops"][0]
    assert not RouteChangeRequest.objects.exists()


def test_skipping_a_stop_of_another_route_is_refused(world, agent_a):
    other = factories.route(
        world.team, world.planner, today() + dt.timedelta(days=1), [world.addresses[3]]
    )
    body = change(skip_stops=[str(stops_of(other)[0].pk)])

    assert_problem(
        agent_a.post(create_url(world.route.pk), body, format="json"),
        422,
        "invalid_change_request",
    )


def test_skipping_an_already_skipped_stop_is_refused(world, agent_a):
    first = stops_of(world.route)[0]
    body = change(skip_stops=[str(first.pk)])
    agent_a.post(create_url(world.route.pk), body, format="json")
    decide_change(uuid.UUID(body["id"]), world.supervisor, approve=True)

    again = change(skip_stops=[str(first.pk)])
    assert_problem(
        agent_a.post(create_url(world.route.pk), again, format="json"),
        422,
        "invalid_change_request",
    )


@pytest.mark.parametrize("shape", ["missing", "duplicate", "foreign", "includes_skipped"])
def test_an_order_that_is_not_a_permutation_is_invalid_order(world, agent_a, shape):
    first, second, third = (str(s.pk) for s in stops_of(world.route))
    order, skip = {
        "missing": ([third, first], []),
        "duplicate": ([third, first, second, first], []),
        "foreign": ([third, first, second, str(uuid.uuid4())], []),
        "includes_skipped": ([third, second, first], [first]),
    }[shape]

    response = agent_a.post(
        create_url(world.route.pk), change(order=order, skip_stops=skip), format="json"
    )

    assert_problem(response, 422, "invalid_order")
    assert not RouteChangeRequest.objects.exists()


def test_an_order_of_the_remaining_stops_is_accepted(world, agent_a):
    first, second, third = (str(s.pk) for s in stops_of(world.route))

    response = agent_a.post(
        create_url(world.route.pk), change(skip_stops=[first], order=[third, second]), format="json"
    )

    assert response.status_code == 201
    assert response.json()["order"] == [third, second]


def test_a_route_that_is_not_approved_cannot_be_changed(world, agent_a):
    draft = factories.route(
        world.team, world.planner, today() + dt.timedelta(days=1), [world.addresses[3]]
    )
    body = change(skip_stops=[str(stops_of(draft)[0].pk)])

    response = agent_a.post(create_url(draft.pk), body, format="json")

    assert_problem(response, 422, "route_not_approved")
    assert not RouteChangeRequest.objects.exists()


def test_a_completed_route_cannot_be_changed(world, agent_a):
    type(world.route).objects.filter(pk=world.route.pk).update(status=RouteStatus.COMPLETED)
    body = change(skip_stops=[str(stops_of(world.route)[0].pk)])

    assert_problem(
        agent_a.post(create_url(world.route.pk), body, format="json"), 422, "route_not_approved"
    )


# --- reading -----------------------------------------------------------------------------


def test_team_members_and_the_supervisor_read_a_change_request(world, agent_a):
    body = change(skip_stops=[str(stops_of(world.route)[0].pk)])
    agent_a.post(create_url(world.route.pk), body, format="json")

    for user in (world.agent_a, world.agent_b, world.supervisor):
        response = world.client(user).get(detail_url(body["id"]))
        assert response.status_code == 200, user.username
        answer = response.json()
        assert {"id", "status", "decided_by", "comment"} <= answer.keys()
        assert answer["id"] == body["id"]
        assert answer["status"] == "pending"
        assert answer["decided_by"] is None
        assert answer["comment"] == ""


def test_others_get_404_for_a_change_request(world, agent_a):
    body = change(skip_stops=[str(stops_of(world.route)[0].pk)])
    agent_a.post(create_url(world.route.pk), body, format="json")

    for user in (world.outsider, world.legal, world.planner, world.auditor):
        response = world.client(user).get(detail_url(body["id"]))
        assert_problem(response, 404, "not_found")
        assert body["id"].encode() not in response.content


def test_an_unknown_change_request_is_404(world, agent_a):
    assert_problem(agent_a.get(detail_url(uuid.uuid4())), 404, "not_found")


# --- after the supervisor decides --------------------------------------------------------


def test_an_approved_change_is_applied_to_the_route(world, agent_a):
    first, second, third = stops_of(world.route)
    extra = world.addresses[3]
    body = change(
        add_stops=[add(extra)], skip_stops=[str(second.pk)], order=[str(third.pk), str(first.pk)]
    )
    assert agent_a.post(create_url(world.route.pk), body, format="json").status_code == 201

    decide_change(uuid.UUID(body["id"]), world.supervisor, approve=True, comment="fine")

    answer = agent_a.get(detail_url(body["id"])).json()
    assert answer["status"] == "approved"
    assert answer["decided_by"] == "supervisor"
    assert answer["comment"] == "fine"
    assert answer["decided_at"] is not None

    route = agent_a.get(f"/api/v1/routes/{world.route.pk}/").json()
    by_id = {stop["id"]: stop for stop in route["stops"]}
    assert by_id[str(second.pk)]["status"] == "skipped"
    added = [stop for stop in route["stops"] if stop["address"]["text"] == extra.text]
    assert len(added) == 1
    new_stop = added[0]
    assert new_stop["status"] == "planned"
    assert new_stop["case"]["id"] == str(extra.case_id)
    assert new_stop["notice_number"]
    assert new_stop["visit_id"] == str(Visit.objects.get(stop_id=new_stop["id"]).pk)
    numbers = [stop["notice_number"] for stop in route["stops"]]
    assert len(set(numbers)) == 4
    # The requested order, then the skipped stop, then the added one.
    assert [stop["id"] for stop in route["stops"]] == [
        str(third.pk),
        str(first.pk),
        str(second.pk),
        new_stop["id"],
    ]
    assert [stop["sequence"] for stop in route["stops"]] == [1, 2, 3, 4]

    entry = LedgerEntry.objects.get(kind="route_change.approved")
    assert entry.subject == f"route:{world.route.pk}"
    assert body["id"].encode() in bytes(entry.entry_bytes)


def test_a_rejected_change_leaves_the_route_alone(world, agent_a):
    first = stops_of(world.route)[0]
    body = change(add_stops=[add(world.addresses[3])], skip_stops=[str(first.pk)])
    agent_a.post(create_url(world.route.pk), body, format="json")

    decide_change(uuid.UUID(body["id"]), world.supervisor, approve=False, comment="Go anyway")

    answer = agent_a.get(detail_url(body["id"])).json()
    assert (answer["status"], answer["decided_by"], answer["comment"]) == (
        "rejected",
        "supervisor",
        "Go anyway",
    )
    assert [s.status for s in stops_of(world.route)] == [StopStatus.PLANNED] * 3
    assert LedgerEntry.objects.filter(kind="route_change.rejected").count() == 1
    assert not LedgerEntry.objects.filter(kind="route_change.approved").exists()


def test_agents_cannot_decide_changes(world, agent_a):
    body = change(skip_stops=[str(stops_of(world.route)[0].pk)])
    agent_a.post(create_url(world.route.pk), body, format="json")

    with pytest.raises(RuleViolation) as refused:
        decide_change(uuid.UUID(body["id"]), world.agent_a, approve=True)

    assert refused.value.code == "permission_denied"
    assert agent_a.get(detail_url(body["id"])).json()["status"] == "pending"
