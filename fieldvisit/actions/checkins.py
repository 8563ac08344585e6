"""Recording a check-in: every rule of the visit, the two-person opening, team-split and
offline rule-break alerts, all in one transaction with its ledger entries.

Online (captured less than five minutes before it arrived) a rule break is refused with its
code, so the phone can stop the agent. Offline, the check-in records what already happened:
it is kept, the break becomes a flag on it and a failed check on the visit, and the
supervisor is alerted.
"""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Max, Min, Q
from django.utils import timezone

from fieldvisit.access import agent_profile
from fieldvisit.actions import alerts, late_evidence
from fieldvisit.choices import (
    AlertKind,
    CheckInKind,
    RouteStatus,
    StopStatus,
    VisitStatus,
)
from fieldvisit.ledger import store as ledger
from fieldvisit.models import Case, CheckIn, Creditor, Route, Stop, Visit
from fieldvisit.rules import RuleViolation, Verdict
from fieldvisit.rules import checkins as rules

# Route-level timing (check-in interval, grace, escalation) follows the strictest creditor
# among the route's cases; visit-level rules follow the stop's own creditor.
DEFAULT_CREDITOR = Creditor()


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


@dataclass
class Outcome:
    checkin: CheckIn
    visit: Visit | None
    next_due_at: dt.datetime | None


@dataclass(frozen=True)
class RouteTiming:
    """The route's strictest thresholds among its cases' creditors, read in one query."""

    interval: dt.timedelta
    grace: dt.timedelta
    escalation: dt.timedelta
    split_distance_m: float


# The strictest value of each threshold among the creditors of a route's cases, as ORM
# aggregates over the creditor: ``route_timing`` reads them for one route, the operations
# board (``fieldvisit.operations``) for every route of the day in one query.
TIMING_AGGREGATES = {
    "interval": "checkin_interval_min",
    "grace": "checkin_grace_min",
    "escalation": "escalation_after_min",
    "split": "team_split_distance_m",
}


def route_timing(route: Route) -> RouteTiming:
    found = Creditor.objects.filter(cases__stops__route=route).aggregate(
        **{key: Min(field) for key, field in TIMING_AGGREGATES.items()}
    )
    return timing_from(found)


def timing_from(found: Any) -> RouteTiming:
    """The route's timing from its creditors' strictest values (None: the defaults)."""
    default = DEFAULT_CREDITOR

    def pick(key: str, fallback: int) -> int:
        return fallback if found[key] is None else found[key]

    return RouteTiming(
        interval=dt.timedelta(minutes=pick("interval", default.checkin_interval_min)),
        grace=dt.timedelta(minutes=pick("grace", default.checkin_grace_min)),
        escalation=dt.timedelta(minutes=pick("escalation", default.escalation_after_min)),
        split_distance_m=float(pick("split", default.team_split_distance_m)),
    )


def reporting_agents(route: Route) -> tuple[set[int], set[int]]:
    """Who departed on the route, and who has returned."""
    rows = route.checkins.filter(kind__in=[CheckInKind.DEPART, CheckInKind.RETURN]).values_list(
        "agent_id", "kind"
    )
    departed = {agent for agent, kind in rows if kind == CheckInKind.DEPART}
    returned = {agent for agent, kind in rows if kind == CheckInKind.RETURN}
    return departed, returned


def next_due_at(route: Route, timing: RouteTiming | None = None) -> dt.datetime | None:
    """When the team's next report is due: every interval after the last one, from depart
    until everyone who departed has returned."""
    if route.status != RouteStatus.IN_PROGRESS:
        return None
    last = route.checkins.aggregate(last=Max("captured_at"))["last"]
    timing = timing or route_timing(route)
    return rules.next_due_at(last, timing.interval)


def _local(moment: dt.datetime, zone: str) -> dt.datetime:
    return moment.astimezone(zoneinfo.ZoneInfo(zone))


def _always(data: CheckInData, agent: Any, online: bool) -> None:
    """Rules no check-in may break, online or offline."""
    route = data.route
    profile = agent_profile(agent)
    rules.check_team_member(
        profile.team_id if profile else None,
        route.team_id,
        bool(profile and profile.qualified),
    ).raise_if_failed(403)
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


