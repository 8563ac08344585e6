"""Supervisors accept door photos the rules could not place; whoever reads evidence reads
those acceptances."""

from django.db import migrations

from fieldvisit.db.grants import grant_permissions

GRANTS = {
    "supervisor": ["add_photoacceptance", "view_photoacceptance"],
    "legal": ["view_photoacceptance"],
    "auditor": ["view_photoacceptance"],
}


class Migration(migrations.Migration):
    dependencies = [("fieldvisit", "0028_photo_acceptance")]

    operations = [grant_permissions(GRANTS)]
