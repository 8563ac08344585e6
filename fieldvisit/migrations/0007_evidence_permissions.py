"""Supervisors, legal and auditors read the evidence: files, photos, receipts, recordings."""

from django.db import migrations

from fieldvisit.db.grants import grant_permissions

EVIDENCE = [
    "view_evidencefile",
    "view_photo",
    "view_receipt",
    "view_recording",
    "view_audiosegment",
]
GRANTS = {"supervisor": EVIDENCE, "legal": EVIDENCE, "auditor": EVIDENCE}


class Migration(migrations.Migration):
    dependencies = [("fieldvisit", "0006_evidence")]

    operations = [grant_permissions(GRANTS)]
