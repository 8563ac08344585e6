"""Append-only tables: the model refuses to update or delete, and so does the database.

Evidence is never edited or deleted (DESIGN rule 11): corrections are new records. The model
mixin stops the ORM; the triggers stop everything else that speaks SQL (a shell, a script, a
compromised admin), for PostgreSQL and SQLite alike. Install them with the ``AppendOnly``
migration operation on every evidence table.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db import models
from django.db.migrations.operations.base import Operation

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION fieldvisit_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'append-only table %: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = '23000';
END;
$$;
"""


class AppendOnlyViolation(Exception):
    """Raised by the ORM guard before the database would refuse the same statement."""


BOTH = ("UPDATE", "DELETE")


def trigger_names(table: str, refuse: tuple[str, ...] = BOTH) -> list[str]:
    return [f"{table}_no_{op.lower()}" for op in refuse]


def install_sql(vendor: str, table: str, refuse: tuple[str, ...] = BOTH) -> list[str]:
    names = zip(trigger_names(table, refuse), refuse, strict=True)
    if vendor == "postgresql":
        return [PG_FUNCTION] + [
            f'CREATE TRIGGER "{name}" BEFORE {op} ON "{table}" '
            f"FOR EACH ROW EXECUTE FUNCTION fieldvisit_refuse_change();"
            for name, op in names
        ]
    if vendor == "sqlite":
        return [
            f'CREATE TRIGGER IF NOT EXISTS "{name}" BEFORE {op} ON "{table}" '
            f"BEGIN SELECT RAISE(ABORT, 'append-only table {table}: {op} refused'); END;"
            for name, op in names
        ]
    raise NotImplementedError(f"append-only triggers are not written for {vendor}")


def uninstall_sql(vendor: str, table: str) -> list[str]:
    if vendor == "postgresql":
        return [f'DROP TRIGGER IF EXISTS "{name}" ON "{table}";' for name in trigger_names(table)]
    return [f'DROP TRIGGER IF EXISTS "{name}";' for name in trigger_names(table)]


def installed_triggers(connection: Any, table: str) -> set[str]:
    """Names of this module's triggers present on ``table`` (for tests and checks)."""
    wanted = trigger_names(table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal",
                [table],
            )
        else:
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [table]
            )
        return {row[0] for row in cursor.fetchall()} & set(wanted)


class AppendOnly(Operation):
    """Migration operation: install UPDATE/DELETE-refusing triggers on a model's table.

    ``refuse=("DELETE",)`` installs only the DELETE trigger, for records whose state moves
    on through actions (an alert being resolved) but which must never disappear.

    ``again=True`` drops the triggers first and installs them anew: SQLite rebuilds a table
    for some schema changes (a new NOT NULL column) and the rebuilt table has no triggers, so
    a migration that changes a guarded table ends with this.
    """

    reversible = True
    reduces_to_sql = True

    def __init__(
        self, model_name: str, refuse: tuple[str, ...] = BOTH, again: bool = False
    ) -> None:
        self.model_name = model_name
        self.refuse = tuple(refuse)
        self.again = again

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        kwargs: dict[str, Any] = {"model_name": self.model_name}
        if self.refuse != BOTH:
            kwargs["refuse"] = self.refuse
        if self.again:
            kwargs["again"] = True
        return (self.__class__.__qualname__, [], kwargs)

    def state_forwards(self, app_label: str, state: Any) -> None:
        pass

    def _table(self, app_label: str, state: Any) -> str:
        return state.apps.get_model(app_label, self.model_name)._meta.db_table

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:  # type: ignore[no-untyped-def]
        table = self._table(app_label, to_state)
        vendor = schema_editor.connection.vendor
        for sql in uninstall_sql(vendor, table) if self.again else []:
            schema_editor.execute(sql, params=None)
        for sql in install_sql(vendor, table, self.refuse):
            schema_editor.execute(sql, params=None)

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:  # type: ignore[no-untyped-def]
        if self.again:
            return  # the triggers were there before this operation too
        table = self._table(app_label, from_state)
        for sql in uninstall_sql(schema_editor.connection.vendor, table):
            schema_editor.execute(sql, params=None)

    def describe(self) -> str:
        return f"Refuse {' and '.join(self.refuse)} on {self.model_name}"

    @property
    def migration_name_fragment(self) -> str:
        return f"append_only_{self.model_name.lower()}"


class UndeletableModel(models.Model):
    """Abstract base for records that may change state through actions but never vanish."""

    refused_statements: tuple[str, ...] = ("DELETE",)

    class Meta:
        abstract = True

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise AppendOnlyViolation(f"{type(self).__name__} records are never deleted.")


class AppendOnlyModel(UndeletableModel):
    """Abstract base for records that may be inserted but never changed or removed."""

    refused_statements = BOTH

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyViolation(f"{type(self).__name__} records are never changed.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)


def guarded_models() -> list[type[UndeletableModel]]:
    """Every concrete append-only or undeletable model, so a test can prove that each table
    has exactly the triggers its class promises."""
    return [m for m in apps.get_models() if issubclass(m, UndeletableModel)]


def append_only_models() -> list[type[models.Model]]:
    return [m for m in guarded_models() if issubclass(m, AppendOnlyModel)]
