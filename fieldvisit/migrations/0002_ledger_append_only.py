"""The ledger's tables refuse UPDATE and DELETE in the database itself (DESIGN rule 11)."""

from django.db import migrations

from fieldvisit.db.append_only import AppendOnly


class Migration(migrations.Migration):
    dependencies = [("fieldvisit", "0001_initial")]

    operations = [
        AppendOnly("LedgerEntry"),
        AppendOnly("LedgerNode"),
        AppendOnly("SigningKey"),
        AppendOnly("Checkpoint"),
    ]
