"""Visits, their reports and the supervisor's review in admin.

Visits, reports and reviews are read-only here, scoped to the teams the user oversees. The
one thing done on a visit is the review: a supervisor (or risk manager) of the visit's team
with ``review_visit`` opens "Review" on a reported visit, reads the co-signed report and the
compliance verdict, and records a comment; the action writes the review and its ledger entry.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.templatetags.admin_list import _boolean_icon
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst

from fieldvisit.access import evidence_scope
from fieldvisit.access_log import record_read
from fieldvisit.actions import reports as actions
from fieldvisit.actions.late_evidence import KIND_NAMES
from fieldvisit.admin.base import (
    LoggedReadsAdmin,
    ReadOnlyAdmin,
    ReadOnlyInline,
    TeamScopedAdmin,
)
from fieldvisit.admin.maps import visit_map
from fieldvisit.choices import ReportStatus
from fieldvisit.compliance import Compliance, judge
from fieldvisit.geo import local_text
from fieldvisit.models import Visit, VisitReport, VisitReview
from fieldvisit.models.reports import ATTESTATIONS
from fieldvisit.queries.visits import VisitRecords, may_review, review_state, visit_records
from fieldvisit.rules import RuleViolation
from fieldvisit.rules.lateness import lateness_text
from fieldvisit.texts import _, format_lazy
from fieldvisit.words import check_name, flags_text

VISIT_TEAM = "visit__stop__route__team"
REPORT_RELATED = ["author", "cosignature__agent", "corrected_by"]


class ReviewForm(forms.Form):
    comment = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        label=_("Review comment"),
        help_text=_("Required: what you checked and what you found."),
    )


def attestation_rows(report: VisitReport) -> list[tuple[str, bool]]:
    return [
        (capfirst(VisitReport._meta.get_field(name).verbose_name), getattr(report, name))
        for name in ATTESTATIONS
    ]


def cosigned_text(report: VisitReport) -> str:
    cosignature = report.cosignature_or_none()
    if cosignature is None:
        return "—"
    return format_lazy(
        _("{agent} at {time}"),
        agent=cosignature.agent.get_username(),
        time=f"{cosignature.signed_at:%Y-%m-%d %H:%M:%S %Z}",
    )


class ReportColumns:
    """The report's status and co-signature, as inline and changelist columns."""

    @admin.display(description=_("Status"))
    def report_status(self, obj: VisitReport) -> str:
        return ReportStatus(obj.status).label

    @admin.display(description=_("Co-signed"))
    def cosigned(self, obj: VisitReport) -> str:
        return cosigned_text(obj)


