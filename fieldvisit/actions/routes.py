"""Planning, approving and changing routes (maker-checker), each step a ledger entry."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from fieldvisit import planning
from fieldvisit.access import oversight_scope, staff_scope
from fieldvisit.actions import incidents, notices
from fieldvisit.actions.cases import case_state
from fieldvisit.actions.common import (
    require_perm,
    require_record_in_scope,
    require_team_agent,
    require_team_in_scope,
)
from fieldvisit.choices import (
    AddressKind,
    ChangeRequestKind,
    ChangeRequestStatus,
    RouteStatus,
    StopStatus,
    VisitStatus,
)
from fieldvisit.geo import local_today
from fieldvisit.ledger import store as ledger
from fieldvisit.models import Address, Case, Route, RouteChangeRequest, Stop, Team, Visit
from fieldvisit.queries.routes import route_makers, team_agent_facts
from fieldvisit.rules import RuleViolation
from fieldvisit.rules import routes as rules
from fieldvisit.rules.alerting import check_oncall_chain
from fieldvisit.rules.cases import check_cases_visitable
from fieldvisit.texts import _, format_lazy


def _stop_plan(stops: Sequence[Stop]) -> list[dict[str, Any]]:
    """What the ledger records of a route's stops: enough to prove what was approved."""
    return [
        {
            "stop": stop.id,
            "sequence": stop.sequence,
            "status": stop.status,
            "case": stop.case.number,
            "address": stop.address.text,
            "lat": stop.address.lat,
            "lon": stop.address.lon,
            "notice_number": stop.notice_number,
        }
        for stop in stops
    ]


def _stops(route: Route) -> list[Stop]:
    return list(route.stops.select_related("case", "address__case", "visit").order_by("sequence"))


def _still_open(stop: Stop) -> bool:
    """A stop a change may still skip or reorder: planned, and its visit not yet begun.

    A visit under way (an agent has arrived) must be finished where it is: skipping its
    stop would leave the visit open for ever and its check-ins refused.
    """
    visit = getattr(stop, "visit", None)
    return stop.status == StopStatus.PLANNED and (
        visit is None or visit.status == VisitStatus.PLANNED
    )


def _check_cases_assigned(route: Route, cases: Sequence[Case]) -> None:
    rules.check_stops_assigned(
        [case.number for case in cases if case.team_id != route.team_id]
    ).raise_if_failed()


def _check_cases_visitable(cases: Sequence[Case]) -> None:
    """Every stop's case open and its debtor not to be left alone (``rules.cases``)."""
    check_cases_visitable([case_state(case) for case in cases]).raise_if_failed()


def _check_places(route: Route, addresses: Sequence[Address]) -> None:
    """Every stop's place: an address of a case of the route's team, with coordinates, and
    the case one that may be visited."""
    _check_cases_assigned(route, [address.case for address in addresses])
    _check_cases_visitable([address.case for address in addresses])
    rules.check_stops_geocoded([a.text for a in addresses if not a.geocoded]).raise_if_failed()


def _locked_route(route_id: uuid.UUID) -> Route:
    # NO KEY, as check-ins lock routes (see ``checkins.record_checkin``).
    return Route.objects.select_for_update(no_key=True).select_related("team").get(pk=route_id)


