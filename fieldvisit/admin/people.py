from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from fieldvisit.actions.auth import revoke_token
from fieldvisit.actions.people import save_agent_profile
from fieldvisit.admin.base import ReadOnlyAdmin, TeamScopedAdmin
from fieldvisit.models import AgentProfile, DeviceToken, Team


class AgentInline(admin.TabularInline):
    model = AgentProfile
    extra = 0
    can_delete = False  # deactivate instead: who was qualified when is evidence
    fields = ["user", "badge_number", "background_check_on", "active"]
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(TeamScopedAdmin):
    team_field = ""

    list_display = ["name", "supervisor", "risk_manager", "timezone", "active"]
    list_filter = ["active"]
    list_select_related = ["supervisor", "risk_manager"]
    search_fields = ["name"]
    autocomplete_fields = ["supervisor", "risk_manager"]
    inlines = [AgentInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # Who oversees a team decides who sees its records: only a superuser changes it.
        if request.user.is_superuser:
            return []
        return ["supervisor", "risk_manager"]

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not AgentProfile:
            return super().save_formset(request, form, formset, change)
        for profile in formset.save(commit=False):
            save_agent_profile(profile, request.user)
        return None


@admin.register(AgentProfile)
class AgentProfileAdmin(TeamScopedAdmin):
    list_display = ["user", "badge_number", "team", "background_check_on", "active"]
    list_filter = ["active", "team"]
    list_select_related = ["user", "team"]
    search_fields = ["badge_number", "user__username", "user__first_name", "user__last_name"]
    autocomplete_fields = ["user", "team"]

    def save_model(self, request: HttpRequest, obj: AgentProfile, form: Any, change: bool) -> None:
        save_agent_profile(obj, request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deactivate instead: who was qualified when is evidence


@admin.register(DeviceToken)
class DeviceTokenAdmin(TeamScopedAdmin, ReadOnlyAdmin):
    """Supervisors revoke a lost phone's token here; the user's other devices keep working."""

    team_field = "user__agent_profile__team"

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

    @admin.action(description="Revoke the selected devices' tokens", permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[DeviceToken]) -> None:
        count = 0
        for token_id in queryset.filter(revoked_at__isnull=True).values_list("pk", flat=True):
            revoke_token(token_id, request.user, "revoked by a supervisor in admin")
            count += 1
        self.message_user(request, f"Revoked {count} token(s).", messages.SUCCESS)

    def has_revoke_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("fieldvisit.revoke_devicetoken")
