from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from fieldvisit.access import has_role
from fieldvisit.actions.auth import revoke_token
from fieldvisit.admin.base import ReadOnlyAdmin
from fieldvisit.choices import Role
from fieldvisit.models import AgentProfile, DeviceToken, Team


class AgentInline(admin.TabularInline):
    model = AgentProfile
    extra = 0
    fields = ["user", "badge_number", "background_check_on", "active"]
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "supervisor", "risk_manager", "timezone", "active"]
    list_filter = ["active"]
    list_select_related = ["supervisor", "risk_manager"]
    search_fields = ["name"]
    autocomplete_fields = ["supervisor", "risk_manager"]
    inlines = [AgentInline]


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "badge_number", "team", "background_check_on", "active"]
    list_filter = ["active", "team"]
    list_select_related = ["user", "team"]
    search_fields = ["badge_number", "user__username", "user__first_name", "user__last_name"]
    autocomplete_fields = ["user", "team"]


@admin.register(DeviceToken)
class DeviceTokenAdmin(ReadOnlyAdmin):
    """Supervisors revoke a lost phone's token here; the user's other devices keep working."""

    list_display = [
        "user",
        "device_name",
        "device_id",
        "platform",
        "key_prefix",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["platform", ("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["user", "revoked_by"]
    search_fields = ["user__username", "device_id", "device_name", "key_prefix"]
    actions = ["revoke"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[DeviceToken]:
        """Supervisors see and revoke the devices of the teams they supervise."""
        queryset = super().get_queryset(request)
        if request.user.is_superuser or has_role(request.user, Role.AUDITOR):
            return queryset
        teams = Q(user__agent_profile__team__supervisor=request.user) | Q(
            user__agent_profile__team__risk_manager=request.user
        )
        return queryset.filter(teams)

    @admin.action(description="Revoke the selected devices' tokens", permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[DeviceToken]) -> None:
        count = 0
        for token_id in queryset.filter(revoked_at__isnull=True).values_list("pk", flat=True):
            revoke_token(token_id, request.user, "revoked by a supervisor in admin")
            count += 1
        self.message_user(request, f"Revoked {count} token(s).", messages.SUCCESS)

    def has_revoke_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("fieldvisit.revoke_devicetoken")
