"""Routes in admin: planners draft and submit, a supervisor who made none of it decides.

Decisions go through the same actions as the API (rules, transaction, ledger entry); the
admin only shows the buttons a user may press and never edits a decided route.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext

from fieldvisit.access import oversight_scope, team_in_scope
from fieldvisit.actions import routes as actions
from fieldvisit.admin import planning
from fieldvisit.admin.base import ReadOnlyAdmin, ScopedChoices, TeamScopedAdmin
from fieldvisit.admin.maps import route_map
from fieldvisit.choices import ChangeRequestKind, ChangeRequestStatus, Hazard, RouteStatus
from fieldvisit.models import Route, RouteChangeRequest, Stop
from fieldvisit.rules import RuleViolation
from fieldvisit.rules import routes as rules
from fieldvisit.texts import _, format_lazy


class DecisionForm(forms.Form):
    comment = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        label=_("Comment"),
        help_text=_("Required when rejecting."),
    )


class RouteForm(forms.ModelForm):
    """Refuses a second live route for a team and day with a form error.

    The database's ``one_live_route_per_team_day`` constraint involves ``status``, which the
    form does not edit, so Django skips it during validation; without this check the save
    would fail with an IntegrityError (a server error) instead of a message.
    """

    class Meta:
        model = Route
        fields = ["team", "date"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        team, day = cleaned.get("team"), cleaned.get("date")
        if team is not None and day is not None:
            clash = Route.objects.filter(team=team, date=day).exclude(status=RouteStatus.REJECTED)
            if self.instance.pk is not None:
                clash = clash.exclude(pk=self.instance.pk)
            if clash.exists():
                raise forms.ValidationError(
                    format_lazy(
                        _("{team} already has a route for {day}; edit that one instead."),
                        team=team,
                        day=f"{day:%Y-%m-%d}",
                    )
                )
        return cleaned


class StopInline(ScopedChoices, admin.TabularInline):
    model = Stop
    extra = 1
    fields = ["sequence", "case", "address", "notice_number", "status"]
    readonly_fields = ["notice_number", "status"]
    autocomplete_fields = ["case", "address"]
    ordering = ["sequence"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Stop]:
        return super().get_queryset(request).select_related("case", "address")

    def _editable(self, obj: Route | None) -> bool:
        return obj is None or rules.check_stops_editable(obj.status).ok

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._editable(obj) and super().has_delete_permission(request, obj)


def hazard_line(address: Any) -> str:
    """What the approver must weigh about an address, on its own line ("" when nothing)."""
    if not address.hazards and not address.hazard_notes:
        return ""
    names = ", ".join(str(Hazard(h).label) for h in address.hazards)
    notes = f" ({address.hazard_notes})" if address.hazard_notes else ""
    return "\n   ⚠ " + gettext("HAZARD: {names}{notes}").format(
        names=names or gettext("see notes"), notes=notes
    )


def decision_view(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    obj: Any,
    decide: Any,
    summary: str,
) -> HttpResponse:
    """A confirmation page with a comment box and Approve / Reject buttons."""
    form = DecisionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        approve = "_approve" in request.POST
        try:
            decide(obj.pk, request.user, approve, form.cleaned_data["comment"])
        except RuleViolation as exc:
            model_admin.message_user(request, exc.detail, messages.ERROR)
        else:
            done = _("{what} approved.") if approve else _("{what} rejected.")
            model_admin.message_user(request, format_lazy(done, what=obj), messages.SUCCESS)
            opts = model_admin.model._meta
            return HttpResponseRedirect(
                reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
            )
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "original": obj,
        "title": format_lazy(_("Decide: {what}"), what=obj),
        "summary": summary,
        "form": form,
    }
    return TemplateResponse(request, "admin/fieldvisit/decide.html", context)


@admin.register(Route)
class RouteAdmin(TeamScopedAdmin):
    form = RouteForm
    list_display = ["date", "team", "status", "stop_count", "planned_by", "decided_by"]
    # The "team" filter offers only the teams of the rows in scope, not every team's name.
    list_filter = ["status", "date", ("team", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["team", "planned_by", "decided_by"]
    search_fields = ["team__name", "stops__case__number", "stops__notice_number"]
    date_hierarchy = "date"
    autocomplete_fields = ["team"]
    inlines = [StopInline]
    change_form_template = "admin/fieldvisit/route/change_form.html"
    readonly_fields = [
        "status",
        "planned_by",
        "submitted_at",
        "decided_by",
        "decided_at",
        "decision_comment",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Route]:
        queryset = super().get_queryset(request)
        match = request.resolver_match
        if match and match.url_name == "fieldvisit_route_changelist":
            queryset = queryset.annotate(stop_total=Count("stops", distinct=True))
        return queryset

    @admin.display(description=_("Stops"), ordering="stop_total")
    def stop_count(self, obj: Route) -> int:
        return obj.stop_total

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fields = list(self.readonly_fields)
        if obj is not None and obj.status != RouteStatus.DRAFT:
            fields += ["team", "date"]
        return fields

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.status != RouteStatus.DRAFT:
            return False  # frozen: decisions and changes go through their own pages
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.status != RouteStatus.DRAFT:
            return False
        return super().has_delete_permission(request, obj)

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        if any(obj.status != RouteStatus.DRAFT for obj in objs):
            perms_needed = {*perms_needed, gettext("routes that are no longer drafts")}
        return deleted, model_count, perms_needed, protected

    def save_model(self, request: HttpRequest, obj: Route, form: Any, change: bool) -> None:
        if not change:
            obj.planned_by = request.user
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        if change and (form.has_changed() or any(fs.has_changed() for fs in formsets)):
            # Whoever changes a draft (its team, date or stops) is one of its makers.
            actions.record_draft_change(form.instance.pk, request.user)

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path("propose/", wrap(self.propose_view), name="fieldvisit_route_propose"),
            path(
                "<uuid:object_id>/submit/", wrap(self.submit_view), name="fieldvisit_route_submit"
            ),
            path(
                "<uuid:object_id>/decide/", wrap(self.decide_view), name="fieldvisit_route_decide"
            ),
            *super().get_urls(),
        ]

    def can_submit(self, request: HttpRequest, obj: Route) -> bool:
        return obj.status == RouteStatus.DRAFT and request.user.has_perm("fieldvisit.change_route")

    def can_decide(self, request: HttpRequest, obj: Route) -> bool:
        return actions.may_decide(obj, request.user)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        obj = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if obj is not None:
            extra["can_submit"] = self.can_submit(request, obj)
            extra["can_decide"] = self.can_decide(request, obj)
            extra["fv_map"] = route_map(obj)
        return super().change_view(request, object_id, form_url, extra)

    def propose_view(self, request: HttpRequest) -> HttpResponse:
        return planning.propose_view(self, request)

    def submit_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not request.user.has_perm("fieldvisit.change_route"):
            raise PermissionDenied  # action pages open only to those who may take the action
        route = get_object_or_404(self.get_queryset(request), pk=object_id)
        if request.method == "POST":
            try:
                actions.submit_route(route.pk, request.user)
            except RuleViolation as exc:
                self.message_user(request, exc.detail, messages.ERROR)
            else:
                self.message_user(request, _("Route submitted for approval."), messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:fieldvisit_route_change", args=[route.pk]))

    def decide_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not request.user.has_perm("fieldvisit.decide_route"):
            raise PermissionDenied
        route = get_object_or_404(self.get_queryset(request).select_related("team"), pk=object_id)
        stops = route.stops.select_related("case", "address").order_by("sequence")
        summary = "\n".join(
            f"{stop.sequence}. {stop.case.number} {stop.case.debtor_name}: {stop.address.text}"
            + hazard_line(stop.address)
            for stop in stops
        )
        return decision_view(self, request, route, actions.decide_route, summary)


@admin.register(RouteChangeRequest)
class RouteChangeRequestAdmin(TeamScopedAdmin, ReadOnlyAdmin):
    team_field = "route__team"

    list_display = ["received_at", "route", "kind", "requested_by", "status", "decided_by"]
    list_filter = ["status", "kind"]
    list_select_related = ["route__team", "requested_by", "decided_by"]
    search_fields = ["route__team__name", "requested_by__username", "reason"]
    change_form_template = "admin/fieldvisit/routechangerequest/change_form.html"

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path(
                "<uuid:object_id>/decide/",
                wrap(self.decide_view),
                name="fieldvisit_routechangerequest_decide",
            ),
            *super().get_urls(),
        ]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        obj = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if obj is not None:
            extra["can_decide"] = (
                obj.status == ChangeRequestStatus.PENDING
                and obj.requested_by_id != request.user.pk
                and request.user.has_perm("fieldvisit.decide_routechangerequest")
                and team_in_scope(oversight_scope(request.user, ""), obj.route.team_id)
            )
        return super().change_view(request, object_id, form_url, extra)

    def decide_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not request.user.has_perm("fieldvisit.decide_routechangerequest"):
            raise PermissionDenied  # legal may not even read change requests
        change = get_object_or_404(self.get_queryset(request), pk=object_id)
        lines = [gettext("Reason: {reason}").format(reason=change.reason)]
        if change.add_stops:
            lines.append(gettext("Add {count} stop(s)").format(count=len(change.add_stops)))
        if change.skip_stops:
            lines.append(gettext("Skip {count} stop(s)").format(count=len(change.skip_stops)))
        if change.order:
            lines.append(gettext("Reorder the remaining stops"))
        if change.kind == ChangeRequestKind.BANK_ESCORT:
            lines.append(
                gettext(
                    "Escort the debtor of stop {sequence} to a bank counter: {bank}, {address}"
                    " (the debtor pays there in person; agents never pay for them)"
                ).format(
                    sequence=change.escort_stop.sequence if change.escort_stop else "?",
                    bank=change.bank_name,
                    address=change.bank_address,
                )
            )
        return decision_view(self, request, change, actions.decide_change, "\n".join(lines))
