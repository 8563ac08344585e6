from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from import_export.admin import ImportMixin

from fieldvisit import import_files
from fieldvisit.actions.cases import change_case_status
from fieldvisit.admin.base import TeamScopedAdmin
from fieldvisit.choices import Datum, Hazard
from fieldvisit.geo import local_text
from fieldvisit.imports import CaseResource
from fieldvisit.models import Address, Case, Creditor, Relation
from fieldvisit.texts import _
from fieldvisit.words import person_name


@admin.register(Creditor)
class CreditorAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "visit_hours_start", "visit_hours_end", "geofence_radius_m"]
    search_fields = ["name", "code"]
    fieldsets = [
        (None, {"fields": ["name", "code"]}),
        (
            _("Visit hours (address's local time)"),
            {"fields": ["visit_hours_start", "visit_hours_end"]},
        ),
        (
            _("Visit rules"),
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
            _("Check-ins and escalation"),
            {
                "fields": [
                    "checkin_interval_min",
                    "checkin_grace_min",
                    "escalation_after_min",
                    "day_close_after_min",
                ]
            },
        ),
        (_("Frequency caps"), {"fields": ["max_visits_per_day", "max_visits_per_7_days"]}),
        (_("Settlements"), {"fields": ["max_reduction_pct"]}),
    ]


class AddressForm(forms.ModelForm):
    """The position as entered, in the datum chosen beside it (WGS-84, or GCJ-02/BD-09 read
    off a Chinese map): stored in WGS-84 with the original kept (``Address.place``). An
    address given in another datum shows its original again, so editing it round-trips."""

    source_datum = forms.ChoiceField(
        choices=Datum.choices,
        required=False,
        initial=Datum.WGS84,
        label=_("Datum"),
        help_text=_(
            "What lat/lon above are in: GPS (WGS-84), AMap/高德 or Tencent (GCJ-02), Baidu "
            "(BD-09). They are stored in WGS-84."
        ),
    )

    hazards = forms.MultipleChoiceField(
        choices=Hazard.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Hazards"),
        help_text=_("Shown to the team on the stop; flagged to whoever approves a route here."),
    )

    class Meta:
        model = Address
        fields = [
            "case", "kind", "text", "lat", "lon", "source_datum", "timezone", "hazards",
            "hazard_notes",
        ]  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        address = self.instance
        if address.pk and address.source_datum != Datum.WGS84 and address.source_lat is not None:
            self.initial.update(lat=address.source_lat, lon=address.source_lon)

    def _post_clean(self) -> None:
        super()._post_clean()  # the instance now holds what was entered
        address = self.instance
        address.place(address.lat, address.lon, self.cleaned_data.get("source_datum") or "wgs84")


class AddressInline(admin.TabularInline):
    model = Address
    form = AddressForm
    extra = 0
    fields = [
        "kind", "text", "lat", "lon", "source_datum", "timezone", "hazards", "hazard_notes",
    ]  # fmt: skip


class RelationInline(admin.TabularInline):
    model = Relation
    extra = 0
    fields = ["name", "kind", "phone", "notes", "do_not_contact"]


class CaseForm(forms.ModelForm):
    """A change of status or of the do-not-contact flag says why (``status_reason``)."""

    class Meta:
        model = Case
        fields = "__all__"  # noqa: DJ007 - the admin's fieldsets choose what is shown

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.instance._state.adding:
            return data
        changed = {"status", "do_not_contact"} & set(self.changed_data)
        if changed and ("status_reason" not in self.changed_data or not data.get("status_reason")):
            self.add_error("status_reason", _("Say why the status changes."))
        return data


