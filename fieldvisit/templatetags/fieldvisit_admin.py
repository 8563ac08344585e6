"""Template helpers for the admin pages of fieldvisit."""

from __future__ import annotations

from typing import Any

from django import template

from fieldvisit.operations import may_watch
from fieldvisit.texts import _

register = template.Library()


@register.simple_tag
def may_watch_operations(user: Any) -> bool:
    """Whether the index shows the link to the live operations dashboard (same rule as the
    dashboard itself)."""
    return may_watch(user)


@register.simple_tag
def daily_links(user: Any) -> list[dict[str, Any]]:
    """The admin home's "Today's work": the pages a planner's and a supervisor's day is made
    of, each with what waits there (counted within what the user may act on)."""
    from django.urls import reverse

    from fieldvisit.access import evidence_scope, oversight_scope, staff_scope
    from fieldvisit.choices import AlertStatus, ChangeRequestStatus, RouteStatus
    from fieldvisit.models import Alert, ContactPoint, OnCallEntry, Route, RouteChangeRequest

    links: list[dict[str, Any]] = []

    def add(label: Any, url: str, note: Any, count: int | None = None) -> None:
        links.append({"label": label, "url": url, "note": note, "count": count})

    def listed(model: str, query: str) -> str:
        return reverse(f"admin:fieldvisit_{model}_changelist") + query

    if user.has_perm("fieldvisit.add_route"):
        add(
            _("Propose a route"),
            reverse("admin:fieldvisit_route_propose"),
            _("Plan tomorrow's visits for a team from its open cases"),
        )
        drafts = Route.objects.filter(staff_scope(user, "team"), status=RouteStatus.DRAFT)
        add(
            _("Draft routes"),
            listed("route", "?status__exact=draft"),
            _("Routes planned but not yet submitted"),
            drafts.count(),
        )
    if user.has_perm("fieldvisit.import_case"):
        add(
            _("Import cases"),
            reverse("admin:fieldvisit_case_import"),
            _("CSV or XLSX from the risk department (templates on the page)"),
        )
    if user.has_perm("fieldvisit.decide_route"):
        waiting = Route.objects.filter(oversight_scope(user, "team"), status=RouteStatus.SUBMITTED)
        add(
            _("Routes waiting for approval"),
            listed("route", "?status__exact=submitted"),
            _("Approve or reject what planners submitted (not the ones you made)"),
            waiting.exclude(makers=user).count(),
        )
    if user.has_perm("fieldvisit.decide_routechangerequest"):
        pending = RouteChangeRequest.objects.filter(
            oversight_scope(user, "route__team"), status=ChangeRequestStatus.PENDING
        )
        add(
            _("Change requests"),
            listed("routechangerequest", "?status__exact=pending"),
            _("Agents asking to deviate from an approved route"),
            pending.count(),
        )
    if may_watch(user):
        add(
            _("Live operations"),
            reverse("fieldvisit-operations"),
            _("Today's teams: each agent's last report, open visits, overdue check-ins"),
        )
    if user.has_perm("fieldvisit.view_alert"):
        open_alerts = Alert.objects.filter(evidence_scope(user, "team"), status=AlertStatus.OPEN)
        add(
            _("Open alerts"),
            listed("alert", "?status__exact=open"),
            _("Panics, silent agents, lone agents: acknowledge and resolve"),
            open_alerts.count(),
        )
    if user.has_perm("fieldvisit.view_contactpoint"):
        chains = OnCallEntry.objects.filter(oversight_scope(user, "team")).values("user")
        unverified = ContactPoint.objects.filter(user__in=chains, verified_at__isnull=True)
        add(
            _("On-call contacts"),
            listed("contactpoint", "?verified_at__isempty=1"),
            _("Contacts of the people on call that are not verified yet"),
            unverified.count(),
        )
    return links
