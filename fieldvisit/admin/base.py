"""Shared admin pieces."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from fieldvisit.access import staff_scope


class ReadOnlyAdmin(admin.ModelAdmin):
    """Evidence and audit records: viewable, never added, changed or deleted here."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class LoggedReadsAdmin(admin.ModelAdmin):
    """Evidence pages: each opening of a record by legal or a supervisor is logged."""

    def change_view(self, request: HttpRequest, object_id: str, *args: Any, **kwargs: Any) -> Any:
        from fieldvisit.access_log import record_read

        response = super().change_view(request, object_id, *args, **kwargs)
        if response.status_code == 200:
            name = self.model._meta.model_name
            record_read(request.user, name, f"{name}:{object_id}", via="admin")
        return response


class TeamScopedAdmin(admin.ModelAdmin):
    """Rows bound to a team show only to the staff who oversee that team."""

    team_field = "team"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        return queryset.filter(staff_scope(request.user, self.team_field))
