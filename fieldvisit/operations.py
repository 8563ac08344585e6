"""The supervisors' operations board: for each team out today, its last check-in and how old
it is, each agent's own last report and due time (their ``AgentClock``), its open visits, an
overdue check-in, and its open alerts (panics first).

Read-only: one query for the day's routes (last check-in and open visits as subqueries), one
for their agents' clocks, one for open-alert counts per team and one for the most urgent open
alerts, whatever the number of teams. The HTML page and the JSON feed it polls both render
``board()``.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from typing import Any, TypedDict

from django.db.models import (
    Case,
    Count,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from fieldvisit.access import OVERSEER_ROLES, evidence_scope, has_role
from fieldvisit.choices import AlertKind, AlertStatus, RouteStatus, VisitStatus
from fieldvisit.models import AgentClock, Alert, CheckIn, Route, Visit
from fieldvisit.rules.checkins import SILENCE_LEVELS, silence_level
from fieldvisit.rules.lateness import lateness_text
from fieldvisit.texts import _

# Routes a team is working on today (approved, under way, or done for the day).
WORKING = [RouteStatus.APPROVED, RouteStatus.IN_PROGRESS, RouteStatus.COMPLETED]
# A visit is open from the first agent's arrival until both have left.
VISIT_UNDER_WAY = [VisitStatus.ARRIVING, VisitStatus.OPEN]
UNRESOLVED = [AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED]
# The board lists at most this many open alerts (most urgent first); counts cover them all.
ALERTS_SHOWN = 50


def age_text(seconds: int) -> str:
    """How long ago, as people read it on the board ("45 s", "12 min", "2 h 05 min"), in the
    reader's language: the board and its JSON feed are text already."""
    return str(lateness_text(seconds))


# Who has been told of a silent agent, in words.
TOLD = {"supervisor": _("supervisor"), "risk_manager": _("risk manager")}


def may_watch(user: Any) -> bool:
    """Those who oversee teams (supervisors, team leads, risk managers) and superusers."""
    return bool(
        getattr(user, "is_active", False)
        and getattr(user, "is_staff", False)
        and (user.is_superuser or has_role(user, *OVERSEER_ROLES))
    )


@dataclass(frozen=True)
class Overdue:
    agent: str
    due_at: dt.datetime
    late_s: int
    level: str  # who has been told: "supervisor", then "risk_manager"


def clock_overdue(clock: AgentClock, now: dt.datetime, route_status: str) -> Overdue | None:
    """The agent's next report, if it is missing beyond the grace period: read from the
    times the watchdog reads (``AgentClock``), so the board and the alerts never disagree."""
    level = silence_level(now, clock.alert_at, clock.escalate_at)
    if route_status != RouteStatus.IN_PROGRESS or not level or clock.next_due_at is None:
        return None
    return Overdue(
        agent=clock.agent.get_username(),
        due_at=clock.next_due_at,
        late_s=int((now - clock.next_due_at).total_seconds()),
        level=SILENCE_LEVELS[level],
    )


class AlertRow(TypedDict):
    id: str
    kind: str
    kind_label: str
    severity: str
    status: str
    raised_at: str
    age_s: int
    age: str
    detail: str
    raised_by: str | None
    url: str
    step: int  # how far along the on-call chain it went (1: the first person)
    undelivered: bool  # every channel failed every retry: nobody was reached


class AgentRow(TypedDict):
    agent: str
    last_report_local: str
    last_report_age_s: int
    last_report_age: str
    due_local: str | None  # None: back from the route, nothing due
    overdue: dict[str, Any] | None
    phone: str | None  # the phone's last heartbeat, in words ("62 %, 4g, 1 min ago")


class TeamRow(TypedDict):
    team_id: int
    team: str
    route: str | None
    route_url: str | None
    route_status: str | None
    last_checkin_at: str | None
    last_checkin_local: str | None
    last_checkin_age_s: int | None
    last_checkin_age: str | None
    last_checkin_kind: str | None
    last_checkin_agent: str | None
    open_visits: int
    agents: list[AgentRow]
    overdue: dict[str, Any] | None  # the agent longest overdue
    open_alerts: int
    panics: int
    alerts: list[AlertRow]


