"""The five roles as auth groups, with the model permissions each needs in admin.

Agents work through the API only; planners draft routes; supervisors decide on routes and
changes and revoke device tokens; legal and auditors read. Nobody gets delete on evidence.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLE_PERMISSIONS = {
    "agent": [],
    "planner": [
        "view_creditor",
        "view_case",
        "add_case",
        "change_case",
        "view_address",
        "add_address",
        "change_address",
        "view_relation",
        "add_relation",
        "change_relation",
        "view_team",
        "view_agentprofile",
        "view_route",
        "add_route",
        "change_route",
        "delete_route",
        "view_stop",
        "add_stop",
        "change_stop",
        "delete_stop",
        "view_routechangerequest",
    ],
    "supervisor": [
        "view_creditor",
        "view_case",
        "view_address",
        "view_relation",
        "view_team",
        "change_team",
        "view_agentprofile",
        "add_agentprofile",
        "change_agentprofile",
        "view_route",
        "decide_route",
        "view_stop",
        "view_routechangerequest",
        "decide_routechangerequest",
        "view_devicetoken",
        "revoke_devicetoken",
        "view_ledgerentry",
        "view_checkpoint",
        "view_signingkey",
    ],
    "legal": [
        "view_creditor",
        "view_case",
        "view_address",
        "view_relation",
        "view_route",
        "view_stop",
        "view_ledgerentry",
        "view_checkpoint",
        "view_signingkey",
    ],
    "auditor": [
        "view_creditor",
        "view_case",
        "view_address",
        "view_relation",
        "view_team",
        "view_agentprofile",
        "view_route",
        "view_stop",
        "view_routechangerequest",
        "view_devicetoken",
        "view_ledgerentry",
        "view_checkpoint",
        "view_signingkey",
    ],
}


def create_groups(apps, schema_editor):
    # Permissions are normally created after all migrations; make them exist now.
    app_config = apps.get_app_config("fieldvisit")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0, apps=apps)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        perms = Permission.objects.filter(
            content_type__app_label="fieldvisit", codename__in=codenames
        )
        missing = set(codenames) - set(perms.values_list("codename", flat=True))
        if missing:
            raise RuntimeError(f"permissions missing for {role}: {sorted(missing)}")
        group.permissions.add(*perms)


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_PERMISSIONS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("fieldvisit", "0002_ledger_append_only"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
