"""Conduct incidents, suspensions and complaints in admin.

Supervisors (the team's risk manager, 风控经理) open findings, close their teams' incidents
with a decision, suspend and reinstate agents; supervisors and legal take complaints and
record the answers; auditors read everything. Every page writes through
``actions.incidents`` (each step a record and a ledger entry); nothing here is edited or
deleted.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from fieldvisit.access import evidence_scope, oversight_scope
from fieldvisit.actions import incidents as actions
from fieldvisit.admin.base import ReadOnlyAdmin, ReadOnlyInline, ScopedReadsAdmin
from fieldvisit.choices import (
    CaseStatus,
    ComplainantKind,
    ComplaintCategory,
    ComplaintChannel,
    ComplaintGrade,
    IncidentDecisionKind,
    Role,
)
from fieldvisit.models import (
    AgentSuspension,
    Complaint,
    ComplaintAgent,
    ComplaintAnswer,
    Incident,
    IncidentAccount,
    IncidentAgent,
    IncidentDecision,
    SuspensionLift,
    Visit,
)
from fieldvisit.rules import RuleViolation, conduct
from fieldvisit.texts import _, format_lazy
from fieldvisit.words import person_name


def form_page(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    form: forms.Form,
    title: Any,
    submit: Any,
    original: Any = None,
    summary: str = "",
) -> TemplateResponse:
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "original": original,
        "title": title,
        "submit": submit,
        "summary": summary,
        "form": form,
    }
    return TemplateResponse(request, "admin/fieldvisit/form_page.html", context)


def run(model_admin: admin.ModelAdmin, request: HttpRequest, form: forms.Form, do: Any) -> Any:
    """Call the action; its refusal becomes the form's error (never a 500)."""
    try:
        return do()
    except RuleViolation as exc:
        for name, errors in exc.errors.items():
            form.add_error(name if name in form.fields else None, errors)
        if not exc.errors:
            form.add_error(None, exc.detail)
        return None


def agents_in(scope: Q) -> QuerySet[Any]:
    return (
        get_user_model()
        .objects.filter(groups__name=Role.AGENT, agent_profile__isnull=False)
        .filter(scope)
        .order_by("username")
    )


RULE_CHOICES = [(item.name, item.statement) for item in conduct.ITEMS] + [
    (conduct.LONE_AGENT_RULE, _("Two agents together at all times (行为指引 2)."))
]


# --- incidents -------------------------------------------------------------------------------


class FindingForm(forms.Form):
    visit = forms.UUIDField(label=_("Visit (id)"))
    rules = forms.MultipleChoiceField(
        label=_("Rules broken"), choices=RULE_CHOICES, widget=forms.CheckboxSelectMultiple
    )
    agents = forms.ModelMultipleChoiceField(label=_("Agents concerned"), queryset=None)
    summary = forms.CharField(label=_("What was found"), widget=forms.Textarea)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["agents"].queryset = agents_in(oversight_scope(user, "agent_profile__team"))


class DecideForm(forms.Form):
    decision = forms.ChoiceField(label=_("Decision"), choices=IncidentDecisionKind.choices)
    findings = forms.CharField(label=_("Findings the decision rests on"), widget=forms.Textarea)
    case_status = forms.ChoiceField(
        label=_("The case becomes"),
        choices=CaseStatus.choices,
        initial=CaseStatus.OPEN,
        help_text=_("Stays on hold while another open incident holds it."),
    )


class NamedInline(ReadOnlyInline):
    model = IncidentAgent
    fields = ["agent", "account_due_at"]
    show_change_link = False


class AccountInline(ReadOnlyInline):
    model = IncidentAccount
    fields = ["agent", "submitted_at", "text"]
    show_change_link = False


class DecisionInline(ReadOnlyInline):
    model = IncidentDecision
    fields = ["decision", "findings", "decided_by", "decided_at"]
    show_change_link = False


