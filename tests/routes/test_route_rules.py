"""Unit tests for fieldvisit.rules.routes: plain data in, a Verdict out, no database.

Each rule gets its failing cases (with the exact code the API answers with) and a passing one.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from fieldvisit.api.errors import status_for
from fieldvisit.choices import ChangeRequestStatus, RouteStatus
from fieldvisit.rules import RuleViolation, Verdict
from fieldvisit.rules import routes as rules
from fieldvisit.rules.qualifications import REQUIRED, Paper, Papers
from fieldvisit.rules.routes import AgentFacts

TODAY = dt.date(2030, 6, 14)
YESTERDAY = TODAY - dt.timedelta(days=1)
TOMORROW = TODAY + dt.timedelta(days=1)
CHECKED = dt.date(2029, 1, 15)


def facts(user_id: int, **overrides: object) -> AgentFacts:
    values: dict[str, object] = {
        "user_id": user_id,
        "active": True,
        "badge_number": f"B{user_id:05d}",
        "background_check_on": CHECKED,
        "papers": Papers(
            documents=tuple(
                Paper(kind, CHECKED, TODAY + dt.timedelta(days=365)) for kind in REQUIRED
            )
        ),
    }
    values.update(overrides)
    return AgentFacts(**values)  # type: ignore[arg-type]


def assert_failed(verdict: Verdict, code: str) -> None:
    assert verdict.ok is False
    assert verdict.code == code
    assert verdict.detail  # every refusal says why, in words


def assert_passed(verdict: Verdict) -> None:
    assert verdict.ok is True
    assert verdict.code == ""


# --- Verdict -------------------------------------------------------------------------------


def test_failed_verdict_raises_rule_violation_with_its_code_and_detail() -> None:
    verdict = Verdict.failed("route_empty", "A route needs at least one stop.")
    with pytest.raises(RuleViolation) as caught:
        verdict.raise_if_failed()
    assert caught.value.code == "route_empty"
    assert caught.value.detail == "A route needs at least one stop."
    assert not hasattr(caught.value, "status")  # the code owns its status (api.errors.CODES)
    assert status_for(caught.value.code) == 422


def test_passed_verdict_does_not_raise() -> None:
    verdict = Verdict.passed("fine")
    assert (verdict.ok, verdict.code, verdict.detail) == (True, "", "fine")
    verdict.raise_if_failed()


# --- transitions ---------------------------------------------------------------------------

ALLOWED = [
    (RouteStatus.DRAFT, RouteStatus.SUBMITTED),
    (RouteStatus.SUBMITTED, RouteStatus.APPROVED),
    (RouteStatus.SUBMITTED, RouteStatus.REJECTED),
    (RouteStatus.APPROVED, RouteStatus.IN_PROGRESS),
    (RouteStatus.APPROVED, RouteStatus.COMPLETED),
    (RouteStatus.IN_PROGRESS, RouteStatus.COMPLETED),
]


@pytest.mark.parametrize(("current", "target"), ALLOWED)
def test_allowed_transitions(current: str, target: str) -> None:
    assert_passed(rules.check_transition(current, target))
    # Plain strings (as read from the database) behave like the enum members.
    assert_passed(rules.check_transition(str(current.value), str(target.value)))


def test_transitions_table_lists_exactly_the_allowed_moves() -> None:
    table = {
        (current, target) for current, targets in rules.TRANSITIONS.items() for target in targets
    }
    assert table == set(ALLOWED)
    assert set(rules.TRANSITIONS) == set(RouteStatus)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (RouteStatus.DRAFT, RouteStatus.APPROVED),  # skipping submission
        (RouteStatus.DRAFT, RouteStatus.REJECTED),
        (RouteStatus.DRAFT, RouteStatus.IN_PROGRESS),
        (RouteStatus.SUBMITTED, RouteStatus.DRAFT),  # no taking back once handed in
        (RouteStatus.SUBMITTED, RouteStatus.SUBMITTED),
        (RouteStatus.APPROVED, RouteStatus.APPROVED),  # deciding twice
        (RouteStatus.APPROVED, RouteStatus.REJECTED),
        (RouteStatus.APPROVED, RouteStatus.DRAFT),  # unfreezing
        (RouteStatus.REJECTED, RouteStatus.APPROVED),
        (RouteStatus.REJECTED, RouteStatus.SUBMITTED),
        (RouteStatus.IN_PROGRESS, RouteStatus.APPROVED),
        (RouteStatus.COMPLETED, RouteStatus.IN_PROGRESS),
        (RouteStatus.COMPLETED, RouteStatus.DRAFT),
        ("unknown", RouteStatus.SUBMITTED),
    ],
)
def test_refused_transitions(current: str, target: str) -> None:
    verdict = rules.check_transition(current, target)
    assert_failed(verdict, "invalid_route_transition")


# --- maker-checker -------------------------------------------------------------------------


def test_planner_cannot_decide_own_route() -> None:
    assert_failed(rules.check_maker_checker(makers={7}, decider_id=7), "maker_checker")


def test_someone_else_may_decide() -> None:
    assert_passed(rules.check_maker_checker(makers={7}, decider_id=8))


@pytest.mark.parametrize("decider", [7, 9, 11])
def test_no_maker_decides_whoever_created_the_route(decider: int) -> None:
    """The makers are everyone who made the plan: its creator (7), whoever changed it while
    it was a draft (9) and whoever submitted it (11)."""
    verdict = rules.check_maker_checker(makers=[7, 9, 11], decider_id=decider)
    assert_failed(verdict, "maker_checker")
    assert "made" in verdict.detail


def test_someone_who_made_none_of_it_may_decide() -> None:
    assert_passed(rules.check_maker_checker(makers=(7, 9, 11), decider_id=8))
    assert_passed(rules.check_maker_checker(makers=(), decider_id=8))


# --- team staffed --------------------------------------------------------------------------


def test_two_qualified_agents_staff_a_team() -> None:
    verdict = rules.check_team_staffed([facts(1), facts(2)], TOMORROW)
    assert_passed(verdict)
    assert verdict.detail == "2 qualified agents"


@pytest.mark.parametrize(
    "agents",
    [
        pytest.param([], id="nobody"),
        pytest.param([facts(1)], id="one agent"),
        pytest.param([facts(1), facts(2, active=False)], id="inactive"),
        pytest.param([facts(1), facts(2, badge_number="")], id="blank badge"),
        pytest.param([facts(1), facts(2, badge_number="   ")], id="whitespace badge"),
        pytest.param([facts(1), facts(2, background_check_on=None)], id="no background check"),
        pytest.param([facts(1), facts(1)], id="same agent twice"),
        pytest.param(
            [
                facts(1, active=False),
                facts(2, badge_number=""),
                facts(3, background_check_on=None),
                facts(4),
            ],
            id="only one of four qualified",
        ),
    ],
)
def test_team_without_two_qualified_agents_is_understaffed(agents: list[AgentFacts]) -> None:
    assert_failed(rules.check_team_staffed(agents, TOMORROW), "team_understaffed")


def test_understaffed_detail_counts_qualified_agents_once() -> None:
    verdict = rules.check_team_staffed([facts(1), facts(1), facts(2, active=False)], TOMORROW)
    assert verdict.detail.startswith("The team has 1 qualified agent(s)")


def test_team_staffed_minimum_is_configurable() -> None:
    agents = [facts(1), facts(2)]
    assert_failed(rules.check_team_staffed(agents, TOMORROW, minimum=3), "team_understaffed")
    assert_passed(rules.check_team_staffed([*agents, facts(3)], TOMORROW, minimum=3))


# --- planned ahead / decided in time -------------------------------------------------------


@pytest.mark.parametrize("route_date", [TODAY, YESTERDAY, TODAY - dt.timedelta(days=30)])
def test_route_for_today_or_the_past_cannot_be_submitted(route_date: dt.date) -> None:
    assert_failed(rules.check_planned_ahead(route_date, TODAY), "route_not_planned_ahead")


def test_route_for_tomorrow_can_be_submitted() -> None:
    assert_passed(rules.check_planned_ahead(TOMORROW, TODAY))
    assert_passed(rules.check_planned_ahead(TODAY + dt.timedelta(days=7), TODAY))


def test_no_decision_once_the_routes_day_has_passed() -> None:
    assert_failed(rules.check_decided_in_time(YESTERDAY, TODAY), "route_date_passed")


@pytest.mark.parametrize("route_date", [TODAY, TOMORROW])
def test_decision_on_or_before_the_routes_day(route_date: dt.date) -> None:
    assert_passed(rules.check_decided_in_time(route_date, TODAY))


# --- stops ---------------------------------------------------------------------------------


def test_route_needs_a_stop() -> None:
    assert_failed(rules.check_route_has_stops(0), "route_empty")
    assert_passed(rules.check_route_has_stops(1))
    assert_passed(rules.check_route_has_stops(12))


def test_ungeocoded_stops_are_named_in_the_refusal() -> None:
    verdict = rules.check_stops_geocoded(["9 Fuzhou Road", "1 Hankou Road"])
    assert_failed(verdict, "address_not_geocoded")
    assert verdict.detail.endswith("1 Hankou Road; 9 Fuzhou Road")


def test_geocoded_stops_pass() -> None:
    assert_passed(rules.check_stops_geocoded([]))


def test_stops_of_another_teams_cases_are_refused() -> None:
    verdict = rules.check_stops_assigned(["C-00009", "C-00002"])
    assert_failed(verdict, "case_not_assigned")
    assert verdict.detail.endswith("C-00002, C-00009")


def test_stops_of_the_teams_own_cases_pass() -> None:
    assert_passed(rules.check_stops_assigned([]))


def test_stops_editable_only_in_draft() -> None:
    assert_passed(rules.check_stops_editable(RouteStatus.DRAFT))
    for status in RouteStatus:
        if status != RouteStatus.DRAFT:
            assert_failed(rules.check_stops_editable(status), "route_frozen")


# --- change requests -----------------------------------------------------------------------


@pytest.mark.parametrize("status", [ChangeRequestStatus.APPROVED, ChangeRequestStatus.REJECTED])
def test_decided_change_request_cannot_be_decided_again(status: str) -> None:
    verdict = rules.check_change_request_decidable(status, requester_id=1, decider_id=2)
    assert_failed(verdict, "change_request_decided")


def test_requester_cannot_decide_own_change_request() -> None:
    verdict = rules.check_change_request_decidable(
        ChangeRequestStatus.PENDING, requester_id=1, decider_id=1
    )
    assert_failed(verdict, "maker_checker")


def test_pending_change_request_decided_by_someone_else() -> None:
    assert_passed(
        rules.check_change_request_decidable(
            ChangeRequestStatus.PENDING, requester_id=1, decider_id=2
        )
    )


@pytest.mark.parametrize("status", [RouteStatus.APPROVED, RouteStatus.IN_PROGRESS])
def test_approved_or_running_route_is_changeable(status: str) -> None:
    assert_passed(rules.check_route_changeable(status))


@pytest.mark.parametrize(
    "status",
    [RouteStatus.DRAFT, RouteStatus.SUBMITTED, RouteStatus.REJECTED, RouteStatus.COMPLETED],
)
def test_unapproved_or_finished_route_is_not_changeable(status: str) -> None:
    assert_failed(rules.check_route_changeable(status), "route_not_approved")


# --- new order -----------------------------------------------------------------------------

A, B, C, D = (uuid.UUID(int=n) for n in range(1, 5))


def test_new_order_may_be_empty() -> None:
    assert_passed(rules.check_new_order([], {A, B, C}))


def test_new_order_is_a_permutation_of_the_open_stops() -> None:
    assert_passed(rules.check_new_order([C, A, B], {A, B, C}))


@pytest.mark.parametrize(
    "order",
    [
        pytest.param([A, B], id="missing a stop"),
        pytest.param([A, B, C, D], id="extra stop"),
        pytest.param([A, A, B, C], id="duplicate"),
        pytest.param([A, B, B], id="duplicate instead of a stop"),
        pytest.param([D], id="foreign stop"),
    ],
)
def test_new_order_that_is_not_a_permutation_is_refused(order: list[uuid.UUID]) -> None:
    assert_failed(rules.check_new_order(order, {A, B, C}), "invalid_order")


# --- notice numbers ------------------------------------------------------------------------

ROUTE_ID = uuid.UUID("0123abcd-4567-89ef-0123-456789abcdef")
OTHER_ROUTE_ID = uuid.UUID("fedcba98-7654-3210-fedc-ba9876543210")


def test_notice_number_format() -> None:
    assert rules.notice_number(TODAY, ROUTE_ID, 1) == "CN-20300614-0123ABCD-001"
    assert rules.notice_number(TODAY, ROUTE_ID, 12) == "CN-20300614-0123ABCD-012"


def test_notice_numbers_unique_and_stable() -> None:
    stops = [uuid.UUID(int=n) for n in range(10, 15)]
    numbers = rules.assign_notice_numbers(TODAY, ROUTE_ID, stops)
    assert list(numbers) == stops
    assert len(set(numbers.values())) == len(stops)
    assert numbers[stops[0]] == "CN-20300614-0123ABCD-001"
    assert numbers[stops[-1]] == "CN-20300614-0123ABCD-005"
    # Stable: the same stops of the same route get the same numbers again.
    assert rules.assign_notice_numbers(TODAY, ROUTE_ID, stops) == numbers
    # Another route's numbers never collide with these.
    other = rules.assign_notice_numbers(TODAY, OTHER_ROUTE_ID, stops)
    assert not set(other.values()) & set(numbers.values())


def test_notice_numbers_continue_after_already_numbered_stops() -> None:
    first = rules.assign_notice_numbers(TODAY, ROUTE_ID, [A, B, C])
    added = rules.assign_notice_numbers(TODAY, ROUTE_ID, [D], already=3)
    assert added == {D: "CN-20300614-0123ABCD-004"}
    assert not set(added.values()) & set(first.values())


def test_no_stops_no_numbers() -> None:
    assert rules.assign_notice_numbers(TODAY, ROUTE_ID, []) == {}


def test_change_still_applies() -> None:
    from fieldvisit.rules.routes import check_change_still_applies

    assert check_change_still_applies(["a"], ["c", "b"], ["a", "b", "c"]).ok
    assert check_change_still_applies([], [], ["a"]).ok
    stale_skip = check_change_still_applies(["a"], [], ["b", "c"])
    assert (stale_skip.ok, stale_skip.code) == (False, "change_request_stale")
    stale_order = check_change_still_applies([], ["a", "b", "c"], ["b", "c"])
    assert (stale_order.ok, stale_order.code) == (False, "change_request_stale")


# --- what a change request may ask for -------------------------------------------------------

TEAM = 7


def test_a_change_request_within_the_route_has_no_errors() -> None:
    added = [rules.AddedStop(D, TEAM, geocoded=True)]
    assert rules.change_request_errors(TEAM, {A, B}, {A, B, C}, [A], added) == {}


def test_a_change_request_names_each_wrong_stop_by_field() -> None:
    added = [
        rules.AddedStop(uuid.UUID(int=9), TEAM + 1, geocoded=True),  # another team's case
        rules.AddedStop(A, TEAM, geocoded=True),  # already on the route
        rules.AddedStop(D, TEAM, geocoded=False),
        rules.AddedStop(uuid.UUID(int=8), TEAM, geocoded=True),
        rules.AddedStop(uuid.UUID(int=8), TEAM, geocoded=True),  # listed twice
    ]
    errors = rules.change_request_errors(TEAM, {A, B}, {A, B, C}, [C], added)
    assert errors == {
        "skip_stops": [f"Not a stop of this route still to be visited: {C}."],
        "add_stops": [
            "Stop 0: this case is not assigned to your team.",
            "Stop 1: the address is already on the route (or listed twice).",
            "Stop 2: the address has no coordinates; the geofence needs them.",
            "Stop 4: the address is already on the route (or listed twice).",
        ],
    }


def test_an_escort_to_a_bank_counter_starts_where_the_debtor_was_met() -> None:
    """行为指引 4: the debtor escorted is the one met at a stop of this route, whose visit has
    begun; the escort is asked for on its own."""
    begun = rules.EscortFrom(begun=True, is_escort=False)
    assert rules.escort_errors(begun, other_changes=False) == {}
    assert "escort" in rules.escort_errors(None, other_changes=False)  # not on this route
    assert "escort" in rules.escort_errors(rules.EscortFrom(False, False), other_changes=False)
    assert "escort" in rules.escort_errors(rules.EscortFrom(True, True), other_changes=False)
    assert "escort" in rules.escort_errors(begun, other_changes=True)
