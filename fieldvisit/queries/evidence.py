"""The visit a photo or a receipt is sent to, read with what its rules need: one statement
written once (``fieldvisit.db.rows``), prepared on PostgreSQL.

Before, the ORM compiled the read afresh for every upload: the visits the agent may see, with
``select_related("stop__route", "stop__address", "stop__case__creditor")``. Compiling it took
ten times as long as running it (3.4 ms against 0.25 on a busy machine). The visit is now read
by its id with its stop, route, team, address, case and creditor cached, and whether the
agent may see it is judged in Python (``access.route_visible_to``, the same rule), so an
unseen visit is still absent. So are the two facts every photo and receipt is judged by: when
the visit began and ended (its first arrival and last leave, ``visit_bounds``) and where
the partner last was.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from typing import Any

from django.db import connection

from fieldvisit.choices import CheckInKind
from fieldvisit.db import rows
from fieldvisit.models import Address, Case, CheckIn, Creditor, Route, Stop, Team, Visit

# Each model with the instance it hangs from and the relation's name: the visit first.
_CHAIN = (
    (Visit, None, None),
    (Stop, 0, "stop"),
    (Route, 1, "route"),
    (Team, 2, "team"),
    (Address, 1, "address"),
    (Case, 1, "case"),
    (Creditor, 5, "creditor"),
)


@functools.cache
def _read_plan(vendor: str) -> tuple[str, Any, tuple[Any, ...]]:
    """The statement, its row converter, and each model with its fields in the row."""
    q = rows.q
    fields = [rows.concrete(model) for model, _, _ in _CHAIN]
    aliases = ("v", "s", "r", "t", "a", "c", "k")
    selects = [rows.select_list(a, f) for a, f in zip(aliases, fields, strict=True)]
    joins = "".join(
        f" JOIN {rows.table(model)} {aliases[n]} ON {aliases[n]}.{q(model._meta.pk.column)} = "
        f"{aliases[parent]}.{q(_CHAIN[parent][0]._meta.get_field(name).column)}"
        for n, (model, parent, name) in enumerate(_CHAIN)
        if parent is not None
    )
    sql = (
        f"SELECT {', '.join(selects)} FROM {rows.table(Visit)} v{joins} "
        f"WHERE v.{q(Visit._meta.pk.column)} = %s"
    )
    parts = tuple((model, f) for (model, _, _), f in zip(_CHAIN, fields, strict=True))
    return sql, rows.converter(list(itertools.chain(*fields))), parts


def visit_for_evidence(visit_id: Any) -> Visit | None:
    """The visit with this id (None if there is none), with ``stop``, ``stop.route``,
    ``stop.route.team``, ``stop.address``, ``stop.case`` and ``stop.case.creditor`` cached,
    each with all its fields."""
    sql, convert, parts = _read_plan(connection.vendor)
    with rows.cursor() as cursor:
        cursor.execute(sql, [rows.param(Visit._meta.pk, visit_id)])
        row = cursor.fetchone()
    if row is None:
        return None
    instances = rows.loaded_each(parts, convert(row))
    rows.cache_related(
        *(
            (instances[parent], name, instance)
            for instance, (_, parent, name) in zip(instances, _CHAIN, strict=True)
            if parent is not None
        )
    )
    return instances[0]


@functools.cache
def _bounds_plan(vendor: str) -> tuple[str, Any]:
    cols = {f.name: rows.q(f.column) for f in rows.concrete(CheckIn)}
    at, kind = cols["captured_at"], cols["kind"]
    sql = (
        f"SELECT MIN(CASE WHEN {kind} = %s THEN {at} END), "
        f"MAX(CASE WHEN {kind} = %s THEN {at} END) "
        f"FROM {rows.table(CheckIn)} WHERE {cols['visit']} = %s"
    )
    captured = CheckIn._meta.get_field("captured_at")
    return sql, rows.converter([captured, captured])


def visit_bounds(visit_id: Any) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The visit's first arrival and last leave, as captured (None: none yet)."""
    sql, convert = _bounds_plan(connection.vendor)
    params = [CheckInKind.ARRIVE.value, CheckInKind.LEAVE.value]
    with rows.cursor() as cursor:
        cursor.execute(sql, [*params, rows.param(Visit._meta.pk, visit_id)])
        first, last = convert(cursor.fetchone())
    return first, last


@functools.cache
def _partner_plan(vendor: str) -> tuple[str, Any]:
    cols = {f.name: rows.q(f.column) for f in rows.concrete(CheckIn)}
    table = rows.table(CheckIn)
    sql = (
        f"SELECT {cols['lat']}, {cols['lon']} FROM {table} WHERE {cols['route']} = %s "
        f"AND {cols['captured_at']} <= %s AND {cols['agent']} IN ("
        f"SELECT {cols['agent']} FROM {table} WHERE {cols['visit']} = %s "
        f"AND {cols['kind']} = %s AND {cols['agent']} <> %s) "
        f"ORDER BY {cols['captured_at']} DESC LIMIT 1"
    )
    return sql, rows.converter([CheckIn._meta.get_field("lat"), CheckIn._meta.get_field("lon")])


def partner_position(
    visit_id: Any, route_id: Any, agent_id: int, moment: dt.datetime
) -> tuple[float, float] | None:
    """The latest position on the route, at or before ``moment``, of the visit's other arrived
    agents: their latest check-in's (None: no partner arrived, or none reported by then)."""
    sql, convert = _partner_plan(connection.vendor)
    params = [
        rows.param(Route._meta.pk, route_id),
        rows.param(CheckIn._meta.get_field("captured_at"), moment),
        rows.param(Visit._meta.pk, visit_id),
        CheckInKind.ARRIVE.value,
        agent_id,
    ]
    with rows.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return None if row is None else tuple(convert(row))  # type: ignore[return-value]
