from django.apps import AppConfig


class FieldVisitConfig(AppConfig):
    name = "fieldvisit"
    verbose_name = "Field visits"
    default_auto_field = "django.db.models.BigAutoField"
