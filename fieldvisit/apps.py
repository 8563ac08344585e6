from django.apps import AppConfig
from django.db.models.signals import post_migrate

from fieldvisit.texts import _


class FieldVisitConfig(AppConfig):
    name = "fieldvisit"
    verbose_name = _("Field visits")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Load order: both need the models, which exist only once the registry is ready.
        from fieldvisit import checks  # noqa: F401  (registers the deployment checks)
        from fieldvisit.roles import ensure_role_groups

        # After auth's own handler has created the permissions (apps run in order).
        post_migrate.connect(ensure_role_groups, sender=self, dispatch_uid="fieldvisit-roles")
        from django.contrib.auth.signals import user_logged_in

        from fieldvisit.languages import remember_language
        from fieldvisit.zones import remember_zone

        user_logged_in.connect(remember_zone, dispatch_uid="fieldvisit-zone")
        user_logged_in.connect(remember_language, dispatch_uid="fieldvisit-language")

        # People by name wherever a page shows a user ("Wei Zhao (agent_a)"; the username
        # alone when no name is on file): admin columns, choices, messages. The ledger and
        # the API keep usernames.
        from django.contrib.auth.models import User

        from fieldvisit.words import person_name

        User.__str__ = person_name  # type: ignore[method-assign,assignment]
