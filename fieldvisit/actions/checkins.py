"""Recording a check-in: every rule of the visit, the two-person opening, team-split and
offline rule-break alerts, all in one transaction with its ledger entries.

The shape of ``record_checkin``: lock the route (and the visit), check what no check-in may
break, gather the facts, judge them in one pure function
(``rules.checkin_judgement.judge_checkin``: refused, or kept with flags and alerts), write.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Min, Q
from django.utils import timezone

from fieldvisit.actions import alerts, late_evidence
from fieldvisit.actions.cases import case_state
from fieldvisit.actions.common import Recorded, require_team_agent
from fieldvisit.choices import CheckInKind, RouteStatus, StopStatus, VisitStatus
from fieldvisit.db import rows
from fieldvisit.ledger import store as ledger
from fieldvisit.models import AgentClock, Case, CheckIn, Route, Stop, Visit
from fieldvisit.queries.checkins import RouteState, locked_route_state
from fieldvisit.queries.timing import reporting_agents
from fieldvisit.queries.visits import closing_facts
from fieldvisit.rules import RuleViolation
from fieldvisit.rules import checkins as rules
from fieldvisit.rules.checkin_judgement import (
    Cap,
    CheckInFacts,
    DoorFacts,
    Judgement,
    judge_checkin,
)


@dataclass
class CheckInData:
    id: uuid.UUID
    route: Route
    stop: Stop | None
    kind: str
    lat: float
    lon: float
    accuracy_m: float
    captured_at: dt.datetime
    sent_at: dt.datetime | None = None
    # lat/lon are WGS-84; when the phone gave a Chinese datum, what it gave.
    source: tuple[str, float, float] | None = None


@dataclass
class Outcome:
    checkin: CheckIn
    visit: Visit | None
    next_due_at: dt.datetime | None


def _local(moment: dt.datetime, zone: str) -> dt.datetime:
    return moment.astimezone(zoneinfo.ZoneInfo(zone))


def _always(data: CheckInData, agent: Any, online: bool) -> None:
    """Rules no check-in may break, online or offline."""
    route = data.route
    require_team_agent(agent, route.team_id)
    local_day = _local(data.captured_at, route.team.timezone).date()
    rules.check_route_executable(
        route.status, route.date, local_day, queued=not online
    ).raise_if_failed()
    stop = data.stop
    rules.check_stop_on_route(
        data.kind,
        stop.route_id if stop else None,
        route.id,
        stop.status if stop else None,
    ).raise_if_failed()


def _lock(data: CheckInData, agent: Any, visible: Any) -> RouteState:
    """Lock the route (and its team row) and read, under the lock, what the check-in needs
    (``queries.checkins.locked_route_state``: one query); then the stop's status again.

    One check-in at a time per route: the pair opening and the status changes read the
    route's other check-ins and must not race. FOR NO KEY UPDATE, like every lock on a row
    that evidence refers to: the foreign keys of rows other writers insert meanwhile are
    checked at their COMMIT with FOR KEY SHARE, while they hold the ledger's lock; a plain
    FOR UPDATE here would make them wait for us while we wait for the ledger: a deadlock.

    A route the agent may not see is absent (``Route.DoesNotExist``); a check-in already
    recorded with this id is ``actions.common.Recorded`` (the caller answers with it).
    """
    periodic_at = data.captured_at if data.kind == CheckInKind.PERIODIC else None
    state = locked_route_state(data.route.pk, agent.pk, data.id, periodic_at)
    if state is None or (visible is not None and not visible(state.route)):
        raise Route.DoesNotExist
    if state.recorded is not None:
        raise Recorded(data.id)
    data.route = state.route
    if data.stop is not None:
        # The caller read the stop before this lock; an approved change may skip it.
        data.stop.refresh_from_db(fields=["status"])
    return state


def _lock_visit(visit: Visit) -> None:
    """Likewise the stop's visit: a check-in committed meanwhile may have moved it on. Locked
    before the ledger: segments and reports lock the visit, then the ledger; taking the
    ledger first and the visit (to open or close it) second deadlocks."""
    visit.status, visit.opened_at, visit.closed_at = (
        Visit.objects.select_for_update(no_key=True)
        .values_list("status", "opened_at", "closed_at")
        .get(pk=visit.pk)
    )


def _frequency_cap(visit: Visit, captured_at: dt.datetime, zone: str) -> Cap:
    """Visits to the same debtor that already began (first arrival), that day and in 7 days.

    The cap is per debtor (rule 10): all cases with the debtor's ID number count together,
    as a debtor may owe on several accounts; a case without an ID number stands alone.
    """
    case = visit.stop.case
    debtor_cases = (
        Case.objects.filter(debtor_id_number=case.debtor_id_number)
        if case.debtor_id_number
        else Case.objects.filter(pk=case.pk)
    )
    # Two teams may knock on the same debtor's doors at once: lock the debtor's cases (in
    # key order, so concurrent check-ins cannot deadlock), then count their visits.
    locked = list(
        debtor_cases.select_for_update(no_key=True).order_by("pk").values_list("pk", flat=True)
    )
    earlier = (
        Visit.objects.filter(stop__case_id__in=locked, stop__escort_of__isnull=True)
        .exclude(pk=visit.pk)
        .annotate(first=Min("checkins__captured_at", filter=Q(checkins__kind=CheckInKind.ARRIVE)))
        .filter(first__isnull=False, first__gt=captured_at - dt.timedelta(days=7))
        .values_list("first", flat=True)
    )
    day = _local(captured_at, zone).date()
    same_day = sum(1 for first in earlier if _local(first, zone).date() == day)
    creditor = case.creditor
    return Cap(same_day, len(earlier), creditor.max_visits_per_day, creditor.max_visits_per_7_days)


def _door(data: CheckInData, visit: Visit) -> DoorFacts:
    """What the arrival or leave is judged by at the debtor's door (hours, geofence, cap)."""
    stop = data.stop
    assert stop is not None
    creditor, address = stop.case.creditor, stop.address
    distance = None
    if address.geocoded:
        distance = rules.distance_m(data.lat, data.lon, address.lat, address.lon)
    first_arrival = data.kind == CheckInKind.ARRIVE and visit.status == VisitStatus.PLANNED
    return DoorFacts(
        local_time=_local(data.captured_at, address.zone_name).time(),
        hours=(creditor.visit_hours_start, creditor.visit_hours_end),
        distance_m=distance,
        geofence_radius_m=creditor.geofence_radius_m,
        cap=_frequency_cap(visit, data.captured_at, address.zone_name) if first_arrival else None,
        sequence=stop.sequence,
        route_stops=_placed_stops(stop) if first_arrival else (),
        # The case is judged when a visit begins: a partner joining a visit under way is never
        # refused because the case went on hold meanwhile (a lone-agent incident, say), which
        # would leave the first agent alone at the door.
        case=case_state(stop.case) if first_arrival else None,
        escort=stop.escort_of_id is not None,
    )


