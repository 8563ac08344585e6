"""The "Propose a route" page: a proposal for a team and a day, edited, then a normal route.

The planner picks the team, the day, how many stops and when the team sets out; the page
shows the proposed stops (rules/planning.py) with their times and walks, and what was left
out and why. Unticking a stop removes it, the position boxes reorder; "Create draft" (or
"Create and submit") writes the route through ``actions.routes.create_route`` and the normal
maker-checker path follows.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from fieldvisit import planning
from fieldvisit.access import staff_scope
from fieldvisit.actions import routes as actions
from fieldvisit.actions.notices import chain_facts
from fieldvisit.geo import local_today
from fieldvisit.models import Team
from fieldvisit.queries.routes import team_agent_facts
from fieldvisit.rules import RuleViolation
from fieldvisit.rules import planning as rules
from fieldvisit.rules import routes as route_rules
from fieldvisit.rules.alerting import check_oncall_chain
from fieldvisit.texts import _, format_lazy

MAX_STOPS = 60
MAX_DAYS_AHEAD = 60  # cases, teams and caps change; a plan further out is a guess


def teams_for(user: Any) -> QuerySet[Team]:
    return Team.objects.filter(active=True).filter(staff_scope(user, "")).order_by("name")


class ProposalForm(forms.Form):
    team = forms.ModelChoiceField(queryset=Team.objects.none(), label=_("Team"))
    date = forms.DateField(
        label=_("Date"),
        help_text=_("Routes are planned the day before."),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    stops = forms.IntegerField(
        min_value=1, max_value=MAX_STOPS, initial=rules.DEFAULT_STOPS, label=_("At most (stops)")
    )
    start = forms.TimeField(initial=rules.DEFAULT_START, label=_("Team sets out at"))

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams_for(user)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        team, day = cleaned.get("team"), cleaned.get("date")
        if team is not None and day is not None:
            today = local_today(team.timezone)
            verdict = route_rules.check_planned_ahead(day, today)
            if not verdict.ok:
                self.add_error("date", verdict.detail)
            elif day > today + dt.timedelta(days=MAX_DAYS_AHEAD):
                self.add_error(
                    "date",
                    format_lazy(_("Plan at most {days} days ahead."), days=MAX_DAYS_AHEAD),
                )
        return cleaned


def not_ready(team: Team, day: dt.date) -> list[str]:
    """What would stop the team's route for ``day`` from being approved, said before it is
    planned: too few agents qualified that day, or an on-call chain that cannot be reached."""
    verdicts = [
        route_rules.check_team_staffed(team_agent_facts(team), day),
        check_oncall_chain(chain_facts(team)),
    ]
    return [v.detail for v in verdicts if not v.ok]


def _tomorrow() -> dt.date:
    return local_today(settings.TIME_ZONE) + dt.timedelta(days=1)


def _ordered_stops(post: Any) -> list[uuid.UUID]:
    """The kept stops in the planner's order: by the position boxes, ties in page order."""
    kept = set(post.getlist("keep"))
    rows = []
    for index, value in enumerate(post.getlist("stop")):
        if value not in kept:
            continue
        try:
            address_id = uuid.UUID(value)
        except ValueError as exc:
            raise RuleViolation("validation_error", _("The page sent an unknown stop.")) from exc
        raw = (post.get(f"position-{value}") or "").strip() or str(index + 1)
        try:
            position = int(raw)
        except ValueError as exc:
            raise RuleViolation(
                "validation_error",
                format_lazy(_("Position {position} is not a number."), position=repr(raw)),
            ) from exc
        rows.append((position, index, address_id))
    return [address_id for _position, _index, address_id in sorted(rows)]


def propose_view(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("fieldvisit.add_route"):
        raise PermissionDenied
    data = request.POST if request.method == "POST" else (request.GET if request.GET else None)
    form = ProposalForm(
        data,
        user=request.user,
        initial={"date": _tomorrow(), "stops": rules.DEFAULT_STOPS, "start": rules.DEFAULT_START},
    )
    proposal = None
    if request.method == "POST" and form.is_valid():
        team, day = form.cleaned_data["team"], form.cleaned_data["date"]
        try:
            route = actions.create_route(team.pk, day, _ordered_stops(request.POST), request.user)
        except RuleViolation as exc:
            model_admin.message_user(request, exc.detail, messages.ERROR)
        else:
            model_admin.message_user(
                request,
                format_lazy(
                    _("Draft route for {team} on {day} created."), team=team, day=f"{day:%Y-%m-%d}"
                ),
                messages.SUCCESS,
            )
            if "_submit" in request.POST:
                try:
                    actions.submit_route(route.pk, request.user)
                except RuleViolation as exc:
                    model_admin.message_user(
                        request,
                        format_lazy(_("Not submitted: {reason}"), reason=exc.detail),
                        messages.WARNING,
                    )
                else:
                    model_admin.message_user(
                        request, _("Route submitted for approval."), messages.SUCCESS
                    )
            return HttpResponseRedirect(reverse("admin:fieldvisit_route_change", args=[route.pk]))
    if form.is_valid():
        proposal = planning.propose(
            form.cleaned_data["team"],
            form.cleaned_data["date"],
            capacity=form.cleaned_data["stops"],
            start=form.cleaned_data["start"],
        )
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": _("Propose a route"),
        "form": form,
        "proposal": proposal,
        "not_ready": not_ready(form.cleaned_data["team"], form.cleaned_data["date"])
        if proposal is not None
        else [],
        "can_submit": request.user.has_perm("fieldvisit.change_route"),
    }
    return TemplateResponse(request, "admin/fieldvisit/route/propose.html", context)
