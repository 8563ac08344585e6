"""Planners import cases from CSV or XLSX files (django-import-export)."""

from django.db import migrations

from fieldvisit.db.grants import grant_permissions

GRANTS = {"planner": ["import_case"]}


class Migration(migrations.Migration):
    dependencies = [("fieldvisit", "0011_ledger_timestamps")]

    operations = [
        migrations.AlterModelOptions(
            name="case",
            options={
                "ordering": ["number"],
                "permissions": [("import_case", "Can import cases from CSV or XLSX files")],
            },
        ),
        grant_permissions(GRANTS),
    ]