def _placed_stops(stop: Stop) -> tuple[rules.PlacedStop, ...]:
    """The route's stops as the approved order stands now, for ``rules.earlier_unvisited``."""
    placed = Stop.objects.filter(route_id=stop.route_id).values_list(
        "sequence", "status", "visit__status"
    )
    return tuple(
        rules.PlacedStop(
            sequence,
            status == StopStatus.SKIPPED,
            status == StopStatus.VISITED or visit_status not in (None, VisitStatus.PLANNED),
        )
        for sequence, status, visit_status in placed
    )


def _partner_distance(data: CheckInData, state: RouteState) -> float | None:
    """Periodic reports: how far the partner's latest fresh position is (None: none fresh;
    read under the route lock with it)."""
    latest = state.partner_position
    return None if latest is None else rules.distance_m(data.lat, data.lon, *latest)


def _facts(
    data: CheckInData,
    state: RouteState,
    visit: Visit | None,
    received_at: dt.datetime,
) -> CheckInFacts:
    """The facts the check-in is judged by. An arrival's and a leave's facts at the door are
    gathered in ``_door``; the rest came with the route lock (``RouteState``)."""
    at_door = data.stop is not None and data.kind in rules.STOP_KINDS
    periodic = data.kind == CheckInKind.PERIODIC
    return CheckInFacts(
        kind=data.kind,
        captured_at=data.captured_at,
        received_at=received_at,
        sent_at=data.sent_at,
        accuracy_m=data.accuracy_m,
        door=_door(data, visit) if at_door and visit is not None else None,
        partner_distance_m=_partner_distance(data, state) if periodic else None,
        split_distance_m=state.timing.split_distance_m,
    )