@admin.register(Case)
class CaseAdmin(ImportMixin, TeamScopedAdmin):
    """Planners import the risk department's case lists (see fieldvisit/imports.py): a dry
    run shows every row's fate and errors first, and the confirmed import is all or nothing.
    There is deliberately no export: a case file would carry full ID numbers."""

    resource_classes = [CaseResource]
    # Read within limits (size, zip, rows, columns, cells) before any row is looked at.
    import_formats = [import_files.CSV, import_files.XLSX]
    import_form_class = import_files.CaseImportForm
    confirm_form_class = import_files.CaseConfirmImportForm
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
    readonly_fields = ["created_at", "updated_at", "status_history"]
    form = CaseForm

    @admin.display(description=_("status history"))
    def status_history(self, case: Case) -> str:
        """Every change of status or of the do-not-contact flag, newest first."""
        if case.pk is None:
            return "—"
        changes = case.status_changes.select_related("changed_by").order_by("-changed_at")
        zone = case.team.timezone if case.team else settings.TIME_ZONE
        return (
            format_html_join(
                mark_safe("<br>"),
                "{} {} → {}{}: {} ({})",
                (
                    (
                        local_text(c.changed_at, zone),
                        c.get_previous_status_display(),
                        c.get_status_display(),
                        _(", do not contact") if c.do_not_contact else "",
                        c.reason,
                        person_name(c.changed_by) if c.changed_by else _("the system"),
                    )
                    for c in changes
                ),
            )
            or "—"
        )

    def save_model(self, request: HttpRequest, obj: Case, form: Any, change: bool) -> None:
        """Status and do-not-contact change only through ``actions.cases``: with a reason, a
        record and a ledger entry, in the admin's transaction."""
        if not change:
            super().save_model(request, obj, form, change)
            return
        wanted = (obj.status, obj.do_not_contact, obj.status_reason)
        stored = Case.objects.get(pk=obj.pk)
        obj.status, obj.do_not_contact, obj.status_reason = (
            stored.status,
            stored.do_not_contact,
            stored.status_reason,
        )
        super().save_model(request, obj, form, change)
        change_case_status(
            obj.pk, status=wanted[0], do_not_contact=wanted[1], reason=wanted[2], by=request.user
        )
        obj.refresh_from_db()

    def has_import_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("fieldvisit.import_case")

    def get_urls(self) -> list[Any]:
        template = path(
            "import/template/<str:kind>/",
            self.admin_site.admin_view(self.import_template_view),
            name="fieldvisit_case_import_template",
        )
        return [template, *super().get_urls()]

    def import_template_view(self, request: HttpRequest, kind: str) -> HttpResponse:
        """The case import template, CSV or XLSX, for those who may import."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        if kind == "csv":
            body, content_type = import_files.template_csv(), "text/csv; charset=utf-8"
        elif kind == "xlsx":
            body = import_files.template_xlsx()
            content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        else:
            raise Http404(_("No such template."))
        response = HttpResponse(body, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="case-import-template.{kind}"'
        return response

    def add_data_read_fail_error_to_form(self, form: Any, e: Exception) -> None:
        if isinstance(e, import_files.ImportFileRefused):
            form.add_error("import_file", str(e))
        else:
            super().add_data_read_fail_error_to_form(form, e)

    def get_import_resource_kwargs(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        """The file's datum, from the import form (the preview) or its confirmation."""
        form = kwargs.pop("form", None)
        datum = getattr(form, "cleaned_data", {}).get("datum")  # unbound on the first GET
        return {**super().get_import_resource_kwargs(request, **kwargs), "datum": datum or "wgs84"}

    def get_confirm_form_initial(self, request: HttpRequest, import_form: Any) -> dict[str, Any]:
        initial = super().get_confirm_form_initial(request, import_form)
        if import_form is not None:
            initial["datum"] = import_form.cleaned_data.get("datum") or "wgs84"
        return initial

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
                _("The previewed file is no longer available. Upload it again."),
                messages.ERROR,
            )
            return HttpResponseRedirect(reverse("admin:fieldvisit_case_import"))

    def process_result(self, result: Any, request: HttpRequest) -> HttpResponse:
        if result.has_errors() or result.has_validation_errors():
            self.message_user(
                request,
                _("Nothing was imported: the file no longer imports cleanly. Preview it again."),
                messages.ERROR,
            )
            return HttpResponseRedirect(reverse("admin:fieldvisit_case_import"))
        return super().process_result(result, request)


@admin.register(Address)
class AddressAdmin(TeamScopedAdmin):
    team_field = "case__team"

    form = AddressForm
    list_display = ["text", "kind", "case", "lat", "lon", "source_datum", "timezone"]
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
