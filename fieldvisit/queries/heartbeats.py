"""The route a heartbeat is kept on, locked, with its team and the agent's clock: one statement
written once (``fieldvisit.db.rows``), prepared on PostgreSQL.

Every phone out on a route beats once a minute, the request phones send most. The ORM compiled
its two reads afresh each time (the route under way, locked, then the clock) and wrote the
whole clock back; the route, its team and the clock now come in one statement, and the beat
writes only the clock's fields it moves (``actions.heartbeats``).
"""

from __future__ import annotations

import functools
import itertools
from typing import Any

from django.db import connection

from fieldvisit.choices import RouteStatus
from fieldvisit.db import rows
from fieldvisit.models import AgentClock, Route, Team

_PARTS = ((Route, "r"), (Team, "t"), (AgentClock, "k"))


@functools.cache
def _plan(vendor: str) -> tuple[str, Any, tuple[Any, ...]]:
    q = rows.q
    fields = [rows.concrete(model) for model, _ in _PARTS]
    selects = ", ".join(rows.select_list(a, f) for (_, a), f in zip(_PARTS, fields, strict=True))
    # The route's row, as Route.objects.select_for_update(no_key=True, of=("self",)) did, and
    # the clock's: a beat that waited for the route's lock then reads the clock as committed
    # (PostgreSQL re-reads only the rows it locks; a clock read with the route but not locked
    # would be the one from before the wait). Every writer of a clock locks its route first.
    lock = " FOR NO KEY UPDATE OF r, k" if connection.features.has_select_for_no_key_update else ""
    sql = (
        f"SELECT {selects} FROM {rows.table(Route)} r "
        f"JOIN {rows.table(Team)} t ON t.{q('id')} = r.{q('team_id')} "
        f"JOIN {rows.table(AgentClock)} k ON k.{q('route_id')} = r.{q('id')} "
        f"WHERE k.{q('agent_id')} = %s AND r.{q('status')} = %s "
        f"ORDER BY r.{q('date')} DESC LIMIT 1{lock}"
    )
    parts = tuple((model, f) for (model, _), f in zip(_PARTS, fields, strict=True))
    return sql, rows.converter(list(itertools.chain(*fields))), parts


def locked_route_under_way(agent_id: int) -> tuple[Route, AgentClock] | None:
    """The agent's latest route under way, locked, its team cached, and their clock on it
    (None: the agent is on no route under way). Inside the caller's transaction."""
    sql, convert, parts = _plan(connection.vendor)
    with rows.cursor() as cursor:
        cursor.execute(sql, [agent_id, RouteStatus.IN_PROGRESS.value])
        row = cursor.fetchone()
    if row is None:
        return None
    route, team, clock = rows.loaded_each(parts, convert(row))
    rows.cache_related((route, "team", team), (clock, "route", route))
    return route, clock


def save_clock(clock: AgentClock, names: list[str]) -> None:
    """``clock.save(update_fields=names)``, the statement written once."""
    with rows.cursor() as cursor:
        cursor.execute(*rows.update_statement(clock, names))