def _visit_rules(data: CheckInData, visit: Visit) -> tuple[list[Verdict], float | None]:
    """The rules judged at a debtor's door (arrive and leave): hours, geofence, cap."""
    stop = data.stop
    assert stop is not None
    creditor = stop.case.creditor
    address = stop.address
    verdicts = []
    local = _local(data.captured_at, address.zone_name)
    verdicts.append(
        rules.check_visit_hours(local.time(), creditor.visit_hours_start, creditor.visit_hours_end)
    )
    distance = None
    if address.geocoded:
        distance = rules.distance_m(data.lat, data.lon, address.lat, address.lon)
        if data.kind == CheckInKind.ARRIVE:
            verdicts.append(
                rules.check_geofence(distance, data.accuracy_m, creditor.geofence_radius_m)
            )
    elif data.kind == CheckInKind.ARRIVE:
        # Routes are approved with geocoded stops only; should an address lose its
        # coordinates anyway, the arrival is kept but the geofence is not judged as passed.
        verdicts.append(Verdict.failed("address_not_geocoded", "The address has no coordinates."))
    if data.kind == CheckInKind.ARRIVE and visit.status == VisitStatus.PLANNED:
        verdicts.append(_frequency_cap(visit, data.captured_at, address.zone_name, creditor))
    return verdicts, distance


def _frequency_cap(
    visit: Visit, captured_at: dt.datetime, zone: str, creditor: Creditor
) -> Verdict:
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
        Visit.objects.filter(stop__case_id__in=locked)
        .exclude(pk=visit.pk)
        .annotate(first=Min("checkins__captured_at", filter=Q(checkins__kind=CheckInKind.ARRIVE)))
        .filter(first__isnull=False, first__gt=captured_at - dt.timedelta(days=7))
        .values_list("first", flat=True)
    )
    day = _local(captured_at, zone).date()
    same_day = sum(1 for first in earlier if _local(first, zone).date() == day)
    return rules.check_frequency_cap(
        same_day, len(earlier), creditor.max_visits_per_day, creditor.max_visits_per_7_days
    )


def _partner_flag(data: CheckInData, agent: Any, timing: RouteTiming) -> Verdict | None:
    """Periodic reports: the partner's latest fresh position must be close by."""
    latest = (
        data.route.checkins.exclude(agent=agent)
        .filter(captured_at__gte=data.captured_at - rules.PARTNER_FRESHNESS)
        .filter(captured_at__lte=data.captured_at + rules.PARTNER_FRESHNESS)
        .order_by("-captured_at")
        .values_list("lat", "lon")
        .first()
    )
    if latest is None:
        return None
    distance = rules.distance_m(data.lat, data.lon, *latest)
    return rules.check_together(distance, timing.split_distance_m)


def _open_visit_for(route: Route) -> Visit | None:
    """The visit a periodic report belongs to: the one under way on the route, if any."""
    return (
        Visit.objects.filter(stop__route=route, status__in=[VisitStatus.ARRIVING, VisitStatus.OPEN])
        .order_by("-stop__sequence")
        .first()
    )


def _advance_visit(visit: Visit, data: CheckInData, actor: dict[str, Any]) -> None:
    """planned -> arriving -> open (two agents together) -> closed (both left)."""
    creditor = visit.stop.case.creditor
    checkins = list(visit.checkins.order_by("captured_at"))
    changed = []
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
                ledger.append(
                    "visit.opened",
                    actor,
                    f"visit:{visit.id}",
                    {
                        "agents": sorted({pair[0].agent_id, pair[1].agent_id}),
                        "devices": sorted({pair[0].device_id, pair[1].device_id}),
                        "opened_at": visit.opened_at,
                    },
                )
    elif data.kind == CheckInKind.LEAVE and visit.status in (
        VisitStatus.ARRIVING,
        VisitStatus.OPEN,
    ):
        arrived = {c.agent_id for c in checkins if c.kind == CheckInKind.ARRIVE}
        left = {c.agent_id for c in checkins if c.kind == CheckInKind.LEAVE}
        if arrived and arrived <= left:
            visit.status = VisitStatus.CLOSED
            visit.closed_at = data.captured_at
            changed += ["status", "closed_at"]
            Stop.objects.filter(pk=visit.stop_id).update(status=StopStatus.VISITED)
            ledger.append(
                "visit.closed",
                actor,
                f"visit:{visit.id}",
                {"closed_at": visit.closed_at, "opened_at": visit.opened_at},
            )
    if changed:
        visit.save(update_fields=sorted(set(changed)))


def _advance_route(route: Route, kind: str) -> None:
    if kind == CheckInKind.DEPART and route.status == RouteStatus.APPROVED:
        route.status = RouteStatus.IN_PROGRESS
        route.save(update_fields=["status", "updated_at"])
    elif kind == CheckInKind.RETURN and route.status == RouteStatus.IN_PROGRESS:
        departed, returned = reporting_agents(route)
        if departed and departed <= returned:
            route.status = RouteStatus.COMPLETED
            route.save(update_fields=["status", "updated_at"])


