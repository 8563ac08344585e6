"""Supervisors review visits; supervisors, legal and auditors read visits, their reports,
co-signatures and reviews."""

from django.db import migrations

from fieldvisit.db.grants import grant_permissions

REPORTS = ["view_visit", "view_visitreport", "view_reportcosignature", "view_visitreview"]
GRANTS = {"supervisor": [*REPORTS, "review_visit"], "legal": REPORTS, "auditor": REPORTS}


class Migration(migrations.Migration):
    dependencies = [("fieldvisit", "0008_reports")]

    operations = [grant_permissions(GRANTS)]
