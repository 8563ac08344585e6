from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from fieldvisit.access import evidence_scope, field_agents, oversight_scope, team_in_scope
from fieldvisit.actions.auth import revoke_token
from fieldvisit.actions.oncall import record_chain
from fieldvisit.actions.people import check_agent_profile, save_agent_profile
from fieldvisit.actions.qualifications import record_document
from fieldvisit.admin.base import ReadOnlyAdmin, ScopedChoices, TeamScopedAdmin, checked_form
from fieldvisit.admin.oncall import OnCallInline
from fieldvisit.admin.qualifications import DocumentInline, agent_today, standing
from fieldvisit.models import AgentProfile, DeviceToken, OnCallEntry, QualificationDocument, Team
from fieldvisit.rules import RuleViolation
from fieldvisit.texts import _, format_lazy


class AgentUserChoices:
    """An agent profile's ``user`` choices: field agents without one (``field_agents``: no
    staff), or agents of the teams the user oversees (a profile never changes hands: the
    action refuses that with a form error)."""

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]
        if field is not None and db_field.name == "user":
            field.queryset = field.queryset.filter(
                (Q(agent_profile__isnull=True) & field_agents(""))
                | oversight_scope(request.user, "agent_profile__team")
            )
        return field


class OverseenOnly:
    """Agents and teams are changed by those who oversee them (``oversight_scope``): others
    who may read them (planners, auditors; a planner who also supervises, for the teams they
    do not oversee) get the read-only page, and a POST is refused (403)."""

    write_scope = staticmethod(oversight_scope)
    team_attribute = "team_id"

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and not team_in_scope(
            oversight_scope(request.user, ""), getattr(obj, self.team_attribute)
        ):
            return False
        return super().has_change_permission(request, obj)  # type: ignore[misc]


class AgentInline(AgentUserChoices, ScopedChoices, admin.TabularInline):
    model = AgentProfile
    extra = 0
    can_delete = False  # deactivate instead: who was qualified when is evidence
    fields = ["user", "badge_number", "background_check_on", "active"]
    autocomplete_fields = ["user"]
    write_scope = staticmethod(oversight_scope)

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        formset.form = checked_form(formset.form, check_agent_profile, request.user)
        return formset


@admin.register(Team)
class TeamAdmin(OverseenOnly, TeamScopedAdmin):
    team_field = ""
    team_attribute = "pk"

    list_display = ["name", "supervisor", "lead", "risk_manager", "timezone", "active"]
    list_filter = ["active"]
    list_select_related = ["supervisor", "lead", "risk_manager"]
    search_fields = ["name"]
    autocomplete_fields = ["supervisor", "lead", "risk_manager"]
    inlines = [AgentInline, OnCallInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # Who oversees a team decides who sees its records: only a superuser changes it.
        if request.user.is_superuser:
            return []
        return ["supervisor", "lead", "risk_manager"]

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is OnCallEntry:
            super().save_formset(request, form, formset, change)
            if formset.has_changed():
                record_chain(form.instance, request.user)
            return None
        if formset.model is not AgentProfile:
            return super().save_formset(request, form, formset, change)
        for profile in formset.save(commit=False):
            save_agent_profile(profile, request.user)
        return None


@admin.register(AgentProfile)
class AgentProfileAdmin(AgentUserChoices, OverseenOnly, TeamScopedAdmin):
    list_display = [
        "user",
        "badge_number",
        "team",
        "agency",
        "background_check_on",
        "papers",
        "active",
    ]
    # The "team" filter offers only the teams of the rows in scope, not every team's name.
    list_filter = ["active", ("team", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["user", "team", "agency"]
    search_fields = ["badge_number", "user__username", "user__first_name", "user__last_name"]
    autocomplete_fields = ["user", "team"]
    inlines = [DocumentInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[AgentProfile]:
        return super().get_queryset(request).prefetch_related("documents", "agency__agreements")

    @admin.display(description=_("papers"))
    def papers(self, obj: AgentProfile) -> str:
        """Whether the agent's papers are in force today, or which run out within 30 days."""
        return standing(obj, agent_today(obj)) if obj.pk is not None else "-"

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # A profile stays its agent's (the ledger follows it as ``user:<id>``).
        return ["user", "papers"] if obj is not None else []

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kw: Any):  # type: ignore[no-untyped-def]
        form = super().get_form(request, obj, change, **kw)
        return checked_form(form, check_agent_profile, request.user)

    def save_model(self, request: HttpRequest, obj: AgentProfile, form: Any, change: bool) -> None:
        save_agent_profile(obj, request.user)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not QualificationDocument:
            return super().save_formset(request, form, formset, change)
        for document in formset.save(commit=False):  # new papers only: none is ever changed
            record_document(
                agent_id=form.instance.pk,
                kind=document.kind,
                reference=document.reference,
                issued_by=document.issued_by,
                issued_on=document.issued_on,
                expires_on=document.expires_on,
                by=request.user,
            )
        return None

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deactivate instead: who was qualified when is evidence


@admin.register(DeviceToken)
class DeviceTokenAdmin(TeamScopedAdmin, ReadOnlyAdmin):
    """Supervisors revoke a lost phone's token here; the user's other devices keep working."""

    team_field = "user__agent_profile__team"
    # Legal has no view permission; auditors read every device; a supervisor, planner or
    # not, the devices of their own teams' agents: planning gives no business with tokens.
    read_scope = staticmethod(evidence_scope)

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

    @admin.action(description=_("Revoke the selected devices' tokens"), permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[DeviceToken]) -> None:
        count = 0
        # Only the teams the user oversees (the action checks it again for each token).
        overseen = queryset.filter(oversight_scope(request.user, "user__agent_profile__team"))
        if not request.user.is_superuser:
            overseen = overseen.filter(field_agents("user"))  # never staff's tokens
        for token_id in overseen.filter(revoked_at__isnull=True).values_list("pk", flat=True):
            try:
                revoke_token(token_id, request.user, _("revoked by a supervisor in admin"))
            except RuleViolation as exc:
                self.message_user(request, exc.detail, messages.ERROR)
            else:
                count += 1
        self.message_user(
            request,
            format_lazy(_("Revoked {count} token(s)."), count=count),
            messages.SUCCESS,
        )

    def has_revoke_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("fieldvisit.revoke_devicetoken")
