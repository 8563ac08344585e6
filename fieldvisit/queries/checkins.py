"""What a check-in reads under its route lock, in one query.

A check-in locks its route (and the route's team row, as it always has), and reads under
that lock: the route's timing (its creditors' strictest thresholds), the agent's clock,
whether a check-in with this id was already recorded, and, for a periodic report, the visit
under way on the route and the partner's latest position near the report's time. One
statement, written once per database engine (``fieldvisit.db.rows``): the ORM would spend
more time building these seven reads than the database spends answering them.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import connection

from fieldvisit.choices import VisitStatus
from fieldvisit.db import rows
from fieldvisit.models import AgentClock, Case, CheckIn, Creditor, Route, Stop, Team, Visit
from fieldvisit.queries.timing import TIMING_AGGREGATES, RouteTiming, timing_from
from fieldvisit.rules import checkins as rules

CLOCK_FIELDS = ("id", "last_report_at", "returned_at", "next_due_at", "departed_at")


@dataclass
class RouteState:
    """The locked route (its team loaded) and what a check-in reads with it."""

    route: Route
    timing: RouteTiming
    # request_sha256 of a check-in already recorded with this id (a retry), else None.
    recorded: str | None
    # The agent's clock on the route (the fields a check-in moves), None before their first.
    clock: AgentClock | None
    # Periodic reports only: the visit under way and the partner's latest fresh position.
    open_visit: Visit | None = None
    partner_position: tuple[float, float] | None = None


def _field(model: Any, name: str) -> Any:
    return model._meta.get_field(name)


@functools.cache
def _plan(vendor: str, periodic: bool) -> tuple[str, Any, int, int]:
    """The statement, its row converter, and where the route's and team's columns end."""
    q = rows.q
    route_fields, team_fields = rows.concrete(Route), rows.concrete(Team)
    stop, case, creditor = rows.table(Stop), rows.table(Case), rows.table(Creditor)
    checkin, clock, visit = rows.table(CheckIn), rows.table(AgentClock), rows.table(Visit)

    def creditor_min(column: str) -> str:
        return (
            f"(SELECT MIN(cr.{q(column)}) FROM {stop} s JOIN {case} c ON s.{q('case_id')} = "
            f"c.{q('id')} JOIN {creditor} cr ON c.{q('creditor_id')} = cr.{q('id')} "
            f"WHERE s.{q('route_id')} = r.{q('id')})"
        )

    def clock_column(name: str) -> str:
        column = q(_field(AgentClock, name).column)
        return (
            f"(SELECT k.{column} FROM {clock} k WHERE k.{q('route_id')} = r.{q('id')} "
            f"AND k.{q('agent_id')} = %s)"
        )

    selects = [rows.select_list("r", route_fields), rows.select_list("t", team_fields)]
    converted: list[Any] = [*route_fields, *team_fields]
    params_order = []
    for column in TIMING_AGGREGATES.values():
        selects.append(creditor_min(column))
        converted.append(None)
    selects.append(f"(SELECT x.{q('request_sha256')} FROM {checkin} x WHERE x.{q('id')} = %s)")
    converted.append(None)
    params_order.append("checkin")
    for name in CLOCK_FIELDS:
        selects.append(clock_column(name))
        converted.append(_field(AgentClock, name))
        params_order.append("agent")
    if periodic:
        under_way = ", ".join(f"'{s}'" for s in (VisitStatus.ARRIVING, VisitStatus.OPEN))
        for name in ("id", "status"):
            selects.append(
                f"(SELECT v.{q(name)} FROM {visit} v JOIN {stop} s ON v.{q('stop_id')} = "
                f"s.{q('id')} WHERE s.{q('route_id')} = r.{q('id')} AND v.{q('status')} IN "
                f"({under_way}) ORDER BY s.{q('sequence')} DESC LIMIT 1)"
            )
            converted.append(_field(Visit, name))
        for name in ("lat", "lon"):
            selects.append(
                f"(SELECT p.{q(name)} FROM {checkin} p WHERE p.{q('route_id')} = r.{q('id')} "
                f"AND p.{q('agent_id')} <> %s AND p.{q('captured_at')} >= %s "
                f"AND p.{q('captured_at')} <= %s ORDER BY p.{q('captured_at')} DESC LIMIT 1)"
            )
            converted.append(None)
            params_order += ["agent", "since", "until"]
    lock = " FOR NO KEY UPDATE OF r, t" if connection.features.has_select_for_no_key_update else ""
    sql = (
        f"SELECT {', '.join(selects)} FROM {rows.table(Route)} r JOIN {rows.table(Team)} t "
        f"ON r.{q('team_id')} = t.{q('id')} WHERE r.{q('id')} = %s{lock}"
    )
    params_order.append("route")
    return (
        sql,
        (rows.converter(converted), tuple(params_order)),
        len(route_fields),
        len(team_fields),
    )


EARLIEST = dt.datetime.min.replace(tzinfo=dt.UTC)
LATEST = dt.datetime.max.replace(tzinfo=dt.UTC)


def around(moment: dt.datetime, span: dt.timedelta) -> tuple[dt.datetime, dt.datetime]:
    """``moment`` minus and plus ``span``, in UTC, held within the times a datetime can
    hold: a phone's clock may say 0001-01-01T00:00Z, and 15 minutes before that is no time
    (OverflowError). Such a check-in is then refused by the rules, not by the arithmetic."""
    utc = moment.astimezone(dt.UTC)
    since = utc - span if utc - EARLIEST >= span else EARLIEST
    until = utc + span if LATEST - utc >= span else LATEST
    return since, until


def locked_route_state(
    route_id: uuid.UUID, agent_id: int, checkin_id: uuid.UUID, periodic_at: dt.datetime | None
) -> RouteState | None:
    """Lock the route and read what a check-in needs (None: no such route). ``periodic_at``:
    a periodic report's time (its visit under way and the partner's position come along)."""
    periodic = periodic_at is not None
    sql, (convert, order), n_route, n_team = _plan(connection.vendor, periodic)
    values = {
        "checkin": rows.param(_field(CheckIn, "id"), checkin_id),
        "agent": agent_id,
        "route": rows.param(_field(Route, "id"), route_id),
    }
    if periodic_at is not None:
        captured = _field(CheckIn, "captured_at")
        since, until = around(periodic_at, rules.PARTNER_FRESHNESS)
        values["since"] = rows.param(captured, since)
        values["until"] = rows.param(captured, until)
    with rows.cursor() as cursor:
        cursor.execute(sql, [values[name] for name in order])
        row = cursor.fetchone()
    if row is None:
        return None
    row = convert(row)
    route = rows.loaded(Route, rows.concrete(Route), row[:n_route])
    team = rows.loaded(Team, rows.concrete(Team), row[n_route : n_route + n_team])
    route.team = team
    rest = row[n_route + n_team :]
    n_timing = len(TIMING_AGGREGATES)
    timing = timing_from(dict(zip(TIMING_AGGREGATES, rest[:n_timing], strict=True)))
    recorded = rest[n_timing]
    clock_values = rest[n_timing + 1 : n_timing + 1 + len(CLOCK_FIELDS)]
    clock = None
    if clock_values[0] is not None:
        fields = [_field(AgentClock, name) for name in CLOCK_FIELDS]
        fields_in_order = [f for f in rows.concrete(AgentClock) if f in fields]
        by_name = dict(zip(CLOCK_FIELDS, clock_values, strict=True))
        clock = rows.loaded(AgentClock, fields_in_order, [by_name[f.name] for f in fields_in_order])
        clock.route_id, clock.agent_id = route.pk, agent_id
    state = RouteState(route=route, timing=timing, recorded=recorded, clock=clock)
    if periodic:
        visit_id, visit_status, lat, lon = rest[n_timing + 1 + len(CLOCK_FIELDS) :]
        if visit_id is not None:
            state.open_visit = rows.loaded(
                Visit, [_field(Visit, "id"), _field(Visit, "status")], [visit_id, visit_status]
            )
        if lat is not None:
            state.partner_position = (lat, lon)
    return state
