"""Conduct incidents (事件), the agents' written accounts, the risk manager's decision,
suspensions, and complaints (投诉) by debtors and third parties.

What a regulator or a court asks first about a collection visit is whether the company's own
prohibitions were kept, and what it did when they were not. So every step is a record of its
own, append-only (DESIGN rule 11; the database refuses UPDATE and DELETE too) and ledgered:
the incident as opened, the agents it names, each account they give, the decision that
closes it; a suspension and the record that lifts it; a complaint as received, each grade
given to it, the answer sent. Nothing here is edited: an incident's state, a suspension's and
a complaint's are read from the records that follow them.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext, gettext_noop

from fieldvisit.choices import (
    AlertSeverity,
    ComplainantKind,
    ComplaintCategory,
    ComplaintChannel,
    ComplaintGrade,
    IncidentDecisionKind,
    IncidentSource,
)
from fieldvisit.db.append_only import AppendOnlyModel
from fieldvisit.texts import _


class Complaint(AppendOnlyModel):
    """A complaint about a visit or an agent, by the debtor, a relation or a third party, as
    received: through the public form (``recorded_by`` empty) or taken by staff. Its grade
    sets the date it must be answered by; a serious one opened an incident at once."""

    id = models.UUIDField(verbose_name=_("id"), primary_key=True, default=uuid.uuid4)
    reference = models.CharField(
        verbose_name=_("reference"),
        max_length=32,
        unique=True,
        help_text=_("Given to the complainant, to quote when they follow it up."),
    )
    received_at = models.DateTimeField(verbose_name=_("received at"))
    channel = models.CharField(
        verbose_name=_("channel"), max_length=16, choices=ComplaintChannel.choices
    )
    complainant_kind = models.CharField(
        verbose_name=_("complainant"), max_length=16, choices=ComplainantKind.choices
    )
    complainant_name = models.CharField(verbose_name=_("complainant's name"), max_length=200)
    complainant_contact = models.CharField(
        verbose_name=_("how to reach them"), max_length=200, blank=True
    )
    case_number_given = models.CharField(
        verbose_name=_("case reference as given"),
        max_length=64,
        blank=True,
        help_text=_("As the complainant wrote it (from the company's letter)."),
    )
    case = models.ForeignKey(
        "fieldvisit.Case",
        verbose_name=_("case"),
        on_delete=models.PROTECT,
        related_name="complaints",
        null=True,
        blank=True,
    )
    visit = models.ForeignKey(
        "fieldvisit.Visit",
        verbose_name=_("visit"),
        on_delete=models.PROTECT,
        related_name="complaints",
        null=True,
        blank=True,
    )
    category = models.CharField(
        verbose_name=_("what happened"), max_length=32, choices=ComplaintCategory.choices
    )
    description = models.TextField(verbose_name=_("description"))
    occurred_on = models.DateField(verbose_name=_("occurred on"), null=True, blank=True)
    grade = models.PositiveSmallIntegerField(
        verbose_name=_("grade"), choices=ComplaintGrade.choices
    )
    respond_by = models.DateTimeField(verbose_name=_("answer due by"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        help_text=_("Empty: received through the public form."),
    )
    request_sha256 = models.CharField(verbose_name=_("request sha256"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        ordering = ["-received_at"]
        permissions = [("answer_complaint", gettext_noop("Can record the answer to a complaint"))]
        constraints = [
            models.CheckConstraint(name="complaint_described", condition=~Q(description="")),
            models.CheckConstraint(
                name="complaint_answer_after_receipt",
                condition=Q(respond_by__gt=models.F("received_at")),
            ),
        ]

    def __str__(self) -> str:
        return gettext("Complaint {reference}").format(reference=self.reference)


class ComplaintAgent(AppendOnlyModel):
    """An agent a complaint names (or staff identified from the visit)."""

    complaint = models.ForeignKey(
        Complaint, verbose_name=_("complaint"), on_delete=models.PROTECT, related_name="named"
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        on_delete=models.PROTECT,
        related_name="complaints_naming",
    )

    class Meta:
        verbose_name = _("agent named in a complaint")
        verbose_name_plural = _("agents named in complaints")
        constraints = [
            models.UniqueConstraint(fields=["complaint", "agent"], name="one_complaint_agent")
        ]

    def __str__(self) -> str:
        return str(self.agent)


class ComplaintAnswer(AppendOnlyModel):
    """The company's answer to a complaint: what it told the complainant, when, and who.
    A complaint without one after its due date is overdue."""

    id = models.UUIDField(verbose_name=_("id"), primary_key=True, default=uuid.uuid4)
    complaint = models.ForeignKey(
        Complaint, verbose_name=_("complaint"), on_delete=models.PROTECT, related_name="answers"
    )
    text = models.TextField(verbose_name=_("answer"))
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("answered by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    answered_at = models.DateTimeField(verbose_name=_("answered at"))

    class Meta:
        verbose_name = _("answer to a complaint")
        verbose_name_plural = _("answers to complaints")
        ordering = ["answered_at"]
        constraints = [models.CheckConstraint(name="answer_given", condition=~Q(text=""))]

    def __str__(self) -> str:
        return gettext("Answer to {complaint}").format(complaint=self.complaint)


class Incident(AppendOnlyModel):
    """A conduct incident: a rule of the seeds attested broken in a report, an agent acting
    alone, a serious complaint or a supervisor's finding. It names the case, the visit and
    the agents, has a severity, alerted the risk manager and legal when opened, and holds
    the case (``hold``) until a risk manager closes it with a decision."""

    id = models.UUIDField(verbose_name=_("id"), primary_key=True, default=uuid.uuid4)
    source = models.CharField(
        verbose_name=_("source"), max_length=16, choices=IncidentSource.choices
    )
    rules = models.JSONField(
        verbose_name=_("rules"),
        help_text=_("The rules it concerns (attestation items, lone_agent, complaint category)."),
    )
    severity = models.PositiveSmallIntegerField(
        verbose_name=_("severity"), choices=AlertSeverity.choices
    )
    summary = models.TextField(verbose_name=_("summary"))
    case = models.ForeignKey(
        "fieldvisit.Case",
        verbose_name=_("case"),
        on_delete=models.PROTECT,
        related_name="incidents",
    )
    visit = models.ForeignKey(
        "fieldvisit.Visit",
        verbose_name=_("visit"),
        on_delete=models.PROTECT,
        related_name="incidents",
        null=True,
        blank=True,
    )
    team = models.ForeignKey(
        "fieldvisit.Team", verbose_name=_("team"), on_delete=models.PROTECT, related_name="+"
    )
    report = models.ForeignKey(
        "fieldvisit.VisitReport",
        verbose_name=_("report"),
        on_delete=models.PROTECT,
        related_name="incidents",
        null=True,
        blank=True,
    )
    complaint = models.ForeignKey(
        Complaint,
        verbose_name=_("complaint"),
        on_delete=models.PROTECT,
        related_name="incidents",
        null=True,
        blank=True,
    )
    alert = models.ForeignKey(
        "fieldvisit.Alert",
        verbose_name=_("alert"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    hold = models.ForeignKey(
        "fieldvisit.CaseStatusChange",
        verbose_name=_("case put on hold by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        help_text=_("Empty when the case was not open (already held, closed, ...)."),
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("opened by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        help_text=_("Empty: opened by the system from a record."),
    )
    opened_at = models.DateTimeField(verbose_name=_("opened at"))

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        ordering = ["-opened_at"]
        permissions = [
            ("decide_incident", gettext_noop("Can close an incident with a decision")),
            ("suspend_agent", gettext_noop("Can suspend an agent and lift a suspension")),
        ]
        indexes = [models.Index(fields=["case", "opened_at"])]
        constraints = [models.CheckConstraint(name="incident_summary", condition=~Q(summary=""))]

    def __str__(self) -> str:
        return gettext("Incident {id}").format(id=str(self.id)[:8])

    def decision_or_none(self) -> IncidentDecision | None:
        try:
            return self.decision
        except IncidentDecision.DoesNotExist:
            return None


class IncidentAgent(AppendOnlyModel):
    """An agent the incident names, asked for a written account by ``account_due_at``."""

    incident = models.ForeignKey(
        Incident, verbose_name=_("incident"), on_delete=models.PROTECT, related_name="named"
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        on_delete=models.PROTECT,
        related_name="incidents_naming",
    )
    account_due_at = models.DateTimeField(verbose_name=_("account due by"))

    class Meta:
        verbose_name = _("agent named in an incident")
        verbose_name_plural = _("agents named in incidents")
        constraints = [
            models.UniqueConstraint(fields=["incident", "agent"], name="one_incident_agent")
        ]

    def __str__(self) -> str:
        return str(self.agent)


class IncidentAccount(AppendOnlyModel):
    """An agent's written account of an incident (情况说明), in their own words. A later
    account adds to the earlier one; neither is edited."""

    id = models.UUIDField(verbose_name=_("id"), primary_key=True)
    incident = models.ForeignKey(
        Incident, verbose_name=_("incident"), on_delete=models.PROTECT, related_name="accounts"
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        on_delete=models.PROTECT,
        related_name="incident_accounts",
    )
    device_id = models.CharField(verbose_name=_("device id"), max_length=128)
    text = models.TextField(verbose_name=_("account"))
    submitted_at = models.DateTimeField(verbose_name=_("submitted at"))
    request_sha256 = models.CharField(verbose_name=_("request sha256"), max_length=64)

    class Meta:
        verbose_name = _("incident account")
        verbose_name_plural = _("incident accounts")
        ordering = ["submitted_at"]
        constraints = [models.CheckConstraint(name="account_given", condition=~Q(text=""))]

    def __str__(self) -> str:
        return gettext("Account by {agent}").format(agent=self.agent)


class IncidentDecision(AppendOnlyModel):
    """The risk manager's decision that closes an incident, with the findings it rests on
    and what became of the case (``release``: the change that took it off hold)."""

    incident = models.OneToOneField(
        Incident, verbose_name=_("incident"), on_delete=models.PROTECT, related_name="decision"
    )
    decision = models.CharField(
        verbose_name=_("decision"), max_length=24, choices=IncidentDecisionKind.choices
    )
    findings = models.TextField(verbose_name=_("findings"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(verbose_name=_("decided at"))
    release = models.ForeignKey(
        "fieldvisit.CaseStatusChange",
        verbose_name=_("case released by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )

    class Meta:
        verbose_name = _("incident decision")
        verbose_name_plural = _("incident decisions")
        constraints = [models.CheckConstraint(name="decision_findings", condition=~Q(findings=""))]

    def __str__(self) -> str:
        return self.get_decision_display()


class AgentSuspension(AppendOnlyModel):
    """An agent suspended from field work: no route is submitted or approved for their team
    while they are on it. Lifted by a ``SuspensionLift``, never edited."""

    id = models.UUIDField(verbose_name=_("id"), primary_key=True, default=uuid.uuid4)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        on_delete=models.PROTECT,
        related_name="suspensions",
    )
    incident = models.ForeignKey(
        Incident,
        verbose_name=_("incident"),
        on_delete=models.PROTECT,
        related_name="suspensions",
        null=True,
        blank=True,
    )
    reason = models.TextField(verbose_name=_("reason"))
    suspended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("suspended by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    suspended_at = models.DateTimeField(verbose_name=_("suspended at"))

    class Meta:
        verbose_name = _("agent suspension")
        verbose_name_plural = _("agent suspensions")
        ordering = ["-suspended_at"]
        constraints = [models.CheckConstraint(name="suspension_reason", condition=~Q(reason=""))]

    def __str__(self) -> str:
        return gettext("Suspension of {agent}").format(agent=self.agent)

    def lift_or_none(self) -> SuspensionLift | None:
        try:
            return self.lift
        except SuspensionLift.DoesNotExist:
            return None


class SuspensionLift(AppendOnlyModel):
    """The end of a suspension: who lifted it, when and why."""

    suspension = models.OneToOneField(
        AgentSuspension,
        verbose_name=_("suspension"),
        on_delete=models.PROTECT,
        related_name="lift",
    )
    reason = models.TextField(verbose_name=_("reason"))
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("lifted by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    lifted_at = models.DateTimeField(verbose_name=_("lifted at"))

    class Meta:
        verbose_name = _("suspension lift")
        verbose_name_plural = _("suspension lifts")
        constraints = [models.CheckConstraint(name="lift_reason", condition=~Q(reason=""))]

    def __str__(self) -> str:
        return gettext("Lift of {suspension}").format(suspension=self.suspension)