def _advance_visit(
    visit: Visit, data: CheckInData, checkin: CheckIn, actor: dict[str, Any]
) -> list[Callable[[], Any]]:
    """planned -> arriving -> open (two agents together) -> closed (both left), with this
    check-in (not written yet) among the visit's. The visit moves now, under its own lock;
    its ledger entries (opened; closed, then the seal) are returned, to be appended after the
    check-in's own, so the ledger's lock is not held while the visit's facts are read."""
    creditor = visit.stop.case.creditor
    checkins = sorted([*visit.checkins.all(), checkin], key=lambda c: c.captured_at)
    changed, entries = [], []
    if data.kind == CheckInKind.ARRIVE:
        if visit.status == VisitStatus.PLANNED:
            visit.status = VisitStatus.ARRIVING
            changed.append("status")
        if visit.status == VisitStatus.ARRIVING:
            arrivals = [
                rules.Arrival(c.agent_id, c.device_id, c.captured_at, c.lat, c.lon)
                for c in checkins
                if c.kind == CheckInKind.ARRIVE
            ]
            pair = rules.pair_arrived_together(
                arrivals,
                dt.timedelta(minutes=creditor.pair_arrival_window_min),
                creditor.pair_arrival_distance_m,
            )
            if pair:
                visit.status = VisitStatus.OPEN
                visit.opened_at = max(pair[0].captured_at, pair[1].captured_at)
                changed += ["status", "opened_at"]
                opened = {
                    "agents": sorted({pair[0].agent_id, pair[1].agent_id}),
                    "devices": sorted({pair[0].device_id, pair[1].device_id}),
                    "opened_at": visit.opened_at,
                }
                entries.append(
                    functools.partial(
                        ledger.append, "visit.opened", actor, f"visit:{visit.id}", opened
                    )
                )
    elif data.kind == CheckInKind.LEAVE and visit.status in (
        VisitStatus.ARRIVING,
        VisitStatus.OPEN,
    ):
        arrived = {c.agent_id for c in checkins if c.kind == CheckInKind.ARRIVE}
        left = {c.agent_id for c in checkins if c.kind == CheckInKind.LEAVE}
        if arrived and arrived <= left:
            visit.status = VisitStatus.CLOSED
            # When the last one left: a leave queued offline may reach us after a later one.
            visit.closed_at = max(c.captured_at for c in checkins if c.kind == CheckInKind.LEAVE)
            changed += ["status", "closed_at"]
            Stop.objects.filter(pk=visit.stop_id).update(status=StopStatus.VISITED)
            # What the verdict is judged by, so that it can be re-derived from the visit's
            # entries alone (``bundles.verify.judge_visit``).
            closed = {
                "closed_at": visit.closed_at,
                "opened_at": visit.opened_at,
                **closing_facts(visit, checkins),
            }
            entries += [
                functools.partial(
                    ledger.append, "visit.closed", actor, f"visit:{visit.id}", closed
                ),
                # The visit is complete as it stands: its chain is sealed (``ledger.chains``).
                functools.partial(ledger.seal_visit, visit.id),
            ]
    if changed:
        visit.save(update_fields=sorted(set(changed)))
    return entries


