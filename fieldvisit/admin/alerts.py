"""Alerts and check-ins in admin: supervisors see their teams' alerts at once, newest and
most severe first, refreshing live, and acknowledge or resolve each with a note."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import (
    Case,
    Count,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from fieldvisit.access import alert_scope, evidence_scope
from fieldvisit.actions import alerts as actions
from fieldvisit.actions.alerts import may_handle
from fieldvisit.admin.base import LoggedReadsAdmin, ReadOnlyAdmin, TeamScopedAdmin
from fieldvisit.admin.maps import alert_map
from fieldvisit.admin.oncall import NoticeInline
from fieldvisit.choices import AlertSeverity, AlertStatus
from fieldvisit.geo import local_text
from fieldvisit.models import Alert, CheckIn
from fieldvisit.rules import RuleViolation
from fieldvisit.texts import _, format_lazy
from fieldvisit.words import distance_text, flags_text, person_name

SEVERITY_COLOURS = {
    AlertSeverity.CRITICAL: "#b00020",
    AlertSeverity.HIGH: "#e65100",
    AlertSeverity.MEDIUM: "#f9a825",
    AlertSeverity.LOW: "#607d8b",
}


def responder_context(alert: Alert) -> dict[str, Any]:
    """What the alert page shows first to whoever answers: when (local time and zone), who
    was told, whom to call (the agents of the team, raiser first, with their mobiles) and
    the map."""
    zone = alert.team.timezone
    told = sorted(
        {
            person_name(n.recipient)
            for n in alert.notices.filter(step=alert.step).select_related("recipient")
            if n.recipient_id
        }
    )
    agents = list(
        User.objects.filter(agent_profile__team=alert.team, agent_profile__active=True)
        .prefetch_related("contact_points")
        .order_by("username")
    )
    first = alert.raised_by_id or alert.agent_id
    agents.sort(key=lambda u: u.pk != first)
    call = [
        {
            "name": person_name(user),
            "role": _("raised it") if user.pk == first else _("partner"),
            "mobiles": [c.value for c in user.contact_points.all() if c.kind == "mobile"],
        }
        for user in agents
    ]
    context: dict[str, Any] = {
        "fv_raised_local": local_text(alert.raised_at, zone),
        "fv_told": told,
        "fv_call": call,
        "fv_acknowledged_by": person_name(alert.acknowledged_by) if alert.acknowledged_by else "",
    }
    if alert.lat is not None or alert.route_id:
        context["fv_map"] = alert_map(alert)
        context["fv_alert"] = True
    return context


class NoteForm(forms.Form):
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label=_("What was done"))


@admin.register(Alert)
class AlertAdmin(TeamScopedAdmin, ReadOnlyAdmin):
    read_scope = staticmethod(alert_scope)
    list_display = [
        "severity_badge",
        "kind",
        "team",
        "status",
        "step",
        "delivery",
        "repeats",
        "raised_at",
        "raised_by",
        "detail",
    ]
    list_filter = [
        "status",
        "kind",
        "severity",
        "undelivered",
        ("team", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["team", "raised_by"]
    search_fields = ["detail", "team__name", "raised_by__username"]
    change_list_template = "admin/fieldvisit/alert/change_list.html"
    change_form_template = "admin/fieldvisit/alert/change_form.html"
    inlines = [NoticeInline]

    @admin.display(description=_("Delivery"), ordering="undelivered")
    def delivery(self, obj: Alert) -> str:
        if obj.undelivered:
            return format_html('<strong style="color:#b00020">{}</strong>', _("UNDELIVERED"))
        return _("reached") if obj.step else "-"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Alert]:
        order = Case(
            When(status=AlertStatus.OPEN, then=Value(0)),
            When(status=AlertStatus.ACKNOWLEDGED, then=Value(1)),
            default=Value(2),
            output_field=IntegerField(),
        )
        # How many alerts of the same kind one visit has raised (rule breaks come in runs).
        same = (
            Alert.objects.filter(visit=OuterRef("visit"), kind=OuterRef("kind"))
            .order_by()
            .values("visit")
            .annotate(n=Count("pk"))
            .values("n")
        )
        queryset = (
            super().get_queryset(request).annotate(open_first=order, same_visit=Subquery(same[:1]))
        )
        return queryset.order_by("open_first", "-severity", "-raised_at")

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        # The "repeats" link lists one visit's alerts of a kind.
        return lookup == "visit__id__exact" or super().lookup_allowed(lookup, value, request)

    @admin.display(description=_("At this visit"))
    def repeats(self, obj: Alert) -> str:
        count = getattr(obj, "same_visit", None) or 0
        if obj.visit_id is None or count < 2:
            return "-"
        url = reverse("admin:fieldvisit_alert_changelist")
        return format_html(
            '<a href="{}?visit__id__exact={}&kind__exact={}">{}</a>',
            url,
            obj.visit_id,
            obj.kind,
            format_lazy(_("{count} like it"), count=count),
        )

    @admin.display(description=_("Severity"), ordering="severity")
    def severity_badge(self, obj: Alert) -> str:
        colour = SEVERITY_COLOURS.get(obj.severity, "#607d8b")
        return format_html(
            '<span style="background:{};color:#fff;padding:2px 8px;border-radius:8px">{}</span>',
            colour,
            obj.get_severity_display(),
        )

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path("feed/", wrap(self.feed_view), name="fieldvisit_alert_feed"),
            path(
                "<uuid:object_id>/handle/", wrap(self.handle_view), name="fieldvisit_alert_handle"
            ),
            *super().get_urls(),
        ]

    def feed_view(self, request: HttpRequest) -> JsonResponse:
        """What the page polls: it reloads when this signature changes."""
        if not self.has_view_permission(request):
            raise PermissionDenied  # the count of open alerts is the alert list's
        state = self.get_queryset(request).aggregate(
            open=Count("pk", filter=Q(status=AlertStatus.OPEN)),
            raised=Max("raised_at"),
            acknowledged=Max("acknowledged_at"),
            resolved=Max("resolved_at"),
            escalated=Max("escalated_at"),
            undelivered=Count("pk", filter=Q(undelivered=True, status=AlertStatus.OPEN)),
        )
        signature = "|".join(str(state[k]) for k in sorted(state))
        return JsonResponse(
            {"open": state["open"], "undelivered": state["undelivered"], "signature": signature}
        )

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        obj = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        extra["can_handle"] = bool(
            obj is not None
            and obj.status != AlertStatus.RESOLVED
            and request.user.has_perm("fieldvisit.handle_alert")
            and may_handle(request.user, obj.team_id)
        )
        if obj is not None:
            extra.update(responder_context(obj))
        return super().change_view(request, object_id, form_url, extra)

    def handle_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not request.user.has_perm("fieldvisit.handle_alert"):
            raise PermissionDenied  # the page is the action's: only those who handle alerts
        alert = get_object_or_404(self.get_queryset(request), pk=object_id)
        form = NoteForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            resolve = "_resolve" in request.POST
            handle = actions.resolve if resolve else actions.acknowledge
            try:
                handle(alert.pk, request.user, form.cleaned_data["note"])
            except RuleViolation as exc:
                self.message_user(request, exc.detail, messages.ERROR)
            else:
                done = _("Alert resolved.") if resolve else _("Alert acknowledged.")
                self.message_user(request, done, messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:fieldvisit_alert_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": alert,
            "title": format_lazy(_("Handle: {alert}"), alert=alert),
            "form": form,
        }
        return TemplateResponse(request, "admin/fieldvisit/alert/handle.html", context)


@admin.register(CheckIn)
class CheckInAdmin(LoggedReadsAdmin, TeamScopedAdmin, ReadOnlyAdmin):
    team_field = "route__team"
    read_scope = staticmethod(evidence_scope)

    list_display = ["captured_at", "kind", "agent", "route", "visit", "distance", "flag_words"]

    @admin.display(description=_("From the address"), ordering="distance_m")
    def distance(self, obj: CheckIn) -> str:
        return distance_text(obj.distance_m)

    @admin.display(description=_("Flags"))
    def flag_words(self, obj: CheckIn) -> str:
        return flags_text(obj.flags)

    list_filter = ["kind", "route__date"]
    list_select_related = ["agent", "route__team", "visit__stop__address"]
    search_fields = ["agent__username", "route__team__name"]
    date_hierarchy = "captured_at"
