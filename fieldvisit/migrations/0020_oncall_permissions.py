"""Supervisors keep their teams' on-call chains and the contacts of the people on them, and
read what became of every alert notification."""

from django.db import migrations

from fieldvisit.db.grants import grant_permissions

GRANTS = {
    "supervisor": [
        "view_oncallentry",
        "add_oncallentry",
        "change_oncallentry",
        "delete_oncallentry",
        "view_contactpoint",
        "add_contactpoint",
        "change_contactpoint",
        "delete_contactpoint",
        "view_alertnotice",
        "view_deliveryattempt",
    ]
}


class Migration(migrations.Migration):
    dependencies = [("fieldvisit", "0019_oncall_chains_and_deliveries")]

    operations = [grant_permissions(GRANTS)]
