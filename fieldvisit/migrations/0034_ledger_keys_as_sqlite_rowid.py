"""On SQLite, the ledger's keys become the tables' own rowids (``fieldvisit.db.fields``): an
entry's index no longer has a B-tree of its own beside the table, and a node's id no longer
goes through ``sqlite_sequence``; each append writes two B-trees fewer. SQLite rebuilds both
tables for this, without their triggers, which are installed again. PostgreSQL's columns
are unchanged."""

from django.db import migrations

import fieldvisit.db.append_only
import fieldvisit.db.fields


class Migration(migrations.Migration):
    dependencies = [
        ("fieldvisit", "0033_qualifications_team_lead"),
    ]

    operations = [
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