class Board(TypedDict):
    now: str
    updated: str  # the time of ``now`` on the server's clock, as supervisors read it
    teams: list[TeamRow]
    open_alerts: int
    panics: int
    undelivered: int  # open alerts that reached nobody (the page sounds a tone)


def _last_checkin(field: str) -> Subquery:
    latest = CheckIn.objects.filter(route=OuterRef("pk")).order_by("-captured_at", "-received_at")
    return Subquery(latest.values(field)[:1])


def _per_route(expression: Any, queryset: QuerySet[Any], key: str) -> Subquery:
    """An aggregate over ``queryset`` rows of the outer route, as a subquery."""
    rows = queryset.filter(**{key: OuterRef("pk")}).order_by().values(key)
    return Subquery(rows.annotate(value=expression).values("value")[:1])


def todays_routes(user: Any, now: dt.datetime) -> list[Route]:
    """The routes of the teams ``user`` oversees for their own local today (one query)."""
    # A team's today depends on its zone; local dates on Earth run from UTC-12 to UTC+14.
    utc = now.astimezone(dt.UTC)
    dates = {(utc + dt.timedelta(hours=h)).date() for h in (-12, 0, 14)}
    routes = (
        Route.objects.filter(evidence_scope(user, "team"), date__in=dates, status__in=WORKING)
        .filter(team__active=True)
        .select_related("team")
        .annotate(
            last_at=_last_checkin("captured_at"),
            last_kind=_last_checkin("kind"),
            last_agent=_last_checkin("agent__username"),
            open_visits=Coalesce(
                _per_route(
                    Count("pk"), Visit.objects.filter(status__in=VISIT_UNDER_WAY), "stop__route"
                ),
                0,
            ),
        )
        .order_by("team__name")
    )
    today = [
        route
        for route in routes
        if route.date == now.astimezone(zoneinfo.ZoneInfo(route.team.timezone)).date()
    ]
    clocks: dict[Any, list[AgentClock]] = {}
    for clock in (
        AgentClock.objects.filter(route__in=[r.pk for r in today])
        .select_related("agent")
        .order_by("agent__username")
    ):
        clocks.setdefault(clock.route_id, []).append(clock)
    for route in today:
        route.agent_clocks = clocks.get(route.pk, [])
    return today


def _first(**condition: Any) -> Case:
    """0 for rows matching ``condition``, 1 for the others: a sort key that puts them first."""
    return Case(When(Q(**condition), then=Value(0)), default=Value(1), output_field=IntegerField())


def _alert_row(alert: Alert, now: dt.datetime) -> AlertRow:
    return {
        "id": str(alert.pk),
        "kind": alert.kind,
        "kind_label": alert.get_kind_display(),
        "severity": alert.get_severity_display(),
        "status": alert.get_status_display(),
        "raised_at": alert.raised_at.isoformat(),
        "age_s": (age := max(0, int((now - alert.raised_at).total_seconds()))),
        "age": age_text(age),
        "detail": alert.detail,
        "raised_by": alert.raised_by.get_username() if alert.raised_by else None,
        "url": reverse("admin:fieldvisit_alert_change", args=[alert.pk]),
        "step": alert.step,
        "undelivered": alert.undelivered,
    }


def _phone(clock: AgentClock, now: dt.datetime) -> str | None:
    """The phone as its last heartbeat left it, in words; None before any heartbeat."""
    if clock.heartbeat_at is None:
        return None
    parts = [f"{clock.battery} %" if clock.battery is not None else gettext("battery ?")]
    if clock.charging:
        parts.append(gettext("charging"))
    if clock.network:
        parts.append(clock.network)
    age = max(0, int((now - clock.heartbeat_at).total_seconds()))
    parts.append(gettext("{age} ago").format(age=age_text(age)))
    return ", ".join(parts)


def _empty_row(team_id: int, name: str) -> TeamRow:
    return {
        "team_id": team_id,
        "team": name,
        "route": None,
        "route_url": None,
        "route_status": None,
        "last_checkin_at": None,
        "last_checkin_local": None,
        "last_checkin_age_s": None,
        "last_checkin_age": None,
        "last_checkin_kind": None,
        "last_checkin_agent": None,
        "open_visits": 0,
        "agents": [],
        "overdue": None,
        "open_alerts": 0,
        "panics": 0,
        "alerts": [],
    }


