"""Rules for planning and approving routes (DESIGN rule 1; seeds: 上门催收个案的确定)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from fieldvisit.choices import ChangeRequestStatus, RouteStatus
from fieldvisit.rules import Verdict
from fieldvisit.rules.qualifications import Papers, check_papers
from fieldvisit.texts import _, format_lazy, pgettext_lazy

MIN_TEAM_SIZE = 2

# Which status a route may move to from which; everything else is refused.
TRANSITIONS: dict[str, set[str]] = {
    RouteStatus.DRAFT: {RouteStatus.SUBMITTED},
    RouteStatus.SUBMITTED: {RouteStatus.APPROVED, RouteStatus.REJECTED},
    RouteStatus.APPROVED: {RouteStatus.IN_PROGRESS, RouteStatus.COMPLETED},
    RouteStatus.IN_PROGRESS: {RouteStatus.COMPLETED},
    RouteStatus.REJECTED: set(),
    RouteStatus.COMPLETED: set(),
}


# A status inside a sentence: in English its code, as the API and the ledger say it; in
# another language the status's own word.
ROUTE_STATUS_WORDS = {
    RouteStatus.DRAFT: pgettext_lazy("route status in a sentence", "draft"),
    RouteStatus.SUBMITTED: pgettext_lazy("route status in a sentence", "submitted"),
    RouteStatus.APPROVED: pgettext_lazy("route status in a sentence", "approved"),
    RouteStatus.REJECTED: pgettext_lazy("route status in a sentence", "rejected"),
    RouteStatus.IN_PROGRESS: pgettext_lazy("route status in a sentence", "in_progress"),
    RouteStatus.COMPLETED: pgettext_lazy("route status in a sentence", "completed"),
}
CHANGE_REQUEST_STATUS_WORDS = {
    ChangeRequestStatus.PENDING: pgettext_lazy("change request status in a sentence", "pending"),
    ChangeRequestStatus.APPROVED: pgettext_lazy("change request status in a sentence", "approved"),
    ChangeRequestStatus.REJECTED: pgettext_lazy("change request status in a sentence", "rejected"),
}


def route_status_word(status: str) -> Any:
    """``status`` as it reads in a sentence (an unknown one as it is)."""
    return ROUTE_STATUS_WORDS.get(status, status)


@dataclass(frozen=True)
class AgentFacts:
    """What qualifies an agent for field work, as the rules need it."""

    user_id: int
    active: bool
    badge_number: str
    background_check_on: dt.date | None
    # None on file unless given: not qualified for a route.
    papers: Papers = field(default_factory=Papers)


def check_transition(current: str, target: str) -> Verdict:
    if target in TRANSITIONS.get(current, set()):
        return Verdict.passed()
    return Verdict.failed(
        "invalid_route_transition",
        format_lazy(
            _("A route that is {current} cannot become {target}."),
            current=route_status_word(current),
            target=route_status_word(target),
        ),
    )


def check_maker_checker(makers: Collection[int], decider_id: int) -> Verdict:
    """Nobody who made a route approves or rejects it (maker-checker): ``makers`` are its
    creator, whoever changed it (its team, date or stops) while it was a draft, and whoever
    submitted it. A user holding both the planner and supervisor roles checks only plans
    they had no hand in."""
    if decider_id in set(makers):
        return Verdict.failed(
            "maker_checker",
            _(
                "Someone who made this route (planned, changed or submitted it) cannot approve "
                "or reject it."
            ),
        )
    return Verdict.passed()


def is_eligible(agent: AgentFacts) -> bool:
    """What every agent's request checks: active, badged, and a background check on file."""
    return bool(agent.active and agent.badge_number.strip() and agent.background_check_on)


def qualification(agent: AgentFacts, on: dt.date) -> Verdict:
    """Qualified for field work on ``on`` (seeds: 外访催收作业人员诚信规定): eligible, and
    every paper in force that day (``rules.qualifications.check_papers``: the proof of no
    criminal record, the credit report, training, an outsourced agent's agency agreement)."""
    if not is_eligible(agent):
        return Verdict.failed(
            "agent_not_qualified",
            _("Not active, without a badge number, or no background check on file."),
        )
    return check_papers(agent.papers, on)


def is_qualified(agent: AgentFacts, on: dt.date) -> bool:
    return qualification(agent, on).ok


