"""Plain SQL for a hot path, with the ORM's own column lists and value conversions.

A query the ORM would build afresh on every request (a third of a check-in's time went to
compiling SQL) is written once; its columns come from the models (a rename cannot go
unnoticed) and its values go through the same converters the ORM applies (SQLite returns
dates as text and UUIDs as hex), so the instances built from them are the ORM's own.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection, models


def q(name: str) -> str:
    return connection.ops.quote_name(name)


def concrete(model: type[models.Model]) -> list[models.Field]:
    return list(model._meta.concrete_fields)


def select_list(alias: str, fields: Sequence[models.Field]) -> str:
    return ", ".join(f"{alias}.{q(f.column)}" for f in fields)


def converter(fields: Sequence[models.Field | None]) -> Callable[[Sequence[Any]], list[Any]]:
    """A function converting a row's values as the ORM would for these fields (None: as is)."""
    plan = []
    for field in fields:
        if field is None:
            plan.append(())
            continue
        col = field.get_col("t")
        plan.append(
            (
                col,
                tuple(connection.ops.get_db_converters(col))
                + tuple(col.get_db_converters(connection)),
            )
        )

    def convert(row: Sequence[Any]) -> list[Any]:
        out = []
        for value, step in zip(row, plan, strict=True):
            if step:
                col, converters = step
                for fn in converters:
                    value = fn(value, col, connection)
            out.append(value)
        return out

    return convert


def loaded(model: type[models.Model], fields: Sequence[models.Field], values: Sequence[Any]) -> Any:
    """An instance as the ORM loads it (fields not given are deferred)."""
    return model.from_db(connection.alias, [f.attname for f in fields], list(values))


def param(field: models.Field, value: Any) -> Any:
    """A value as a query parameter for this field."""
    return field.get_db_prep_value(value, connection, prepared=False)


@functools.cache
def _insert_sql(model: type[models.Model], vendor: str) -> str:
    fields = concrete(model)
    columns = ", ".join(q(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    return f"INSERT INTO {q(model._meta.db_table)} ({columns}) VALUES ({marks})"  # noqa: S608


def insert(obj: models.Model) -> None:
    """INSERT one new instance whose every field is set (no database default, no auto key),
    as ``save(force_insert=True)`` would, without building the statement each time. No
    signals are sent (the project has no receivers on the models written this way)."""
    fields = concrete(type(obj))
    values = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(type(obj), connection.vendor), values)
    obj._state.adding = False
    obj._state.db = connection.alias


@functools.cache
def _update_sql(model: type[models.Model], names: tuple[str, ...], vendor: str) -> str:
    sets = ", ".join(f"{q(model._meta.get_field(n).column)} = %s" for n in names)
    pk = q(model._meta.pk.column)
    return f"UPDATE {q(model._meta.db_table)} SET {sets} WHERE {pk} = %s"  # noqa: S608


def update(obj: models.Model, names: Sequence[str]) -> None:
    """``save(update_fields=names)`` for a loaded instance, the statement built once."""
    model = type(obj)
    fields = [model._meta.get_field(n) for n in names]
    values = [f.get_db_prep_save(f.pre_save(obj, False), connection) for f in fields]
    values.append(model._meta.pk.get_db_prep_value(obj.pk, connection))
    with connection.cursor() as cursor:
        cursor.execute(_update_sql(model, tuple(names), connection.vendor), values)