@admin.register(Incident)
class IncidentAdmin(ScopedReadsAdmin, ReadOnlyAdmin):
    list_display = [
        "opened_at",
        "severity",
        "source",
        "case",
        "team",
        "state",
        "accounts_given",
    ]
    list_filter = ["source", "severity", ("team", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["case", "team", "decision"]
    search_fields = ["case__number", "summary"]
    readonly_fields = [
        "source",
        "rules",
        "severity",
        "summary",
        "case",
        "visit",
        "team",
        "report",
        "complaint",
        "alert",
        "hold",
        "opened_by",
        "opened_at",
    ]
    inlines = [NamedInline, AccountInline, DecisionInline]
    change_form_template = "admin/fieldvisit/incident/change_form.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Incident]:
        return (
            super()
            .get_queryset(request)
            .filter(evidence_scope(request.user, "team"))
            .annotate(
                named_count=Count("named", distinct=True),
                accounts_count=Count("accounts__agent", distinct=True),
            )
        )

    @admin.display(description=_("State"))
    def state(self, obj: Incident) -> str:
        decision = obj.decision_or_none()
        return decision.get_decision_display() if decision else _("open: the case is on hold")

    @admin.display(description=_("Accounts given"))
    def accounts_given(self, obj: Incident) -> str:
        return f"{getattr(obj, 'accounts_count', 0)} / {getattr(obj, 'named_count', 0)}"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("fieldvisit.add_incident")

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path(
                "<uuid:object_id>/decide/",
                wrap(self.decide_view),
                name="fieldvisit_incident_decide",
            ),
            *super().get_urls(),
        ]

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> Any:
        """A supervisor's finding: the visit, the rules, the agents and what was found."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = FindingForm(request.POST or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            if (
                not Visit.objects.filter(pk=data["visit"])
                .filter(oversight_scope(request.user, "stop__route__team"))
                .exists()
            ):
                form.add_error("visit", _("No such visit of your teams."))
            else:
                incident = run(
                    self,
                    request,
                    form,
                    lambda: actions.open_finding(
                        visit_id=data["visit"],
                        rules=data["rules"],
                        summary=data["summary"],
                        agents=list(data["agents"]),
                        by=request.user,
                    ),
                )
                if incident is not None:
                    self.message_user(request, _("Incident opened."), messages.SUCCESS)
                    return HttpResponseRedirect(
                        reverse("admin:fieldvisit_incident_change", args=[incident.pk])
                    )
        return form_page(self, request, form, _("Open an incident (finding)"), _("Open"))

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        extra = dict(extra_context or {})
        obj = self.get_object(request, object_id)
        if (
            obj is not None
            and obj.decision_or_none() is None
            and actions.may_decide(request.user, obj)
        ):
            extra["action_url"] = reverse("admin:fieldvisit_incident_decide", args=[obj.pk])
            extra["action_label"] = _("Close with a decision")
        return super().change_view(request, object_id, form_url, extra)

    def decide_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not request.user.has_perm("fieldvisit.decide_incident"):
            raise PermissionDenied
        incident = get_object_or_404(
            self.get_queryset(request).select_related("team", "case"), pk=object_id
        )
        form = DecideForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            done = run(
                self,
                request,
                form,
                lambda: actions.decide(
                    incident.pk,
                    decision=data["decision"],
                    findings=data["findings"],
                    case_status=data["case_status"],
                    by=request.user,
                ),
            )
            if done is not None:
                self.message_user(request, _("Incident closed."), messages.SUCCESS)
                return HttpResponseRedirect(
                    reverse("admin:fieldvisit_incident_change", args=[incident.pk])
                )
        accounts = incident.accounts.select_related("agent").order_by("submitted_at")
        summary = "\n\n".join(
            [incident.summary] + [f"{person_name(a.agent)}: {a.text}" for a in accounts]
        )
        return form_page(
            self, request, form, _("Close with a decision"), _("Close"), incident, summary
        )


# --- suspensions -----------------------------------------------------------------------------


class SuspendForm(forms.Form):
    agent = forms.ModelChoiceField(label=_("Agent"), queryset=None)
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["agent"].queryset = agents_in(oversight_scope(user, "agent_profile__team"))


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea)


class LiftInline(ReadOnlyInline):
    model = SuspensionLift
    fields = ["lifted_by", "lifted_at", "reason"]
    show_change_link = False


@admin.register(AgentSuspension)
class AgentSuspensionAdmin(ScopedReadsAdmin, ReadOnlyAdmin):
    list_display = ["suspended_at", "agent", "incident", "suspended_by", "lifted"]
    list_select_related = ["agent", "incident", "suspended_by", "lift"]
    readonly_fields = ["agent", "incident", "reason", "suspended_by", "suspended_at"]
    inlines = [LiftInline]
    change_form_template = "admin/fieldvisit/incident/change_form.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[AgentSuspension]:
        scope = evidence_scope(request.user, "agent__agent_profile__team")
        return super().get_queryset(request).filter(scope)

    @admin.display(description=_("Lifted"), boolean=True)
    def lifted(self, obj: AgentSuspension) -> bool:
        return obj.lift_or_none() is not None

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("fieldvisit.suspend_agent")

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path(
                "<uuid:object_id>/lift/",
                wrap(self.lift_view),
                name="fieldvisit_agentsuspension_lift",
            ),
            *super().get_urls(),
        ]

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> Any:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = SuspendForm(request.POST or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            done = run(
                self,
                request,
                form,
                lambda: actions.suspend_agent(
                    data["agent"], reason=data["reason"], by=request.user
                ),
            )
            if done is not None:
                self.message_user(request, _("Agent suspended."), messages.SUCCESS)
                return HttpResponseRedirect(
                    reverse("admin:fieldvisit_agentsuspension_change", args=[done.pk])
                )
        return form_page(self, request, form, _("Suspend an agent"), _("Suspend"))

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        extra = dict(extra_context or {})
        obj = self.get_object(request, object_id)
        if obj is not None and obj.lift_or_none() is None and self.has_add_permission(request):
            extra["action_url"] = reverse("admin:fieldvisit_agentsuspension_lift", args=[obj.pk])
            extra["action_label"] = _("Lift the suspension")
        return super().change_view(request, object_id, form_url, extra)

    def lift_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        suspension = get_object_or_404(self.get_queryset(request), pk=object_id)
        form = ReasonForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            done = run(
                self,
                request,
                form,
                lambda: actions.lift_suspension(
                    suspension.pk, reason=form.cleaned_data["reason"], by=request.user
                ),
            )
            if done is not None:
                self.message_user(request, _("Suspension lifted."), messages.SUCCESS)
                return HttpResponseRedirect(
                    reverse("admin:fieldvisit_agentsuspension_change", args=[suspension.pk])
                )
        return form_page(
            self, request, form, _("Lift the suspension"), _("Lift"), suspension,
            suspension.reason,
        )  # fmt: skip


# --- complaints ------------------------------------------------------------------------------


class ComplaintForm(forms.Form):
    channel = forms.ChoiceField(label=_("Received by"), choices=ComplaintChannel.choices)
    complainant_kind = forms.ChoiceField(label=_("Complainant"), choices=ComplainantKind.choices)
    complainant_name = forms.CharField(label=_("Complainant's name"), max_length=200)
    complainant_contact = forms.CharField(
        label=_("How to reach them"), max_length=200, required=False
    )
    case_number = forms.CharField(label=_("Case number"), max_length=64, required=False)
    visit = forms.UUIDField(label=_("Visit (id), if known"), required=False)
    agents = forms.ModelMultipleChoiceField(label=_("Agents named"), queryset=None, required=False)
    category = forms.ChoiceField(label=_("What happened"), choices=ComplaintCategory.choices)
    occurred_on = forms.DateField(label=_("Occurred on"), required=False)
    description = forms.CharField(label=_("Description"), widget=forms.Textarea)
    grade = forms.TypedChoiceField(
        label=_("Grade"),
        coerce=int,
        choices=[("", _("By what happened")), *ComplaintGrade.choices],
        required=False,
        empty_value=None,
        help_text=_("Serious and critical complaints open an incident at once."),
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["agents"].queryset = agents_in(evidence_scope(user, "agent_profile__team"))


class AnswerForm(forms.Form):
    text = forms.CharField(label=_("Answer given to the complainant"), widget=forms.Textarea)


class ComplaintAgentInline(ReadOnlyInline):
    model = ComplaintAgent
    fields = ["agent"]
    show_change_link = False


class AnswerInline(ReadOnlyInline):
    model = ComplaintAnswer
    fields = ["answered_by", "answered_at", "text"]
    show_change_link = False


class OverdueFilter(admin.SimpleListFilter):
    title = _("answer")
    parameter_name = "answer"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("overdue", _("Overdue")), ("open", _("Not answered")), ("done", _("Answered"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Complaint]) -> Any:
        if self.value() == "overdue":
            return queryset.filter(answered=False, respond_by__lt=timezone.now())
        if self.value() == "open":
            return queryset.filter(answered=False)
        if self.value() == "done":
            return queryset.filter(answered=True)
        return queryset


def complaint_scope(user: Any) -> Q:
    """Legal and auditors read every complaint; a supervisor those about their teams' cases
    and those no case is linked to yet (someone must link them)."""
    scope = evidence_scope(user, "case__team")
    if not scope:
        return scope
    return scope | Q(case__isnull=True)


@admin.register(Complaint)
class ComplaintAdmin(ScopedReadsAdmin, ReadOnlyAdmin):
    list_display = [
        "received_at",
        "reference",
        "grade",
        "category",
        "channel",
        "case",
        "respond_by",
        "answer_state",
    ]
    list_filter = [OverdueFilter, "grade", "category", "channel"]
    list_select_related = ["case"]
    search_fields = ["reference", "case__number", "case_number_given", "complainant_name"]
    readonly_fields = [
        "reference",
        "received_at",
        "channel",
        "complainant_kind",
        "complainant_name",
        "complainant_contact",
        "case_number_given",
        "case",
        "visit",
        "category",
        "occurred_on",
        "description",
        "grade",
        "respond_by",
        "recorded_by",
    ]
    inlines = [ComplaintAgentInline, AnswerInline]
    change_form_template = "admin/fieldvisit/incident/change_form.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Complaint]:
        answered = ComplaintAnswer.objects.filter(complaint=OuterRef("pk"))
        return (
            super()
            .get_queryset(request)
            .filter(complaint_scope(request.user))
            .annotate(answered=Exists(answered))
        )

    @admin.display(description=_("Answer"))
    def answer_state(self, obj: Complaint) -> str:
        if getattr(obj, "answered", False):
            return _("answered")
        if obj.respond_by < timezone.now():
            return _("OVERDUE")
        return _("due")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("fieldvisit.add_complaint")

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path(
                "<uuid:object_id>/answer/",
                wrap(self.answer_view),
                name="fieldvisit_complaint_answer",
            ),
            *super().get_urls(),
        ]

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> Any:
        """Intake: a complaint received by telephone, letter, in person, ..."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ComplaintForm(request.POST or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            visit = None
            if data["visit"]:
                visit = (
                    Visit.objects.filter(evidence_scope(request.user, "stop__route__team"))
                    .select_related("stop__case", "stop__route__team")
                    .filter(pk=data["visit"])
                    .first()
                )
                if visit is None:
                    form.add_error("visit", _("No such visit."))
            if not form.errors:
                complaint = run(
                    self,
                    request,
                    form,
                    lambda: actions.record_complaint(
                        actions.ComplaintData(
                            channel=data["channel"],
                            complainant_kind=data["complainant_kind"],
                            complainant_name=data["complainant_name"],
                            complainant_contact=data["complainant_contact"],
                            case_number=data["case_number"],
                            category=data["category"],
                            description=data["description"],
                            occurred_on=data["occurred_on"],
                            grade=data["grade"],
                            visit=visit,
                            agents=list(data["agents"]),
                        ),
                        by=request.user,
                    ),
                )
                if complaint is not None:
                    self.message_user(
                        request,
                        format_lazy(
                            _("Complaint {reference} recorded."), reference=complaint.reference
                        ),
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(
                        reverse("admin:fieldvisit_complaint_change", args=[complaint.pk])
                    )
        return form_page(self, request, form, _("Take a complaint"), _("Record"))

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        extra = dict(extra_context or {})
        if request.user.has_perm("fieldvisit.answer_complaint"):
            extra["action_url"] = reverse("admin:fieldvisit_complaint_answer", args=[object_id])
            extra["action_label"] = _("Record the answer")
        return super().change_view(request, object_id, form_url, extra)

    def answer_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not request.user.has_perm("fieldvisit.answer_complaint"):
            raise PermissionDenied
        complaint = get_object_or_404(self.get_queryset(request), pk=object_id)
        form = AnswerForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            done = run(
                self,
                request,
                form,
                lambda: actions.answer_complaint(
                    complaint.pk, text=form.cleaned_data["text"], by=request.user
                ),
            )
            if done is not None:
                self.message_user(request, _("Answer recorded."), messages.SUCCESS)
                return HttpResponseRedirect(
                    reverse("admin:fieldvisit_complaint_change", args=[complaint.pk])
                )
        return form_page(
            self, request, form, _("Record the answer"), _("Record"), complaint,
            complaint.description,
        )  # fmt: skip
