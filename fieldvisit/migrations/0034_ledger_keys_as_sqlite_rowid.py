"""On SQLite, the ledger's keys become the tables' own rowids (``fieldvisit.db.fields``): an
entry's index no longer has a B-tree of its own beside the table, and a node's id no longer
goes through ``sqlite_sequence``; each append writes two B-trees fewer. SQLite rebuilds both
tables for this, without their triggers, which are installed again. PostgreSQL's columns
are unchanged."""

from django.db import migrations

import fieldvisit.db.append_only
import fieldvisit.db.fields
from fieldvisit.db.append_only import install_sql, uninstall_sql


def _triggers_again(apps, schema_editor):  # type: ignore[no-untyped-def]
    """Going back: SQLite rebuilt the tables as they were, without their triggers."""
    vendor = schema_editor.connection.vendor
    for name in ("LedgerEntry", "LedgerNode"):
        table = apps.get_model("fieldvisit", name)._meta.db_table
        for sql in [*uninstall_sql(vendor, table), *install_sql(vendor, table)]:
            schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("fieldvisit", "0033_qualifications_team_lead"),
    ]

    operations = [
        # Undone last, after SQLite rebuilt the tables: their triggers back.
        migrations.RunPython(migrations.RunPython.noop, _triggers_again),
        migrations.AlterField(
            model_name="ledgerentry",
            name="index",
            field=fieldvisit.db.fields.RowidBigIntegerField(
                primary_key=True, serialize=False, verbose_name="index"
            ),
        ),
        migrations.AlterField(
            model_name="ledgernode",
            name="id",
            field=fieldvisit.db.fields.RowidAutoField(
                primary_key=True, serialize=False, verbose_name="ID"
            ),
        ),
        fieldvisit.db.append_only.AppendOnly(model_name="LedgerEntry", again=True),
        fieldvisit.db.append_only.AppendOnly(model_name="LedgerNode", again=True),
    ]
