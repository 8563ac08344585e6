"""Agents' papers and outsourcing agencies: recorded here (``actions.qualifications``), never
changed or deleted (a renewal is a new record), and each agent's standing shown where
supervisors look: the agent list and page say what is missing, expired or expiring within
30 days."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest

from fieldvisit.access import oversight_scope
from fieldvisit.actions.qualifications import (
    check_agreement,
    check_document,
    record_agreement,
    record_document,
)
from fieldvisit.admin.base import ReadOnlyInline, TeamScopedAdmin, checked_form
from fieldvisit.geo import local_today
from fieldvisit.models import Agency, AgencyAgreement, AgentProfile, QualificationDocument
from fieldvisit.rules.qualifications import check_papers, expiring, paper_name
from fieldvisit.texts import _, format_lazy

PAPER_FIELDS = ["reference", "issued_by", "issued_on", "expires_on"]
RECORDED = ["recorded_by", "recorded_at"]


def agent_today(profile: AgentProfile) -> dt.date:
    return local_today(profile.team.timezone if profile.team else settings.TIME_ZONE)


def standing(profile: AgentProfile, today: dt.date) -> str:
    """The agent's papers in a sentence: what is not in force today, else what runs out
    within 30 days, else in force (``documents`` and ``agency__agreements`` prefetched)."""
    papers = profile.papers()
    verdict = check_papers(papers, today)
    if not verdict.ok:
        return str(verdict.detail)
    if soon := expiring(papers, today):
        return str(
            format_lazy(
                _("Expiring: {papers}"),
                papers=", ".join(f"{paper_name(kind)} {until.isoformat()}" for kind, until in soon),
            )
        )
    return str(_("All papers in force"))


class PaperAdmin(admin.ModelAdmin):
    """Added once, never changed or deleted."""

    entered: list[str] = []  # what the add form asks for

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return self.entered if obj is None else [*self.entered, *RECORDED]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [] if obj is None else [*self.entered, *RECORDED]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(QualificationDocument)
class QualificationDocumentAdmin(PaperAdmin, TeamScopedAdmin):
    team_field = "agent__team"
    write_scope = staticmethod(oversight_scope)
    list_display = ["agent", "kind", "reference", "issued_on", "expires_on", *RECORDED]
    list_filter = ["kind"]
    list_select_related = ["agent__user", "recorded_by"]
    search_fields = ["reference", "agent__badge_number", "agent__user__username"]
    date_hierarchy = "expires_on"
    entered = ["agent", "kind", *PAPER_FIELDS]
    autocomplete_fields = ["agent"]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kw: Any):  # type: ignore[no-untyped-def]
        form = super().get_form(request, obj, change, **kw)
        return checked_form(form, check_document, request.user)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"agent": request.GET.get("agent")} if request.GET.get("agent") else {}

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        saved = record_document(
            agent_id=obj.agent_id,
            kind=obj.kind,
            reference=obj.reference,
            issued_by=obj.issued_by,
            issued_on=obj.issued_on,
            expires_on=obj.expires_on,
            by=request.user,
        )
        obj.pk = saved.pk


class DocumentInline(admin.TabularInline):
    """Every paper the agent ever had on file, newest expiry first, none changeable; those
    who record papers add one here (a renewal is one more row)."""

    model = QualificationDocument
    extra = 0
    can_delete = False
    ordering = ["kind", "-expires_on"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["kind", *PAPER_FIELDS, *RECORDED]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return RECORDED

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        formset.form = checked_form(formset.form, check_document, request.user)
        return formset

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Papers are recorded for an agent on file: not while the profile itself is added.
        return obj is not None and request.user.has_perm("fieldvisit.add_qualificationdocument")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AgreementInline(ReadOnlyInline):
    model = AgencyAgreement
    fields = [*PAPER_FIELDS, *RECORDED]
    readonly_fields = fields
    ordering = ["-expires_on"]
    show_change_link = False


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ["name", "registration_number", "active"]
    list_filter = ["active"]
    search_fields = ["name", "registration_number"]
    inlines = [AgreementInline]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deactivate instead: its agents' standing on past days is evidence


@admin.register(AgencyAgreement)
class AgencyAgreementAdmin(PaperAdmin):
    list_display = ["agency", "reference", "issued_on", "expires_on", *RECORDED]
    list_select_related = ["agency", "recorded_by"]
    search_fields = ["reference", "agency__name"]
    entered = ["agency", *PAPER_FIELDS]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kw: Any):  # type: ignore[no-untyped-def]
        form = super().get_form(request, obj, change, **kw)
        return checked_form(form, check_agreement, request.user)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        saved = record_agreement(
            agency_id=obj.agency_id,
            reference=obj.reference,
            issued_by=obj.issued_by,
            issued_on=obj.issued_on,
            expires_on=obj.expires_on,
            by=request.user,
        )
        obj.pk = saved.pk
