"""The upload a tus request names, and its lease's writes: statements written once
(``fieldvisit.db.rows``), prepared on PostgreSQL.

A phone sends a PATCH for every chunk (a megabyte), and each read the upload, checked that
its owner may still upload to the visit (a five-table query), then took and gave back the
lease: four statements the ORM compiled afresh every time, a third of a PATCH's own work. The
upload is now read with the route its visit is on and that route's team, as
``select_related("visit__stop__route__team")`` would load them (the visit and the stop with
only the keys that lead on, the rest deferred), so the uploader check needs no query
(``recordings.require_uploader_on``).
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from typing import Any

from django.db import connection
from django.utils import timezone

from fieldvisit.choices import UploadStatus
from fieldvisit.db import rows
from fieldvisit.models import Route, Stop, Team, Upload, Visit


def _fields(model: type, *names: str) -> list[Any]:
    return [model._meta.get_field(name) for name in names]


@functools.cache
def _read_plan(vendor: str) -> tuple[str, Any, tuple[Any, ...]]:
    """The statement, its row converter, and each model with its fields in the row."""
    q = rows.q
    fields = [
        rows.concrete(Upload),
        _fields(Visit, "id", "stop"),
        _fields(Stop, "id", "route"),
        rows.concrete(Route),
        rows.concrete(Team),
    ]
    selects = [rows.select_list(a, f) for a, f in zip("uvsrt", fields, strict=True)]
    sql = (
        f"SELECT {', '.join(selects)} FROM {rows.table(Upload)} u "
        f"JOIN {rows.table(Visit)} v ON v.{q('id')} = u.{q('visit_id')} "
        f"JOIN {rows.table(Stop)} s ON s.{q('id')} = v.{q('stop_id')} "
        f"JOIN {rows.table(Route)} r ON r.{q('id')} = s.{q('route_id')} "
        f"JOIN {rows.table(Team)} t ON t.{q('id')} = r.{q('team_id')} "
        f"WHERE u.{q('id')} = %s AND u.{q('owner_id')} = %s"
    )
    parts = tuple(zip((Upload, Visit, Stop, Route, Team), fields, strict=True))
    return sql, rows.converter(list(itertools.chain(*fields))), parts


def owned_upload(upload_id: Any, owner_id: int) -> Upload | None:
    """The upload with this id if ``owner_id`` owns it (None otherwise), its visit's stop's
    route and team cached on it."""
    sql, convert, parts = _read_plan(connection.vendor)
    with rows.cursor() as cursor:
        cursor.execute(sql, [rows.param(Upload._meta.pk, upload_id), owner_id])
        row = cursor.fetchone()
    if row is None:
        return None
    upload, visit, stop, route, team = rows.loaded_each(parts, convert(row))
    rows.cache_related(
        (upload, "visit", visit),
        (visit, "stop", stop),
        (stop, "route", route),
        (route, "team", team),
    )
    return upload


@functools.cache
def _lease_sql(vendor: str, at_offset: bool, taking_over: bool) -> str:
    """Take the lease of a receiving upload (at an offset, if given): a free one, or, taking
    over, the lease of a writer that died."""
    q, cols = rows.q, {f.name: rows.q(f.column) for f in rows.concrete(Upload)}
    held = f"{cols['lease']} = %s" if taking_over else (
        f"({cols['lease']} = '' OR {cols['lease_until']} < %s)"
    )  # fmt: skip
    offset = f" AND {cols['offset']} = %s" if at_offset else ""
    return (
        f"UPDATE {rows.table(Upload)} SET {cols['lease']} = %s, {cols['lease_until']} = %s "
        f"WHERE {q(Upload._meta.pk.column)} = %s AND {cols['status']} = %s{offset} AND {held}"
    )


def take_lease(
    upload_id: Any,
    token: str,
    until: dt.datetime,
    *,
    offset: int | None = None,
    now: dt.datetime | None = None,
    over: str | None = None,
) -> bool:
    """Set the lease ``token`` (until ``until``) on the upload while it is receiving (and at
    ``offset``, if given), if its lease is free at ``now`` (this moment by default), or is
    ``over`` (a dead writer's, taken over); whether it was taken."""
    sql = _lease_sql(connection.vendor, offset is not None, over is not None)
    at = Upload._meta.get_field("lease_until")
    params = [token, rows.param(at, until), rows.param(Upload._meta.pk, upload_id)]
    params.append(UploadStatus.RECEIVING)
    if offset is not None:
        params.append(offset)
    params.append(over if over is not None else rows.param(at, now or timezone.now()))
    with rows.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount == 1


@functools.cache
def _release_sql(vendor: str, names: tuple[str, ...]) -> str:
    q, cols = rows.q, {f.name: rows.q(f.column) for f in rows.concrete(Upload)}
    sets = ", ".join(f"{cols[name]} = %s" for name in ("lease", "lease_until", *names))
    return (
        f"UPDATE {rows.table(Upload)} SET {sets} "
        f"WHERE {q(Upload._meta.pk.column)} = %s AND {cols['lease']} = %s"
    )


def release_lease(upload_id: Any, token: str, **changes: Any) -> None:
    """Give the lease ``token`` back, writing ``changes`` (fields of the upload) with it;
    nothing if the lease is no longer that one."""
    names = tuple(sorted(changes))
    fields = [Upload._meta.get_field(name) for name in names]
    values = [field.get_db_prep_save(changes[field.name], connection) for field in fields]
    with rows.cursor() as cursor:
        cursor.execute(
            _release_sql(connection.vendor, names),
            ["", None, *values, rows.param(Upload._meta.pk, upload_id), token],
        )