def create_route(team_id: int, day: dt.date, address_ids: Sequence[uuid.UUID], by: Any) -> Route:
    """The planner turns an (edited) proposal into a draft route, stops in the given order.

    The draft then follows the normal path: submitted the day before, approved by someone
    else. A debtor at their visit frequency cap is refused here, as at the door.
    """
    with transaction.atomic(durable=True):
        require_perm(by, "fieldvisit.add_route", _("plan routes"))
        require_team_in_scope(
            staff_scope(by, ""), team_id, "team", _("Plan routes for the teams you plan for.")
        )
        team = Team.objects.select_for_update().get(pk=team_id)
        rules.check_route_has_stops(len(address_ids)).raise_if_failed()
        if len(set(address_ids)) != len(address_ids):
            raise RuleViolation("invalid_order", _("An address is listed twice."))
        if Route.objects.filter(team=team, date=day).exclude(status=RouteStatus.REJECTED).exists():
            raise RuleViolation(
                "route_exists",
                format_lazy(
                    _("{team} already has a route for {day:%Y-%m-%d}; edit that one."),
                    team=team,
                    day=day,
                ),
            )
        found = Address.objects.select_related("case__creditor").in_bulk(address_ids)
        if missing := [str(a) for a in address_ids if a not in found]:
            raise RuleViolation(
                "not_found",
                format_lazy(_("No such address: {addresses}."), addresses=", ".join(missing)),
            )
        addresses = [found[a] for a in address_ids]
        route = Route.objects.create(team=team, date=day, planned_by=by)
        _check_places(route, addresses)
        caps = planning.cap_verdicts([a.case for a in addresses], day)
        per_debtor: dict[str, int] = {}
        for address in addresses:
            key = planning.debtor_key(address.case)
            per_debtor[key] = per_debtor.get(key, 0) + 1
            allowed, verdict = caps[key]
            if per_debtor[key] > allowed:
                raise RuleViolation(
                    "frequency_cap", format_lazy("{}: {}", address.case.number, verdict.detail)
                )
        Stop.objects.bulk_create(
            Stop(route=route, sequence=n, case=a.case, address=a)
            for n, a in enumerate(addresses, start=1)
        )
    return route


def record_draft_change(route_id: uuid.UUID, by: Any) -> None:
    """``by`` changed a draft's team, date or stops (in admin): one of its makers from now on,
    so not the one who decides it. Runs inside the caller's transaction (the admin's save)."""
    with transaction.atomic():
        route = _locked_route(route_id)
        rules.check_stops_editable(route.status).raise_if_failed()
        route.makers.add(by)


