"""Supervisors, legal and auditors read the evidence: files, photos, receipts, recordings."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

EVIDENCE = ["view_evidencefile", "view_photo", "view_receipt", "view_recording", "view_audiosegment"]
GRANTS = {"supervisor": EVIDENCE, "legal": EVIDENCE, "auditor": EVIDENCE}


def grant(apps, schema_editor):
    app_config = apps.get_app_config("fieldvisit")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0, apps=apps)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in GRANTS.items():
        group, _ = Group.objects.get_or_create(name=role)
        perms = list(
            Permission.objects.filter(content_type__app_label="fieldvisit", codename__in=codenames)
        )
        if len(perms) != len(codenames):
            raise RuntimeError(f"permissions missing for {role}")
        group.permissions.add(*perms)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in GRANTS.items():
        for group in Group.objects.filter(name=role):
            group.permissions.remove(
                *Permission.objects.filter(
                    content_type__app_label="fieldvisit", codename__in=codenames
                )
            )


class Migration(migrations.Migration):
    dependencies = [("fieldvisit", "0006_evidence")]

    operations = [migrations.RunPython(grant, revoke)]