def _advance_route(route: Route, kind: str, agent: Any) -> None:
    """The route under way at its first departure, completed once everyone who departed has
    returned (this check-in, not written yet, included)."""
    if kind == CheckInKind.DEPART and route.status == RouteStatus.APPROVED:
        route.status = RouteStatus.IN_PROGRESS
        route.save(update_fields=["status", "updated_at"])
    elif kind == CheckInKind.RETURN and route.status == RouteStatus.IN_PROGRESS:
        departed, returned = reporting_agents(route)
        returned.add(agent.pk)
        if departed and departed <= returned:
            route.status = RouteStatus.COMPLETED
            route.save(update_fields=["status", "updated_at"])


def _checkin(
    data: CheckInData,
    visit: Visit | None,
    judgement: Judgement,
    facts: CheckInFacts,
    *,
    agent: Any,
    device_id: str,
    fingerprint: str,
) -> CheckIn:
    """The check-in, to be written with its ledger entry (``_enter``)."""
    route = data.route
    distance = facts.door.distance_m if facts.door is not None else None
    checkin = CheckIn(
        id=data.id,
        route=route,
        stop=data.stop,
        visit=visit,
        agent=agent,
        device_id=device_id,
        kind=data.kind,
        lat=data.lat,
        lon=data.lon,
        source_datum=data.source[0] if data.source else None,
        source_lat=data.source[1] if data.source else None,
        source_lon=data.source[2] if data.source else None,
        accuracy_m=data.accuracy_m,
        captured_at=data.captured_at,
        received_at=facts.received_at,
        clock_skew_s=judgement.clock_skew_s,
        distance_m=round(distance, 1) if distance is not None else None,
        flags=list(judgement.flags),
        request_sha256=fingerprint,
    )
    return checkin


def _enter(
    data: CheckInData,
    visit: Visit | None,
    checkin: CheckIn,
    actor: dict[str, Any],
    writes: list[rows.Statement],
) -> None:
    """The check-in's ledger entry, with ``writes``: its row, and its agent's clock."""
    route = data.route
    ledger.append(
        f"checkin.{data.kind}",
        actor,
        f"visit:{visit.id}" if visit else f"route:{route.id}",
        {
            "checkin": checkin.id,
            "route": route.id,
            "stop": data.stop.id if data.stop else None,
            "lat": data.lat,
            "lon": data.lon,
            "accuracy_m": data.accuracy_m,
            "captured_at": data.captured_at,
            "received_at": checkin.received_at,
            "clock_skew_s": checkin.clock_skew_s,
            "distance_m": checkin.distance_m,
            "flags": list(checkin.flags),
            # Only when the phone gave another datum: entries of WGS-84 check-ins unchanged.
            **(
                {"source": dict(zip(("datum", "lat", "lon"), data.source, strict=True))}
                if data.source
                else {}
            ),
        },
        along=writes,
    )


def _consequences(
    data: CheckInData,
    visit: Visit | None,
    checkin: CheckIn,
    judgement: Judgement,
    actor: dict[str, Any],
) -> None:
    """A reviewed visit re-opens; the alerts are raised (each may append to the ledger, after
    the check-in's own entry and the visit's)."""
    route, agent = data.route, checkin.agent
    # Where and when any alert it raises happened: at the check-in.
    where = {"checkin": checkin, "lat": data.lat, "lon": data.lon, "captured_at": data.captured_at}
    if visit is not None and data.stop is not None:
        # A check-in reaching a reviewed visit (queued offline) re-opens its review.
        late_evidence.Arrival(visit, checkin.received_at, list(judgement.flags)).recorded(
            kind="checkin", record_id=checkin.id, actor=actor, agent=agent, **where
        )
    for kind, detail in judgement.alerts:
        alerts.raise_alert(
            kind=kind,
            team=route.team,
            detail=detail,
            actor=actor,
            route=route,
            visit=visit,
            raised_by=agent,
            **where,
        )