def submit_route(route_id: uuid.UUID, by: Any, now: dt.datetime | None = None) -> Route:
    """The planner hands a draft route in for approval, the day before it is walked."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        route = _locked_route(route_id)
        require_perm(by, "fieldvisit.change_route", _("submit routes"))
        require_record_in_scope(staff_scope(by, ""), route.team_id, _("route"))
        rules.check_transition(route.status, RouteStatus.SUBMITTED).raise_if_failed()
        rules.check_planned_ahead(
            route.date, local_today(route.team.timezone, now)
        ).raise_if_failed()
        stops = _stops(route)
        rules.check_route_has_stops(len(stops)).raise_if_failed()
        _check_places(route, [stop.address for stop in stops])
        rules.check_team_staffed(team_agent_facts(route.team), route.date).raise_if_failed()
        incidents.require_team_not_suspended(route.team)
        route.status = RouteStatus.SUBMITTED
        route.submitted_at = now
        route.save(update_fields=["status", "submitted_at", "updated_at"])
        route.makers.add(by)  # handing it in makes it theirs too: not theirs to decide
        ledger.append(
            "route.submitted",
            ledger.actor_for(by),
            f"route:{route.id}",
            {
                "team": route.team.name,
                "date": route.date,
                "planned_by": route.planned_by_id,
                "stops": _stop_plan(stops),
            },
        )
    return route


def require_decider(route: Route, by: Any, target: str = RouteStatus.APPROVED) -> set[int]:
    """``by`` may move ``route`` to ``target`` (approved or rejected): allowed to decide
    routes, none of its makers (maker-checker), a supervisor of its team, and the route
    submitted. Its makers."""
    require_perm(by, "fieldvisit.decide_route", _("approve or reject routes"))
    makers = route_makers(route)
    rules.check_maker_checker(makers, by.pk).raise_if_failed()
    # Decided by a supervisor of the route's team (whatever else they may read).
    require_record_in_scope(oversight_scope(by, ""), route.team_id, _("route"))
    rules.check_transition(route.status, target).raise_if_failed()
    return makers


def may_decide(route: Route, by: Any) -> bool:
    """Whether ``decide_route`` would take ``by``'s decision (the admin offers it only then).
    A route not submitted is answered first, without a query."""
    if route.status != RouteStatus.SUBMITTED:
        return False
    try:
        require_decider(route, by)
    except RuleViolation:
        return False
    return True


def _approve_stops(route: Route, stops: list[Stop], now: dt.datetime) -> None:
    """Approval freezes the stops: each gets its demand-notice number and a visit record."""
    rules.check_decided_in_time(route.date, local_today(route.team.timezone, now)).raise_if_failed()
    rules.check_team_staffed(team_agent_facts(route.team), route.date).raise_if_failed()
    incidents.require_team_not_suspended(route.team)
    # Its alarms must reach someone: two verified people on call (DESIGN rule 10).
    check_oncall_chain(notices.chain_facts(route.team)).raise_if_failed()
    # Cases may be reassigned, put on hold or flagged do-not-contact after submission.
    _check_cases_assigned(route, [stop.case for stop in stops])
    _check_cases_visitable([stop.case for stop in stops])
    numbers = rules.assign_notice_numbers(route.date, route.id, [s.id for s in stops])
    for stop in stops:
        stop.notice_number = numbers[stop.id]
    Stop.objects.bulk_update(stops, ["notice_number"])
    Visit.objects.bulk_create([Visit(stop=stop) for stop in stops])


def decide_route(
    route_id: uuid.UUID,
    by: Any,
    approve: bool,
    comment: str = "",
    now: dt.datetime | None = None,
) -> Route:
    """A supervisor who made none of it (planned, changed or submitted it) approves or
    rejects a submitted route."""
    now = now or timezone.now()
    comment = comment.strip()
    with transaction.atomic(durable=True):
        route = _locked_route(route_id)
        target = RouteStatus.APPROVED if approve else RouteStatus.REJECTED
        makers = require_decider(route, by, target)
        if not approve and not comment:
            raise RuleViolation("comment_required", _("Say why the route is rejected."))
        stops = _stops(route)
        if approve:
            _approve_stops(route, stops, now)
        route.status = target
        route.decided_by = by
        route.decided_at = now
        route.decision_comment = comment
        route.save(
            update_fields=["status", "decided_by", "decided_at", "decision_comment", "updated_at"]
        )
        ledger.append(
            "route.approved" if approve else "route.rejected",
            ledger.actor_for(by),
            f"route:{route.id}",
            {
                "team": route.team.name,
                "date": route.date,
                "planned_by": route.planned_by_id,
                "makers": sorted(makers),
                "comment": comment,
                "stops": _stop_plan(stops),
            },
        )
    return route


@dataclass(frozen=True)
class Escort:
    """An escort to a bank counter: from which stop, to which branch, where it is (WGS-84)."""

    stop: uuid.UUID
    bank_name: str
    bank_address: str
    lat: float
    lon: float


def _escort_errors(
    escort: Escort | None, stops: dict[uuid.UUID, Stop], other_changes: bool
) -> dict[str, list[str]]:
    if escort is None:
        return {}
    stop = stops.get(escort.stop)
    visit = getattr(stop, "visit", None) if stop else None
    return rules.escort_errors(
        rules.EscortFrom(
            begun=stop.status == StopStatus.VISITED
            or (visit is not None and visit.status != VisitStatus.PLANNED),
            is_escort=stop.escort_of_id is not None,
        )
        if stop is not None
        else None,
        other_changes,
    )


def request_change(
    *,
    record_id: uuid.UUID,
    route_id: uuid.UUID,
    by: Any,
    reason: str,
    add_stops: Sequence[Address],
    skip_stops: Sequence[uuid.UUID],
    order: Sequence[uuid.UUID],
    fingerprint: str,
    device_id: str | None = None,
    escort: Escort | None = None,
) -> RouteChangeRequest:
    """An agent asks to deviate from an approved route (extra, skipped or reordered stops),
    or to escort the debtor met at a stop to a bank counter to pay there (``escort``)."""
    with transaction.atomic(durable=True):
        route = _locked_route(route_id)
        # Only the route's own qualified agents ask (seeds: 行为指引 3, the agents report to
        # their lead); supervisors decide, they do not request.
        require_team_agent(by, route.team_id)
        rules.check_route_changeable(route.status).raise_if_failed()
        stops = {stop.id: stop for stop in _stops(route)}
        open_stops = {sid for sid, stop in stops.items() if _still_open(stop)}
        errors = rules.change_request_errors(
            route.team_id,
            open_stops,
            {stop.address_id for stop in stops.values()},
            skip_stops,
            [rules.AddedStop(a.id, a.case.team_id, a.geocoded) for a in add_stops],
        )
        errors |= _escort_errors(escort, stops, bool(add_stops or skip_stops or order))
        if errors:
            raise RuleViolation(
                "invalid_change_request", _("The change request is not valid."), errors=errors
            )
        rules.check_new_order(order, open_stops - set(skip_stops)).raise_if_failed()
        change = RouteChangeRequest.objects.create(
            id=record_id,
            route=route,
            requested_by=by,
            reason=reason,
            add_stops=[{"case": str(a.case_id), "address": str(a.id)} for a in add_stops],
            skip_stops=[str(s) for s in skip_stops],
            order=[str(s) for s in order],
            request_sha256=fingerprint,
            **_escort_fields(escort),
        )
        entry = {
            "change_request": change.id,
            "reason": reason,
            "add_stops": change.add_stops,
            "skip_stops": change.skip_stops,
            "order": change.order,
        }
        if escort is not None:
            entry["kind"] = change.kind
            entry["escort"] = _escort_entry(change)
        ledger.append(
            "route_change.requested", ledger.actor_for(by, device_id), f"route:{route.id}", entry
        )
    return change


def _escort_fields(escort: Escort | None) -> dict[str, Any]:
    if escort is None:
        return {}
    return {
        "kind": ChangeRequestKind.BANK_ESCORT,
        "escort_stop_id": escort.stop,
        "bank_name": escort.bank_name.strip(),
        "bank_address": escort.bank_address.strip(),
        "bank_lat": escort.lat,
        "bank_lon": escort.lon,
    }


def _escort_entry(change: RouteChangeRequest) -> dict[str, Any]:
    return {
        "stop": change.escort_stop_id,
        "bank_name": change.bank_name,
        "bank_address": change.bank_address,
        "lat": change.bank_lat,
        "lon": change.bank_lon,
    }


def decide_change(
    change_id: uuid.UUID,
    by: Any,
    approve: bool,
    comment: str = "",
    now: dt.datetime | None = None,
) -> RouteChangeRequest:
    """A supervisor approves (and so applies) or rejects a route change request."""
    now = now or timezone.now()
    comment = comment.strip()
    with transaction.atomic(durable=True):
        change = RouteChangeRequest.objects.select_for_update().get(pk=change_id)
        route = _locked_route(change.route_id)
        require_perm(by, "fieldvisit.decide_routechangerequest", _("decide route changes"))
        rules.check_change_request_decidable(
            change.status, change.requested_by_id, by.pk
        ).raise_if_failed()
        require_record_in_scope(oversight_scope(by, ""), route.team_id, _("change request"))
        if not approve and not comment:
            raise RuleViolation("comment_required", _("Say why the change is rejected."))
        if approve:
            rules.check_route_changeable(route.status).raise_if_failed()
            _apply_change(route, change)
        change.status = ChangeRequestStatus.APPROVED if approve else ChangeRequestStatus.REJECTED
        change.decided_by = by
        change.decided_at = now
        change.decision_comment = comment
        change.save(update_fields=["status", "decided_by", "decided_at", "decision_comment"])
        ledger.append(
            "route_change.approved" if approve else "route_change.rejected",
            ledger.actor_for(by),
            f"route:{route.id}",
            {
                "change_request": change.id,
                "comment": comment,
                "stops": _stop_plan(_stops(route)),
            },
        )
    return change


def _bank_counter(route: Route, change: RouteChangeRequest, stops: Sequence[Stop]) -> Stop:
    """The stop an approved escort adds: the bank counter, an address of the debtor's case,
    visited next (before any stop still open)."""
    escorted = next((s for s in stops if s.id == change.escort_stop_id), None)
    if escorted is None:
        raise RuleViolation(
            "change_request_stale", _("The escorted stop is no longer on the route.")
        )
    address = Address(
        case=escorted.case,
        kind=AddressKind.BANK,
        text=f"{change.bank_name}, {change.bank_address}"[:500],
    )
    address.place(change.bank_lat, change.bank_lon)
    address.save()
    _check_places(route, [address])
    return Stop(
        route=route,
        case=escorted.case,
        address=address,
        added_by_change=change,
        escort_of=escorted,
    )


def _apply_change(route: Route, change: RouteChangeRequest) -> None:
    stops = _stops(route)
    rules.check_change_still_applies(
        change.skip_stops, change.order, [str(s.id) for s in stops if _still_open(s)]
    ).raise_if_failed()
    by_id = {str(stop.id): stop for stop in stops}
    skipped = set(change.skip_stops)
    for stop_id in skipped:
        by_id[stop_id].status = StopStatus.SKIPPED
    on_route = {stop.address_id for stop in stops}
    added = Address.objects.select_related("case").in_bulk(
        [item["address"] for item in change.add_stops]
    )
    if gone := [
        item["address"] for item in change.add_stops if uuid.UUID(item["address"]) not in added
    ]:
        # Named by id, not a foreign key: an address deleted since the request is gone.
        raise RuleViolation(
            "change_request_stale",
            format_lazy(_("No such address: {addresses}."), addresses=", ".join(gone)),
        )
    fresh = []
    for item in change.add_stops:
        address = added[uuid.UUID(item["address"])]
        if address.id not in on_route:
            on_route.add(address.id)
            fresh.append(address)
    # The case may have moved to another team, or lost its coordinates, since the request.
    _check_places(route, fresh)
    new_stops = [
        Stop(route=route, case=address.case, address=address, added_by_change=change)
        for address in fresh
    ]
    escort = []
    if change.kind == ChangeRequestKind.BANK_ESCORT:
        escort = [_bank_counter(route, change, stops)]
    # New order: what was already visited (or is under way) keeps its place in front, as
    # walked; then the bank counter an escort goes to; then the requested order of the open
    # stops (or their current one); then the skipped ones; then the added ones. Sequences
    # are rewritten in two passes so the unique (route, sequence) constraint holds at every
    # step.
    open_now = [s for s in stops if _still_open(s) and str(s.id) not in skipped]
    if change.order:
        open_now = [by_id[stop_id] for stop_id in change.order]
    begun = [s for s in stops if s.status != StopStatus.SKIPPED and not _still_open(s)]
    ordered = begun + open_now + [s for s in stops if s.status == StopStatus.SKIPPED]
    offset = max(s.sequence for s in stops) + len(new_stops) + len(escort) + 1
    for position, stop in enumerate(ordered, start=1):
        stop.sequence = offset + position
    Stop.objects.bulk_update(ordered, ["sequence", "status"])
    for position, stop in enumerate(ordered, start=1):
        stop.sequence = position + (len(escort) if position > len(begun) else 0)
    Stop.objects.bulk_update(ordered, ["sequence"])
    numbered = len(stops)
    new_stops = escort + new_stops
    numbers = rules.assign_notice_numbers(
        route.date, route.id, [s.id for s in new_stops], already=numbered
    )
    for stop in escort:
        stop.sequence = len(begun) + 1
        stop.notice_number = numbers[stop.id]
    for position, stop in enumerate(new_stops[len(escort) :], start=len(ordered) + len(escort) + 1):
        stop.sequence = position
        stop.notice_number = numbers[stop.id]
    Stop.objects.bulk_create(new_stops)
    Visit.objects.bulk_create([Visit(stop=stop) for stop in new_stops])