def check_team_staffed(
    agents: Sequence[AgentFacts], on: dt.date, minimum: int = MIN_TEAM_SIZE
) -> Verdict:
    """A team needs at least two agents qualified on the route's day: active, badged,
    background-checked, their papers in force. Expired papers keep an agent off new routes."""
    verdicts = [(agent, qualification(agent, on)) for agent in agents]
    qualified = {agent.user_id for agent, verdict in verdicts if verdict.ok}
    if len(qualified) < minimum:
        why = "; ".join(
            f"{agent.badge_number}: {verdict.detail}"
            for agent, verdict in verdicts
            if not verdict.ok and agent.active
        )
        return Verdict.failed(
            "team_understaffed",
            format_lazy(
                _(
                    "The team has {count} qualified agent(s); visits need at least "
                    "{minimum} (active, with a badge number and a background check on"
                    " file, their papers in force on the route's day). {why}"
                ),
                count=len(qualified),
                minimum=minimum,
                why=why,
            ),
        )
    return Verdict.passed(format_lazy(_("{count} qualified agents"), count=len(qualified)))


def check_planned_ahead(route_date: dt.date, today: dt.date) -> Verdict:
    """Routes are planned the day before: a route is submitted before its date."""
    if route_date <= today:
        return Verdict.failed(
            "route_not_planned_ahead",
            format_lazy(
                _("A route for {route_date} had to be submitted before that day ({today} now)."),
                route_date=route_date,
                today=today,
            ),
        )
    return Verdict.passed()


def check_decided_in_time(route_date: dt.date, today: dt.date) -> Verdict:
    """Approval happens before execution: no decisions on routes whose day has passed."""
    if route_date < today:
        return Verdict.failed(
            "route_date_passed",
            format_lazy(_("The route's day ({route_date}) has passed."), route_date=route_date),
        )
    return Verdict.passed()


def check_route_has_stops(stop_count: int) -> Verdict:
    if stop_count < 1:
        return Verdict.failed("route_empty", _("A route needs at least one stop."))
    return Verdict.passed()


def check_stops_geocoded(ungeocoded: Collection[str]) -> Verdict:
    """Every stop's address needs coordinates: the geofence rule is judged against them."""
    if ungeocoded:
        return Verdict.failed(
            "address_not_geocoded",
            format_lazy(
                _("These addresses have no coordinates: {addresses}"),
                addresses="; ".join(sorted(ungeocoded)),
            ),
        )
    return Verdict.passed()


def check_stops_assigned(foreign_cases: Collection[str]) -> Verdict:
    """Every stop's case is assigned to the route's team: agents see only their own team's
    cases (DESIGN rule 12), and a route shows its agents each stop's debtor."""
    if foreign_cases:
        return Verdict.failed(
            "case_not_assigned",
            format_lazy(
                _("These cases are not assigned to the route's team: {cases}"),
                cases=", ".join(sorted(foreign_cases)),
            ),
        )
    return Verdict.passed()


def check_stops_editable(status: str) -> Verdict:
    """An approved route's stops are frozen; only an approved change request alters them."""
    if status != RouteStatus.DRAFT:
        return Verdict.failed(
            "route_frozen",
            _("Stops can only be edited while the route is a draft; request a change instead."),
        )
    return Verdict.passed()


def check_change_request_decidable(status: str, requester_id: int, decider_id: int) -> Verdict:
    if status != ChangeRequestStatus.PENDING:
        return Verdict.failed(
            "change_request_decided",
            format_lazy(
                _("The change request is already {status}."),
                status=CHANGE_REQUEST_STATUS_WORDS.get(status, status),
            ),
        )
    if requester_id == decider_id:
        return Verdict.failed("maker_checker", _("The requester cannot decide their own change."))
    return Verdict.passed()


def check_route_changeable(status: str) -> Verdict:
    if status not in (RouteStatus.APPROVED, RouteStatus.IN_PROGRESS):
        return Verdict.failed(
            "route_not_approved",
            format_lazy(
                _("Only an approved route can be changed (it is {status})."),
                status=route_status_word(status),
            ),
        )
    return Verdict.passed()


@dataclass(frozen=True)
class AddedStop:
    """An address an agent asks to add to the route."""

    address_id: uuid.UUID
    team_id: int | None  # the team its case is assigned to
    geocoded: bool


