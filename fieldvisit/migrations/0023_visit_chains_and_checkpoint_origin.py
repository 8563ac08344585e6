"""Each visit's own chain in the ledger, and the origin each checkpoint was signed under.

Checkpoints signed before this carry the origin configured now (``LEDGER_ORIGIN``): it is
the one their signed notes were made with, unless it was changed before this migration, in
which case those notes never verified under the new name anyway. SQLite rebuilds both tables
for the new columns and constraints, so their append-only triggers are installed again.
"""

from django.conf import settings
from django.db import migrations, models

import fieldvisit.db.append_only


def configured_origin() -> str:
    return settings.LEDGER_ORIGIN


class Migration(migrations.Migration):
    dependencies = [
        ("fieldvisit", "0022_names_for_people"),
    ]

    operations = [
        migrations.AddField(
            model_name="checkpoint",
            name="origin",
            field=models.CharField(
                default=configured_origin,
                help_text="The log's name in the signed note, as it was when this was signed.",
                max_length=255,
                verbose_name="origin",
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="ledgerentry",
            name="chain_seq",
            field=models.PositiveIntegerField(
                blank=True, null=True, verbose_name="number in the visit chain"
            ),
        ),
        migrations.AddField(
            model_name="ledgerentry",
            name="chain_visit",
            field=models.CharField(
                blank=True, max_length=64, null=True, verbose_name="visit chain"
            ),
        ),
        migrations.AddConstraint(
            model_name="ledgerentry",
            constraint=models.UniqueConstraint(
                condition=models.Q(("chain_visit__isnull", False)),
                fields=("chain_visit", "chain_seq"),
                name="ledger_visit_chain_unique",
            ),
        ),
        migrations.AddConstraint(
            model_name="ledgerentry",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("chain_seq__isnull", True), ("chain_visit__isnull", True)),
                    models.Q(("chain_seq__gte", 1), ("chain_visit__isnull", False)),
                    _connector="OR",
                ),
                name="ledger_visit_chain_numbered",
            ),
        ),
        fieldvisit.db.append_only.AppendOnly("Checkpoint", again=True),
        fieldvisit.db.append_only.AppendOnly("LedgerEntry", again=True),
    ]