def record_checkin(
    data: CheckInData,
    agent: Any,
    device_id: str,
    fingerprint: str,
    now: dt.datetime | None = None,
) -> Outcome:
    received_at = now or timezone.now()
    online = rules.is_online(data.captured_at, received_at)
    actor = ledger.actor_for(agent, device_id)
    with transaction.atomic(durable=True):
        # One check-in at a time per route: the pair opening and the status changes read
        # the route's other check-ins and must not race.
        # FOR NO KEY UPDATE, like every lock on a row that evidence refers to: the foreign
        # keys of rows other writers insert meanwhile are checked at their COMMIT with FOR
        # KEY SHARE, while they hold the ledger's lock; a plain FOR UPDATE here would make
        # them wait for us while we wait for the ledger: a deadlock.
        route = (
            Route.objects.select_for_update(no_key=True)
            .select_related("team")
            .get(pk=data.route.pk)
        )
        data.route = route
        if data.stop is not None:
            # The caller read the stop before this lock; an approved change may skip it.
            data.stop.refresh_from_db(fields=["status"])
        _always(data, agent, online)
        if data.stop is not None:
            # Likewise its visit: a check-in committed meanwhile may have moved it on. Locked
            # now, before the ledger: segments and reports lock the visit, then the ledger;
            # taking the ledger first and the visit (to open or close it) second deadlocks.
            visit = data.stop.visit
            visit.status, visit.opened_at, visit.closed_at = (
                Visit.objects.select_for_update(no_key=True)
                .values_list("status", "opened_at", "closed_at")
                .get(pk=visit.pk)
            )
        timing = route_timing(route)

        visit = data.stop.visit if data.stop else _open_visit_for(route)
        flags: list[str] = []
        distance = None
        if data.stop is not None and data.kind in rules.STOP_KINDS:
            verdicts, distance = _visit_rules(data, visit)
            broken = [v for v in verdicts if not v.ok]
            # A leave is never refused: the phone cannot stop a visit that has already run
            # late, and refusing would leave the visit open. The break is flagged instead.
            refusable = [v for v in broken if v.code in rules.DEFERRABLE]
            if refusable and online and data.kind != CheckInKind.LEAVE:
                raise RuleViolation(
                    refusable[0].code,
                    " ".join(v.detail for v in refusable),
                    errors={"rules": [f"{v.code}: {v.detail}" for v in refusable]},
                )
            flags += [v.code for v in broken]
        if data.kind == CheckInKind.PERIODIC:
            together = _partner_flag(data, agent, timing)
            if together is not None and not together.ok:
                flags.append(together.code)
        if not online:
            flags.append("late_submission")
        if data.accuracy_m > rules.LOW_ACCURACY_M:
            flags.append("low_accuracy")
        skew = rules.clock_skew_s(data.captured_at, received_at, data.sent_at)
        if rules.skew_is_evident(skew, data.sent_at is not None):
            flags.append("clock_skew")

        checkin = CheckIn.objects.create(
            id=data.id,
            route=route,
            stop=data.stop,
            visit=visit,
            agent=agent,
            device_id=device_id,
            kind=data.kind,
            lat=data.lat,
            lon=data.lon,
            accuracy_m=data.accuracy_m,
            captured_at=data.captured_at,
            received_at=received_at,
            clock_skew_s=skew,
            distance_m=round(distance, 1) if distance is not None else None,
            flags=flags,
            request_sha256=fingerprint,
        )
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
                "received_at": received_at,
                "clock_skew_s": skew,
                "distance_m": checkin.distance_m,
                "flags": flags,
            },
        )
        if visit is not None and data.stop is not None:
            _advance_visit(visit, data, actor)
            # A check-in reaching a reviewed visit (queued offline) re-opens its review.
            late_evidence.Arrival(visit, received_at, flags).recorded(
                kind="checkin",
                record_id=checkin.id,
                actor=actor,
                agent=agent,
                checkin=checkin,
                lat=data.lat,
                lon=data.lon,
                captured_at=data.captured_at,
            )
        _advance_route(route, data.kind)

        problems = {
            AlertKind.RULE_BREAK: [f for f in flags if f in rules.DEFERRABLE],
            AlertKind.TEAM_SPLIT: [f for f in flags if f == "team_split"],
        }
        details = {
            AlertKind.RULE_BREAK: "The check-in broke: {}.",
            AlertKind.TEAM_SPLIT: "The two agents reported positions too far apart.",
        }
        for kind, found in problems.items():
            if found:
                alerts.raise_alert(
                    kind=kind,
                    team=route.team,
                    detail=details[kind].format(", ".join(found)),
                    actor=actor,
                    route=route,
                    visit=visit,
                    checkin=checkin,
                    raised_by=agent,
                    lat=data.lat,
                    lon=data.lon,
                    captured_at=data.captured_at,
                )
    # From the latest report on the route: one queued offline and sent late does not move
    # the due time back.
    due = next_due_at(route, timing)
    return Outcome(checkin=checkin, visit=visit, next_due_at=due)