def change_request_errors(
    team_id: int,
    open_stops: Collection[uuid.UUID],
    on_route: Collection[uuid.UUID],
    skip_stops: Sequence[uuid.UUID],
    add_stops: Sequence[AddedStop],
) -> dict[str, list[str]]:
    """What is wrong with a change request, by field: stops to skip that are not still to be
    visited, and added stops of another team's case (named by position only: agents see
    only their own cases, rule 12), already on the route (or listed twice), or without the
    coordinates the geofence needs."""
    errors: dict[str, list[str]] = {}
    if unknown := [str(s) for s in skip_stops if s not in open_stops]:
        errors["skip_stops"] = [
            format_lazy(
                _("Not a stop of this route still to be visited: {stops}."),
                stops=", ".join(unknown),
            )
        ]
    seen = set(on_route)
    for position, added in enumerate(add_stops):
        if added.team_id != team_id:
            problem = _("this case is not assigned to your team.")
        elif added.address_id in seen:
            problem = _("the address is already on the route (or listed twice).")
        elif not added.geocoded:
            problem = _("the address has no coordinates; the geofence needs them.")
        else:
            problem = ""
        if problem:
            errors.setdefault("add_stops", []).append(
                format_lazy(_("Stop {position}: {problem}"), position=position, problem=problem)
            )
        seen.add(added.address_id)
    return errors


@dataclass(frozen=True)
class EscortFrom:
    """The stop of the route an escort to a bank counter starts from, as it stands now."""

    begun: bool  # its visit has begun: the agents met the debtor there
    is_escort: bool  # itself a bank counter


def escort_errors(stop: EscortFrom | None, other_changes: bool) -> dict[str, list[str]]:
    """An escort to a bank counter (行为指引 4: a debtor who wants to pay may be led to the
    nearest bank counter and pays there in person): from a stop of this route whose visit has
    begun, where the agents met the debtor, and nothing else in the same request (the bank
    counter becomes the next stop of the approved order once approved)."""
    errors: dict[str, list[str]] = {}
    if stop is None or stop.is_escort:  # None: not a stop of this route
        errors["escort"] = [_("Escort from a stop of this route (not from a bank counter).")]
    elif not stop.begun:
        errors["escort"] = [
            _("The visit at that stop has not begun: escort the debtor you met at the door.")
        ]
    if other_changes:
        errors.setdefault("escort", []).append(
            _("An escort to a bank counter is asked for on its own, without other changes.")
        )
    return errors


def check_new_order(order: Sequence[uuid.UUID], open_stops: Collection[uuid.UUID]) -> Verdict:
    """A new order lists every stop still to be visited exactly once, and nothing else."""
    if not order:
        return Verdict.passed()
    if len(set(order)) != len(order) or set(order) != set(open_stops):
        return Verdict.failed(
            "invalid_order",
            _("The order must list each remaining stop of the route exactly once."),
        )
    return Verdict.passed()


def check_change_still_applies(
    skip_stops: Collection[str], order: Sequence[str], open_stops: Collection[str]
) -> Verdict:
    """At approval, a change must still fit the route as it is now: another approved change
    may have skipped or reordered the same stops since it was requested."""
    open_now = set(open_stops)
    if not set(skip_stops) <= open_now or (
        order and sorted(order) != sorted(open_now - set(skip_stops))
    ):
        return Verdict.failed(
            "change_request_stale",
            _("The route changed since this request was made; ask the agents for a new request."),
        )
    return Verdict.passed()


def notice_number(route_date: dt.date, route_id: uuid.UUID, position: int) -> str:
    """The demand-notice number (催款通知书编号) of the ``position``-th stop of a route.

    Unique because the route id is (the database enforces it too), readable on paper, and
    stable: the same stop always gets the same number.
    """
    return f"CN-{route_date:%Y%m%d}-{route_id.hex[:8].upper()}-{position:03d}"


def assign_notice_numbers(
    route_date: dt.date, route_id: uuid.UUID, stop_ids: Sequence[uuid.UUID], already: int = 0
) -> dict[uuid.UUID, str]:
    """Numbers for stops that have none yet, continuing after ``already`` numbered ones."""
    return {
        stop_id: notice_number(route_date, route_id, already + offset)
        for offset, stop_id in enumerate(stop_ids, start=1)
    }
