"""The database itself refuses UPDATE and DELETE on append-only tables, on both engines."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from fieldvisit.db.append_only import (
    AppendOnlyViolation,
    append_only_models,
    guarded_models,
    install_sql,
    installed_triggers,
    trigger_names,
    uninstall_sql,
)
from fieldvisit.models import Checkpoint, LedgerEntry, LedgerNode, SigningKey
from tests.ledger.helpers import append_many

pytestmark = pytest.mark.django_db


def test_every_guarded_model_has_exactly_its_triggers() -> None:
    assert {LedgerEntry, LedgerNode, SigningKey, Checkpoint} <= set(append_only_models())
    for model in guarded_models():
        table = model._meta.db_table
        expected = set(trigger_names(table, model.refused_statements))
        assert installed_triggers(connection, table) == expected, table


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE fieldvisit_ledgerentry SET kind = 'forged' WHERE \"index\" = 0",
        'DELETE FROM fieldvisit_ledgerentry WHERE "index" = 0',
        "DELETE FROM fieldvisit_ledgerentry",
        "UPDATE fieldvisit_ledgernode SET level = 1",
        "DELETE FROM fieldvisit_ledgernode",
    ],
)
def test_raw_sql_changes_are_refused(sql: str) -> None:
    append_many(4)
    with (
        pytest.raises(IntegrityError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)
    assert LedgerEntry.objects.filter(kind="test.event").count() == 4


def test_orm_updates_and_deletes_are_refused() -> None:
    append_many(2)
    entry = LedgerEntry.objects.get(index=0)
    entry.kind = "forged"
    with pytest.raises(AppendOnlyViolation):
        entry.save()
    with pytest.raises(AppendOnlyViolation):
        entry.delete()
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.filter(index=1).update(kind="forged")
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.all().delete()
    assert LedgerEntry.objects.filter(kind="forged").count() == 0


def test_inserts_still_work() -> None:
    append_many(3)
    assert LedgerEntry.objects.filter(kind="test.event").count() == 3


def test_the_operation_uninstalls_and_reinstalls() -> None:
    """What a migration's backwards step does, and what tampering would need."""
    append_many(1)
    table = LedgerEntry._meta.db_table
    with transaction.atomic():
        with connection.cursor() as cursor:
            for sql in uninstall_sql(connection.vendor, table):
                cursor.execute(sql)
            assert installed_triggers(connection, table) == set()
            cursor.execute(f"UPDATE {table} SET kind = 'changed'")
            for sql in install_sql(connection.vendor, table):
                cursor.execute(sql)
        assert installed_triggers(connection, table) == set(trigger_names(table))
        with pytest.raises(IntegrityError), transaction.atomic():
            LedgerEntry.objects.update(kind="again")