class ReportInline(ReportColumns, ReadOnlyInline):
    model = VisitReport
    fk_name = "visit"
    fields = ["id", "outcome", "author", "received_at", "corrects", "report_status", "cosigned"]
    readonly_fields = fields
    ordering = ["received_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[VisitReport]:
        return super().get_queryset(request).select_related(*REPORT_RELATED)


class ReviewInline(ReadOnlyInline):
    model = VisitReview
    fields = ["created_at", "reviewer", "report", "comment"]
    readonly_fields = fields
    ordering = ["created_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[VisitReview]:
        return super().get_queryset(request).select_related("reviewer", "report")


@admin.register(Visit)
class VisitAdmin(LoggedReadsAdmin, TeamScopedAdmin, ReadOnlyAdmin):
    team_field = "stop__route__team"
    read_scope = staticmethod(evidence_scope)

    list_display = ["__str__", "date", "team", "case", "status", "opened_at", "closed_at"]
    list_select_related = [
        "stop__route__team",
        "stop__route__decided_by",
        "stop__case",
        "stop__address",
    ]
    list_filter = ["status"]
    search_fields = ["stop__case__number", "stop__notice_number", "stop__route__team__name"]
    ordering = ["-stop__route__date", "stop__sequence"]
    show_full_result_count = False
    # The visit's current report, compliance and last review are shown below these, from its
    # records read once per page (``change_view``).
    fields = ["stop", "status", "opened_at", "closed_at"]
    readonly_fields = fields
    inlines = [ReportInline, ReviewInline]
    change_form_template = "admin/fieldvisit/visit/change_form.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Visit]:
        # The review page and the change page show the same as the changelist.
        return super().get_queryset(request).select_related(*self.list_select_related)

    @admin.display(description=_("Date"), ordering="stop__route__date")
    def date(self, obj: Visit) -> Any:
        return obj.stop.route.date

    @admin.display(description=_("Team"))
    def team(self, obj: Visit) -> Any:
        return obj.stop.route.team

    @admin.display(description=_("Case"))
    def case(self, obj: Visit) -> str:
        return obj.stop.case.number

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path(
                "<uuid:object_id>/review/", wrap(self.review_view), name="fieldvisit_visit_review"
            ),
            *super().get_urls(),
        ]

    def can_review(self, request: HttpRequest, obj: Visit) -> bool:
        return obj.status in actions.REVIEWABLE and may_review(request.user, obj)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        obj = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        extra["can_review"] = bool(obj is not None and self.can_review(request, obj))
        if obj is not None:
            extra["fv_map"] = visit_map(obj)
            extra["fv_records"] = records_html(visit_records(obj))
        return super().change_view(request, object_id, form_url, extra)

    def review_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not request.user.has_perm("fieldvisit.review_visit"):
            raise PermissionDenied  # refused before any lookup, as the other pages are
        visit = get_object_or_404(self.get_queryset(request), pk=object_id)
        if not may_review(request.user, visit):
            raise PermissionDenied
        form = ReviewForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                actions.review_visit(visit.pk, request.user, form.cleaned_data["comment"])
            except RuleViolation as exc:
                self.message_user(request, exc.detail, messages.ERROR)
            else:
                self.message_user(
                    request, format_lazy(_("{visit} reviewed."), visit=visit), messages.SUCCESS
                )
                return HttpResponseRedirect(
                    reverse("admin:fieldvisit_visit_change", args=[visit.pk])
                )
        # The page shows the report and the verdict: a read of the visit's evidence.
        record_read(request.user, "visit_review", f"visit:{visit.pk}", via="admin")
        records = visit_records(visit)
        report = records.report
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": visit,
            "title": format_lazy(_("Review: {visit}"), visit=visit),
            "report": report,
            "attestations": attestation_rows(report) if report is not None else [],
            "cosigned": cosigned_text(report) if report is not None else "—",
            "compliance": verdict_html(judge(records)),
            "last_review": review_html(records),
            "reviews": list(visit.reviews.select_related("reviewer").order_by("created_at")),
            "reviewable": visit.status in actions.REVIEWABLE,
            "form": form,
        }
        return TemplateResponse(request, "admin/fieldvisit/visit/review.html", context)


def report_html(report: VisitReport | None) -> str:
    if report is None:
        return "—"
    return format_html(
        _('<a href="{url}">{report}</a>, by {author}; {status}; co-signed: {cosigned}'),
        url=reverse("admin:fieldvisit_visitreport_change", args=[report.pk]),
        report=report,
        author=report.author.get_username(),
        status=ReportStatus(report.status).label,
        cosigned=cosigned_text(report),
    )


def records_html(records: VisitRecords) -> list[tuple[str, str]]:
    """The visit page's rows read from its records: its current report, its compliance now,
    and its last review."""
    return [
        (_("Current report"), report_html(records.report)),
        (_("Compliance"), verdict_html(judge(records))),
        (_("Last review"), review_html(records)),
    ]


def verdict_html(verdict: Compliance) -> str:
    rows = format_html_join(
        "",
        "<li>{} <strong>{}</strong>: {}</li>",
        (
            ("✔" if check.ok else "✘", check_name(name), check.detail)
            for name, check in verdict.checks.items()
        ),
    )
    return format_html("<ul>{}</ul>", rows)


