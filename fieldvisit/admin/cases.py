from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from import_export.admin import ImportMixin

from fieldvisit import import_files
from fieldvisit.admin.base import TeamScopedAdmin
from fieldvisit.imports import CaseResource
from fieldvisit.models import Address, Case, Creditor, Relation


@admin.register(Creditor)
class CreditorAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "visit_hours_start", "visit_hours_end", "geofence_radius_m"]
    search_fields = ["name", "code"]
    fieldsets = [
        (None, {"fields": ["name", "code"]}),
        (
            "Visit hours (address's local time)",
            {"fields": ["visit_hours_start", "visit_hours_end"]},
        ),
        (
            "Visit rules",
            {
                "fields": [
                    "geofence_radius_m",
                    "pair_arrival_window_min",
                    "pair_arrival_distance_m",
                    "team_split_distance_m",
                    "recording_max_gap_s",
                ]
            },
        ),
        (
            "Check-ins and escalation",
            {"fields": ["checkin_interval_min", "checkin_grace_min", "escalation_after_min"]},
        ),
        ("Frequency caps", {"fields": ["max_visits_per_day", "max_visits_per_7_days"]}),
    ]


class AddressInline(admin.TabularInline):
    model = Address
    extra = 0
    fields = ["kind", "text", "lat", "lon", "timezone"]


class RelationInline(admin.TabularInline):
    model = Relation
    extra = 0
    fields = ["name", "kind", "phone", "notes"]


@admin.register(Case)
class CaseAdmin(ImportMixin, TeamScopedAdmin):
    """Planners import the risk department's case lists (see fieldvisit/imports.py): a dry
    run shows every row's fate and errors first, and the confirmed import is all or nothing.
    There is deliberately no export: a case file would carry full ID numbers."""

    resource_classes = [CaseResource]
    # Read within limits (size, zip, rows, columns, cells) before any row is looked at.
    import_formats = [import_files.CSV, import_files.XLSX]
    import_form_class = import_files.CaseImportForm
    list_display = [
        "number",
        "debtor_name",
        "amount_due",
        "creditor",
        "team",
        "status",
        "reachable",
    ]
    # The "team" filter offers only the teams of the rows in scope, not every team's name.
    list_filter = ["status", "reachable", "creditor", ("team", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["creditor", "team"]
    search_fields = ["number", "debtor_name", "debtor_phone"]
    autocomplete_fields = ["creditor", "team"]
    inlines = [AddressInline, RelationInline]
    readonly_fields = ["created_at", "updated_at"]

    def has_import_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("fieldvisit.import_case")

    def add_data_read_fail_error_to_form(self, form: Any, e: Exception) -> None:
        if isinstance(e, import_files.ImportFileRefused):
            form.add_error("import_file", str(e))
        else:
            super().add_data_read_fail_error_to_form(form, e)

    def get_import_data_kwargs(self, **kwargs: Any) -> dict[str, Any]:
        # The confirmed import re-reads the file: should a row fail now (the data changed
        # since the preview), nothing of the file is kept.
        return {**super().get_import_data_kwargs(**kwargs), "rollback_on_validation_errors": True}

    def process_import(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        # The confirmation names the previewed file and its format; a stale or forged one
        # (the file gone, another server's temporary folder, a format that is not in the
        # list, bytes that no longer parse) is a message, never a server error.
        try:
            return super().process_import(request, **kwargs)
        except (OSError, LookupError, ValueError, UnicodeError):
            self.message_user(
                request,
                "The previewed file is no longer available. Upload it again.",
                messages.ERROR,
            )
            return HttpResponseRedirect(reverse("admin:fieldvisit_case_import"))

    def process_result(self, result: Any, request: HttpRequest) -> HttpResponse:
        if result.has_errors() or result.has_validation_errors():
            self.message_user(
                request,
                "Nothing was imported: the file no longer imports cleanly. Preview it again.",
                messages.ERROR,
            )
            return HttpResponseRedirect(reverse("admin:fieldvisit_case_import"))
        return super().process_result(result, request)


@admin.register(Address)
class AddressAdmin(TeamScopedAdmin):
    team_field = "case__team"

    list_display = ["text", "kind", "case", "lat", "lon", "timezone"]
    list_filter = ["kind"]
    list_select_related = ["case"]
    search_fields = ["text", "case__number", "case__debtor_name"]
    autocomplete_fields = ["case"]


@admin.register(Relation)
class RelationAdmin(TeamScopedAdmin):
    team_field = "case__team"

    list_display = ["name", "kind", "case"]
    list_filter = ["kind"]
    list_select_related = ["case"]
    search_fields = ["name", "case__number"]
    autocomplete_fields = ["case"]
