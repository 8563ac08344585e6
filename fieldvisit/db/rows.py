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

from django.db import DEFAULT_DB_ALIAS, connection, connections, models


@functools.cache
def _prepared_classes() -> tuple[type, type]:
    from django.db.backends.postgresql.base import CursorDebugWrapper, ServerBindingCursor
    from django.db.backends.utils import CursorWrapper

    class PreparedCursor(ServerBindingCursor):
        """Binds on the server and prepares each statement on first use (psycopg keeps the
        connection's most recent statements prepared), so PostgreSQL plans it once."""

        def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
            kwargs["prepare"] = True
            return super().execute(query, params, **kwargs)

    class PreparedDebugWrapper(CursorDebugWrapper):
        """Logs (and counts) a prepared statement with its values, as Django logs any other:
        Django reads the statement back from the driver, which keeps none for these."""

        def execute(self, sql: str, params: Any = None) -> Any:
            with self.debug_sql(self.db.ops.compose_sql(sql, params)):
                return CursorWrapper.execute(self, sql, params)

    return PreparedCursor, PreparedDebugWrapper


@functools.cache
def _sqlite_statement_cursor() -> Callable[[Any], Any]:
    from django.db.backends.sqlite3.base import SQLiteCursorWrapper

    converted: dict[str, str] = {}

    class StatementCursor(SQLiteCursorWrapper):
        """Django's SQLite cursor, turning a statement's ``%s`` into SQLite's ``?`` once per
        statement instead of on every execute (a regular expression over the whole
        statement, a tenth of a ledger append's time in Python)."""

        def convert_query(self, query: str, *, param_names: Any = None) -> str:
            if param_names is not None:
                return super().convert_query(query, param_names=param_names)
            sql = converted.get(query)
            if sql is None:
                sql = super().convert_query(query)
                if len(converted) < 1024:  # statements written once: a few dozen
                    converted[query] = sql
            return sql

    def make(raw: Any) -> Any:
        return raw.cursor(factory=StatementCursor)

    return make


@functools.cache
def _statement_wrapper() -> type:
    from django.db.backends.utils import CursorWrapper

    class StatementWrapper(CursorWrapper):
        """Django's cursor wrapper, whose ``fetchone`` is a method: Django's builds a wrapped
        function on every call (as much as running the statement it reads)."""

        def fetchone(self) -> Any:
            with self.db.wrap_database_errors:
                return self.cursor.fetchone()

    return StatementWrapper


def cursor(db: Any = None) -> Any:
    """A cursor for statements written once (this module's and the hot paths'), to use in a
    ``with`` block; ``db``: the default connection, when the caller has it at hand (looking
    it up costs as much as running a statement). On PostgreSQL each statement is prepared on
    the connection, so it is planned once per connection, not on every request (planning a
    check-in's locked read took twice as long as running it); on SQLite it is Django's own
    cursor, converting each statement's placeholders once (the driver already keeps
    statements prepared). Statements still go through Django's wrappers: counted, logged,
    their errors Django's."""
    if db is None:
        db = connections[DEFAULT_DB_ALIAS]
    vendor = db.vendor
    if vendor == "postgresql":
        return wrapped_cursor(*_prepared_classes(), db=db)
    if vendor == "sqlite":
        return wrapped_cursor(_sqlite_statement_cursor(), db=db)
    return db.cursor()


def wrapped_cursor(make: Callable[[Any], Any], debug: Any = None, db: Any = None) -> Any:
    """A driver cursor made by ``make(the driver's connection)``, wrapped as Django wraps its
    own (health check, thread check, errors, execute wrappers, counting and logging; ``debug``:
    the logging wrapper's class, Django's own by default), to use in a ``with`` block;
    ``db``: the connection, the default one if not given."""
    if db is None:
        db = connections[DEFAULT_DB_ALIAS]
    db.close_if_health_check_failed()
    db.ensure_connection()
    db.validate_thread_sharing()
    with db.wrap_database_errors:
        raw = make(db.connection)
    if not db.queries_logged:
        return _statement_wrapper()(raw, db)
    if debug is not None:
        return debug(raw, db)
    return db.make_debug_cursor(raw)


