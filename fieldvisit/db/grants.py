"""A migration operation granting model permissions to role groups (and revoking them when
migrated backwards). Data migrations stay frozen as written; this is the one copy of the
code they run."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.management import create_permissions
from django.db import migrations


def grant_permissions(grants: dict[str, list[str]]) -> migrations.RunPython:
    """``grants``: role group name -> codenames of fieldvisit permissions to add."""

    def grant(apps: Any, schema_editor: Any) -> None:
        app_config = apps.get_app_config("fieldvisit")
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
        Group = apps.get_model("auth", "Group")
        Permission = apps.get_model("auth", "Permission")
        for role, codenames in grants.items():
            group, _ = Group.objects.get_or_create(name=role)
            perms = list(
                Permission.objects.filter(
                    content_type__app_label="fieldvisit", codename__in=codenames
                )
            )
            if len(perms) != len(codenames):
                raise RuntimeError(f"permissions missing for {role}")
            group.permissions.add(*perms)

    def revoke(apps: Any, schema_editor: Any) -> None:
        Group = apps.get_model("auth", "Group")
        Permission = apps.get_model("auth", "Permission")
        for role, codenames in grants.items():
            for group in Group.objects.filter(name=role):
                group.permissions.remove(
                    *Permission.objects.filter(
                        content_type__app_label="fieldvisit", codename__in=codenames
                    )
                )

    return migrations.RunPython(grant, revoke)