def record_checkin(
    data: CheckInData,
    agent: Any,
    device_id: str,
    fingerprint: str,
    now: dt.datetime | None = None,
    visible: Any = None,
) -> Outcome:
    """Record a check-in. ``visible(route)``: whether the agent may see the route (one they
    may not is ``Route.DoesNotExist``, checked under the lock with everything else); a
    check-in already recorded with ``data.id`` raises ``actions.common.Recorded``."""
    received_at = now or timezone.now()
    actor = ledger.actor_for(agent, device_id)
    with transaction.atomic(durable=True):
        state = _lock(data, agent, visible)
        route = state.route
        _always(data, agent, rules.is_online(data.captured_at, received_at))
        if data.stop is not None:
            _lock_visit(data.stop.visit)
        visit = data.stop.visit if data.stop else state.open_visit
        facts = _facts(data, state, visit, received_at)
        judgement = judge_checkin(facts)
        if judgement.refusal is not None:
            refusal = judgement.refusal
            raise RuleViolation(refusal.code, refusal.detail, refusal.errors)
        checkin = _checkin(
            data,
            visit,
            judgement,
            facts,
            agent=agent,
            device_id=device_id,
            fingerprint=fingerprint,
        )
        # What the check-in moves comes before its entry (the route, the agent's clock, the
        # visit; the visit's own entries follow the check-in's): the first append takes the
        # ledger's one head lock, held until COMMIT, and every writer of the system waits for
        # it meanwhile (bench/pg_waits.py under bench/load.py). The check-in's row and the
        # agent's clock are written with that lock, in one round trip on PostgreSQL.
        _advance_route(route, data.kind, agent)
        clock, clock_write = _wind_clock(route, agent, checkin, state)
        at_door = visit is not None and data.stop is not None
        visit_entries = _advance_visit(visit, data, checkin, actor) if at_door else []
        _enter(data, visit, checkin, actor, [rows.insert_statement(checkin), *clock_write])
        for entry in visit_entries:
            entry()
        _consequences(data, visit, checkin, judgement, actor)
    return Outcome(checkin=checkin, visit=visit, next_due_at=clock.next_due_at)


def _wind_clock(
    route: Route, agent: Any, checkin: CheckIn, state: RouteState
) -> tuple[AgentClock, list[rows.Statement]]:
    """The agent's own clock after this report, under the route lock: from their latest
    report (one queued offline and sent late does not move it back), stopped by their return
    or the route's end. The watchdog's work for the old due time is forgotten once it moves.
    Only the fields a report moves are written (a heartbeat's are the phone's): a clock
    already there by the returned statement, to be run with the check-in's entry."""
    clock = state.clock
    created = clock is None
    if clock is None:
        clock = AgentClock(route=route, agent=agent, last_report_at=checkin.captured_at)
    clock.last_report_at = max(clock.last_report_at, checkin.captured_at)
    if checkin.kind == CheckInKind.RETURN and clock.returned_at is None:
        clock.returned_at = checkin.captured_at
    if checkin.kind == CheckInKind.DEPART and clock.departed_at is None:
        clock.departed_at = checkin.captured_at
    times = rules.clock_times(
        clock.last_report_at,
        returned=clock.returned_at is not None,
        route_under_way=route.status == RouteStatus.IN_PROGRESS,
        interval=state.timing.interval,
        grace=state.timing.grace,
        escalation=state.timing.escalation,
    )
    moved = ["last_report_at", "returned_at", "departed_at", "next_due_at", "alert_at"]
    moved += ["escalate_at"]
    if times.next_due_at != clock.next_due_at:
        clock.alerted = 0
        moved.append("alerted")
    clock.next_due_at, clock.alert_at, clock.escalate_at = (
        times.next_due_at,
        times.alert_at,
        times.escalate_at,
    )
    if created:
        clock.save()
        return clock, []
    return clock, [rows.update_statement(clock, moved)]
