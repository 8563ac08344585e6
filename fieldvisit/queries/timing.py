"""A route's timing: the strictest check-in interval, grace, escalation and split distance
among its cases' creditors; who departed and returned; and an agent's next due report."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Min

from fieldvisit.choices import CheckInKind, RouteStatus
from fieldvisit.models import AgentClock, Creditor, Route

# Route-level timing (check-in interval, grace, escalation) follows the strictest creditor
# among the route's cases; visit-level rules follow the stop's own creditor.
DEFAULT_CREDITOR = Creditor()


@dataclass(frozen=True)
class RouteTiming:
    """The route's strictest thresholds among its cases' creditors, read in one query."""

    interval: dt.timedelta
    grace: dt.timedelta
    escalation: dt.timedelta
    split_distance_m: float


# The strictest value of each threshold among the creditors of a route's cases, as ORM
# aggregates over the creditor.
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


def agent_next_due_at(route_id: Any, agent_id: Any) -> dt.datetime | None:
    """When this agent's next report on the route is due (their own clock; None: none due)."""
    found = AgentClock.objects.filter(
        route_id=route_id, agent_id=agent_id, route__status=RouteStatus.IN_PROGRESS
    ).values_list("next_due_at", flat=True)
    return next(iter(found), None)