def q(name: str) -> str:
    return connection.ops.quote_name(name)


def table(model: type[models.Model]) -> str:
    """The model's table, quoted."""
    return q(model._meta.db_table)


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


def loaded_each(
    parts: Sequence[tuple[type[models.Model], Sequence[models.Field]]], values: Sequence[Any]
) -> list[Any]:
    """The instances a joined row holds, each model's ``fields`` in turn (``loaded``); None
    for a model whose primary key is NULL (the missing row of a LEFT JOIN)."""
    instances, start = [], 0
    for model, fields in parts:
        mine = values[start : start + len(fields)]
        missing = mine[list(fields).index(model._meta.pk)] is None
        instances.append(None if missing else loaded(model, fields, mine))
        start += len(fields)
    return instances


@functools.cache
def _by_pk_plan(model: type[models.Model], vendor: str) -> tuple[str, Any]:
    fields = concrete(model)
    sql = (
        f"SELECT {select_list('t', fields)} FROM {table(model)} t "  # noqa: S608
        f"WHERE t.{q(model._meta.pk.column)} = %s"
    )
    return sql, converter(fields)


def by_pk(model: type[models.Model], pk: Any) -> Any:
    """``model.objects.filter(pk=pk).first()``, the statement written once: the instance, or
    None when there is no row with that key."""
    sql, convert = _by_pk_plan(model, connection.vendor)
    with cursor() as c:
        c.execute(sql, [param(model._meta.pk, pk)])
        row = c.fetchone()
    return None if row is None else loaded(model, concrete(model), convert(row))


def cache_related(*links: tuple[models.Model, str, Any]) -> None:
    """Each ``(holder, relation name, related instance)`` cached on its holder, as
    ``select_related`` leaves it (``holder.<name>`` then reads no row)."""
    for holder, name, related in links:
        type(holder)._meta.get_field(name).set_cached_value(holder, related)


def param(field: models.Field, value: Any) -> Any:
    """A value as a query parameter for this field."""
    return field.get_db_prep_value(value, connection, prepared=False)


@functools.cache
def _insert_sql(model: type[models.Model], vendor: str) -> str:
    fields = concrete(model)
    columns = ", ".join(q(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    return f"INSERT INTO {q(model._meta.db_table)} ({columns}) VALUES ({marks})"  # noqa: S608


Statement = tuple[str, list[Any]]


def insert_statement(obj: models.Model) -> Statement:
    """The INSERT of one new instance whose every field is set (no database default, no auto
    key), as ``save(force_insert=True)`` would write it, the statement built once; the
    instance counts as saved from here (run the statement in the same transaction). No
    signals are sent (the project has no receivers on the models written this way)."""
    fields = concrete(type(obj))
    values = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    obj._state.adding = False
    obj._state.db = connection.alias
    return _insert_sql(type(obj), connection.vendor), values


@functools.cache
def _update_sql(model: type[models.Model], names: tuple[str, ...], vendor: str) -> str:
    sets = ", ".join(f"{q(model._meta.get_field(n).column)} = %s" for n in names)
    pk = q(model._meta.pk.column)
    return f"UPDATE {q(model._meta.db_table)} SET {sets} WHERE {pk} = %s"  # noqa: S608


def update_statement(obj: models.Model, names: Sequence[str]) -> Statement:
    """``save(update_fields=names)`` of a loaded instance, the statement built once."""
    model = type(obj)
    fields = [model._meta.get_field(n) for n in names]
    values = [f.get_db_prep_save(f.pre_save(obj, False), connection) for f in fields]
    values.append(model._meta.pk.get_db_prep_value(obj.pk, connection))
    return _update_sql(model, tuple(names), connection.vendor), values