def review_html(records: VisitRecords) -> str:
    """The latest review with the verdict it was made on, and what reached us after it
    (pending a new review), with how late each item came after the visit closed."""
    state = review_state(records)
    if state is None:
        return _("Not reviewed yet.")
    zone = records.visit.stop.address.zone_name
    head = format_html(
        _("Reviewed {at} by {reviewer}{superseded}."),
        at=local_text(state.reviewed_at, zone),
        reviewer=state.reviewer,
        superseded=format_html(" — <strong>{}</strong>", _("superseded, pending re-review"))
        if state.superseded
        else "",
    )
    if state.compliance is None:
        seen = format_html("<p>{}</p>", _("The verdict at that review was not recorded."))
    else:
        seen = format_html(
            "<p>{}</p>{}",
            _("Compliance as it stood at that review:"),
            verdict_html(Compliance.from_dict(state.compliance)),
        )
    after = ""
    if state.received_after:
        items = format_html_join(
            "",
            _("<li>{kind} <code>{id}</code>, received {at}{late}; flags: {flags}</li>"),
            (
                {
                    "kind": KIND_NAMES.get(item.kind, item.kind),
                    "id": item.id,
                    "at": local_text(item.received_at, zone),
                    "late": format_lazy(
                        _(", {lateness} after the visit closed"),
                        lateness=lateness_text(item.late_by_s),
                    )
                    if item.late_by_s is not None
                    else "",
                    "flags": flags_text(item.flags),
                }
                for item in state.received_after
            ),
        )
        after = format_html(
            "<p>{}</p><ul>{}</ul>", _("Received after that review (pending re-review):"), items
        )
    return format_html("<p>{}</p>{}{}", head, seen, after)


@admin.register(VisitReport)
class VisitReportAdmin(ReportColumns, LoggedReadsAdmin, TeamScopedAdmin, ReadOnlyAdmin):
    team_field = VISIT_TEAM
    read_scope = staticmethod(evidence_scope)

    list_display = ["received_at", "visit", "outcome", "author", "report_status", "cosigned"]
    list_select_related = [*REPORT_RELATED, "visit__stop__address"]
    list_filter = ["outcome"]
    search_fields = ["id", "visit__stop__case__number", "author__username", "notes"]
    show_full_result_count = False
    fields = [
        "id",
        "visit",
        "report_status",
        "outcome",
        "promise_amount",
        "promise_date",
        "promise_terms",
        "promise_method",
        "promise_payer",
        "payer_voluntary",
        "promise_authorisation",
        "notes",
        *ATTESTATIONS,
        "author",
        "device_id",
        "received_at",
        "corrects",
        "superseded_by",
        "cosigned",
        "cosignature_sha256",
        "content_sha256",
        "content_verified",
    ]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[VisitReport]:
        # Selecting here makes the changelist skip list_select_related: name it all.
        return super().get_queryset(request).select_related(*self.list_select_related)

    @admin.display(description=_("the payer pays of their own free will"))
    def payer_voluntary(self, obj: VisitReport) -> Any:
        """Yes or no when a relation pays; a dash when the debtor does (or no promise)."""
        if obj.promise_payer_voluntary is None:
            return "—"
        return _boolean_icon(obj.promise_payer_voluntary)

    @admin.display(description=_("Superseded by"))
    def superseded_by(self, obj: VisitReport) -> Any:
        return obj.corrected_by if obj.is_superseded() else "—"

    @admin.display(description=_("Co-signature's SHA-256"))
    def cosignature_sha256(self, obj: VisitReport) -> str:
        cosignature = obj.cosignature_or_none()
        return cosignature.report_sha256 if cosignature else "—"

    @admin.display(description=_("Content matches its SHA-256"), boolean=True)
    def content_verified(self, obj: VisitReport) -> bool:
        return obj.compute_sha256() == obj.content_sha256


@admin.register(VisitReview)
class VisitReviewAdmin(LoggedReadsAdmin, TeamScopedAdmin, ReadOnlyAdmin):
    team_field = VISIT_TEAM
    read_scope = staticmethod(evidence_scope)

    list_display = ["created_at", "visit", "reviewer", "report", "comment"]
    list_select_related = ["reviewer", "report", "visit__stop__address"]
    search_fields = ["comment", "reviewer__username", "visit__stop__case__number"]
    show_full_result_count = False
    fields = ["id", "visit", "report", "reviewer", "comment", "created_at", "reviewed_at"]
    readonly_fields = fields

    @admin.display(description=_("Local time"))
    def reviewed_at(self, obj: VisitReview) -> str:
        return local_text(obj.created_at, obj.visit.stop.address.zone_name)