def _route_row(route: Any, now: dt.datetime) -> TeamRow:
    """A team out today: its route, its last check-in and whether the next one is late."""
    row = _empty_row(route.team_id, route.team.name)
    zone = zoneinfo.ZoneInfo(route.team.timezone)
    row.update(
        route=str(route),
        route_url=reverse("admin:fieldvisit_route_change", args=[route.pk]),
        route_status=route.get_status_display(),
        open_visits=route.open_visits,
    )
    if route.last_at is not None:
        age = max(0, int((now - route.last_at).total_seconds()))
        row.update(
            last_checkin_at=route.last_at.isoformat(),
            last_checkin_local=route.last_at.astimezone(zone).strftime("%H:%M %Z"),
            last_checkin_age_s=age,
            last_checkin_age=age_text(age),
            last_checkin_kind=route.last_kind,
            last_checkin_agent=route.last_agent,
        )
    for clock in route.agent_clocks:
        age = max(0, int((now - clock.last_report_at).total_seconds()))
        late = clock_overdue(clock, now, route.status)
        shown = _overdue(late, zone) if late else None
        row["agents"].append(
            {
                "agent": clock.agent.get_username(),
                "last_report_local": clock.last_report_at.astimezone(zone).strftime("%H:%M %Z"),
                "last_report_age_s": age,
                "last_report_age": age_text(age),
                "due_local": clock.next_due_at.astimezone(zone).strftime("%H:%M %Z")
                if clock.next_due_at and route.status == RouteStatus.IN_PROGRESS
                else None,
                "overdue": shown,
                "phone": _phone(clock, now),
            }
        )
        if shown and (row["overdue"] is None or shown["late_s"] > row["overdue"]["late_s"]):
            row["overdue"] = shown
    return row


def _overdue(late: Overdue, zone: zoneinfo.ZoneInfo) -> dict[str, Any]:
    return {
        "agent": late.agent,
        "due_at": late.due_at.isoformat(),
        "due_local": late.due_at.astimezone(zone).strftime("%H:%M %Z"),
        "late_s": late.late_s,
        "late": age_text(late.late_s),
        "level": late.level,
        "told": str(TOLD[late.level]),
    }


def _add_alerts(rows: dict[int, TeamRow], user: Any, now: dt.datetime) -> None:
    """The open alerts of the teams ``user`` oversees: counted per team, and the most urgent
    listed (panics first, then the unacknowledged), adding the teams not out today."""
    scope = Alert.objects.filter(evidence_scope(user, "team"), status__in=UNRESOLVED)
    counts = (
        scope.order_by()
        .values("team_id", "team__name")
        .annotate(total=Count("pk"), panics=Count("pk", filter=Q(kind=AlertKind.PANIC)))
    )
    for count in counts:
        row = rows.setdefault(count["team_id"], _empty_row(count["team_id"], count["team__name"]))
        row.update(open_alerts=count["total"], panics=count["panics"])
    urgent = (
        scope.select_related("team", "raised_by")
        .annotate(
            panic_first=_first(kind=AlertKind.PANIC), open_first=_first(status=AlertStatus.OPEN)
        )
        .order_by("panic_first", "open_first", "-severity", "-raised_at")[:ALERTS_SHOWN]
    )
    for alert in urgent:
        # setdefault: an alert raised between the two queries still shows, with its team.
        row = rows.setdefault(alert.team_id, _empty_row(alert.team_id, alert.team.name))
        row["alerts"].append(_alert_row(alert, now))


def board(user: Any, now: dt.datetime) -> Board:
    """Every team ``user`` oversees that is out today or has an open alert; teams with a
    panic first, then those with open alerts, then by name."""
    rows = {route.team_id: _route_row(route, now) for route in todays_routes(user, now)}
    _add_alerts(rows, user, now)
    teams = sorted(rows.values(), key=lambda r: (-r["panics"], -r["open_alerts"], r["team"]))
    return {
        "now": now.isoformat(),
        "updated": timezone.localtime(now).strftime("%H:%M:%S %Z"),
        "teams": teams,
        "open_alerts": sum(r["open_alerts"] for r in teams),
        "panics": sum(r["panics"] for r in teams),
        "undelivered": sum(1 for r in teams for a in r["alerts"] if a["undelivered"]),
    }
