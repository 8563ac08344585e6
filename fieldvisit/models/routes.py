"""Visit routes, their stops and the changes made to them after approval."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext, gettext_noop

from fieldvisit.choices import (
    ChangeRequestKind,
    ChangeRequestStatus,
    RouteStatus,
    StopStatus,
    VisitStatus,
)
from fieldvisit.texts import _

# An approved route stays approved as it is worked: under way, then completed.
APPROVED_STATUSES = (RouteStatus.APPROVED, RouteStatus.IN_PROGRESS, RouteStatus.COMPLETED)

DECIDED_STATUSES = [
    RouteStatus.APPROVED,
    RouteStatus.REJECTED,
    RouteStatus.IN_PROGRESS,
    RouteStatus.COMPLETED,
]


class Route(models.Model):
    """A team's ordered stops for one day (外访路线), planned the day before and approved.

    Maker-checker: the person who planned a route can never be the one who approves it, which
    the database enforces as well as the code; nor can anyone who changed or submitted it
    (``makers``), which the decision checks. Agents may only check in on approved routes.
    """

    id = models.UUIDField(
        verbose_name=_("id"), primary_key=True, default=uuid.uuid4, editable=False
    )
    team = models.ForeignKey(
        "fieldvisit.Team", verbose_name=_("team"), on_delete=models.PROTECT, related_name="routes"
    )
    date = models.DateField(verbose_name=_("date"))
    status = models.CharField(
        verbose_name=_("status"),
        max_length=16,
        choices=RouteStatus.choices,
        default=RouteStatus.DRAFT,
    )
    planned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("planned by"),
        on_delete=models.PROTECT,
        related_name="planned_routes",
    )
    submitted_at = models.DateTimeField(
        verbose_name=_("submitted at"), null=True, blank=True, editable=False
    )
    # Everyone who made the plan besides ``planned_by``: changed it (team, date, stops) while
    # it was a draft, or submitted it. None of them decides it (``rules.check_maker_checker``).
    makers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("makers"),
        related_name="made_routes",
        blank=True,
        editable=False,
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        related_name="decided_routes",
        null=True,
        blank=True,
        editable=False,
    )
    decided_at = models.DateTimeField(
        verbose_name=_("decided at"), null=True, blank=True, editable=False
    )
    decision_comment = models.TextField(
        verbose_name=_("decision comment"), blank=True, editable=False
    )
    day_close_checked_at = models.DateTimeField(
        verbose_name=_("day close checked at"),
        null=True,
        blank=True,
        help_text=_("When the close of the day was judged (``jobs.day_close``): once."),
    )
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(verbose_name=_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("route")
        verbose_name_plural = _("routes")
        ordering = ["-date", "team__name"]
        permissions = [("decide_route", gettext_noop("Can approve or reject a submitted route"))]
        constraints = [
            models.CheckConstraint(
                name="route_maker_checker", condition=~Q(decided_by=F("planned_by"))
            ),
            models.CheckConstraint(
                name="route_decision_recorded",
                condition=~Q(status__in=DECIDED_STATUSES)
                | Q(decided_by__isnull=False, decided_at__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["team", "date"],
                condition=~Q(status=RouteStatus.REJECTED),
                name="one_live_route_per_team_day",
            ),
        ]
        indexes = [models.Index(fields=["team", "date"])]

    def __str__(self) -> str:
        return f"{self.team} {self.date:%Y-%m-%d} ({self.get_status_display()})"

    @property
    def approved(self) -> bool:
        """Approved by a checker, and since worked or completed at most."""
        return self.decided_by_id is not None and self.status in APPROVED_STATUSES

    def clean(self) -> None:
        if self.decided_by_id and self.decided_by_id == self.planned_by_id:
            raise ValidationError(_("The planner of a route cannot decide on it (maker-checker)."))


class Stop(models.Model):
    """One address on a route. Each carries a unique demand-notice number from approval on."""

    id = models.UUIDField(
        verbose_name=_("id"), primary_key=True, default=uuid.uuid4, editable=False
    )
    route = models.ForeignKey(
        Route, verbose_name=_("route"), on_delete=models.CASCADE, related_name="stops"
    )
    sequence = models.PositiveSmallIntegerField(verbose_name=_("sequence"))
    case = models.ForeignKey(
        "fieldvisit.Case", verbose_name=_("case"), on_delete=models.PROTECT, related_name="stops"
    )
    address = models.ForeignKey(
        "fieldvisit.Address",
        verbose_name=_("address"),
        on_delete=models.PROTECT,
        related_name="stops",
    )
    notice_number = models.CharField(
        verbose_name=_("notice number"),
        max_length=40,
        unique=True,
        null=True,
        blank=True,
        editable=False,
    )
    status = models.CharField(
        verbose_name=_("status"),
        max_length=16,
        choices=StopStatus.choices,
        default=StopStatus.PLANNED,
    )
    added_by_change = models.ForeignKey(
        "fieldvisit.RouteChangeRequest",
        verbose_name=_("added by change"),
        on_delete=models.PROTECT,
        related_name="added_stops",
        null=True,
        blank=True,
        editable=False,
    )
    # A bank counter the agents escort the debtor of that stop to (an approved escort change
    # request): part of the same contact, so it does not count against the visit caps.
    escort_of = models.ForeignKey(
        "self",
        verbose_name=_("escort of"),
        on_delete=models.PROTECT,
        related_name="escorts",
        null=True,
        blank=True,
        editable=False,
    )

    class Meta:
        verbose_name = _("stop")
        verbose_name_plural = _("stops")
        ordering = ["route", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["route", "sequence"], name="stop_sequence_unique"),
            models.UniqueConstraint(fields=["route", "address"], name="stop_address_once"),
            models.CheckConstraint(name="stop_sequence_positive", condition=Q(sequence__gte=1)),
        ]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.address}"

    def clean(self) -> None:
        if self.address_id and self.case_id and self.address.case_id != self.case_id:
            raise ValidationError({"address": _("The address must belong to the stop's case.")})


class Visit(models.Model):
    """What happens at a stop: the unit a compliance verdict and an evidence bundle cover."""

    id = models.UUIDField(
        verbose_name=_("id"), primary_key=True, default=uuid.uuid4, editable=False
    )
    stop = models.OneToOneField(
        Stop, verbose_name=_("stop"), on_delete=models.PROTECT, related_name="visit"
    )
    status = models.CharField(
        verbose_name=_("status"),
        max_length=16,
        choices=VisitStatus.choices,
        default=VisitStatus.PLANNED,
    )
    opened_at = models.DateTimeField(verbose_name=_("opened at"), null=True, blank=True)
    closed_at = models.DateTimeField(verbose_name=_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["stop__route__date", "stop__sequence"]

    def __str__(self) -> str:
        return gettext("Visit to {stop}").format(stop=self.stop)

    @classmethod
    def of_case(cls, case: Any) -> models.QuerySet[Visit]:
        """A case's visits in time order, with what their evidence is shown with."""
        return (
            cls.objects.filter(stop__case=case)
            .select_related("stop__route", "stop__address", "stop__case__creditor")
            .order_by("stop__route__date", "stop__sequence", "pk")
        )


class AgentClock(models.Model):
    """One agent's check-in clock on a route under way: when their next report is due, and
    when its absence alerts the supervisor and then escalates.

    Periodic reports are owed by each agent, not by the team: a partner's check-in does not
    cover a silent agent. Written with each check-in, under the route lock that check-in
    takes, by one pure rule (``rules.checkins.clock_times``); the watchdog reads the due
    clocks in one indexed query and raises an ``agent_silent`` alert naming the agent.

    Not evidence: the check-ins are. A clock is the state they leave behind, and moves on.
    """

    route = models.ForeignKey(
        Route, verbose_name=_("route"), on_delete=models.CASCADE, related_name="clocks"
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    last_report_at = models.DateTimeField(
        verbose_name=_("last report at"), help_text=_("The agent's latest check-in (captured).")
    )
    returned_at = models.DateTimeField(
        verbose_name=_("returned at"),
        null=True,
        blank=True,
        help_text=_("The agent's return: no report is due after it."),
    )
    next_due_at = models.DateTimeField(verbose_name=_("next due at"), null=True, blank=True)
    alert_at = models.DateTimeField(
        verbose_name=_("alert at"),
        null=True,
        blank=True,
        help_text=_("Due time plus grace: the supervisor is alerted."),
    )
    escalate_at = models.DateTimeField(
        verbose_name=_("escalate at"),
        null=True,
        blank=True,
        help_text=_("Still silent this long after: the alert escalates."),
    )
    # What the watchdog did for the current due time: 0 nothing yet, 1 alerted, 2 escalated.
    # A new report resets it.
    alerted = models.PositiveSmallIntegerField(verbose_name=_("alerted"), default=0)
    departed_at = models.DateTimeField(
        verbose_name=_("departed at"), null=True, blank=True, help_text=_("The agent's depart.")
    )
    # The watchdog looked for the partner's matching depart (``lone_depart``), once.
    depart_checked = models.BooleanField(verbose_name=_("depart checked"), default=False)
    # The phone's heartbeat (``POST /api/v1/heartbeat/``): its latest state, and when its
    # absence raises ``phone_silent`` (the watchdog reads this column, indexed).
    heartbeat_at = models.DateTimeField(verbose_name=_("heartbeat at"), null=True, blank=True)
    battery = models.PositiveSmallIntegerField(
        verbose_name=_("battery"), null=True, blank=True, help_text=_("Percent.")
    )
    charging = models.BooleanField(verbose_name=_("charging"), null=True, blank=True)
    signal = models.PositiveSmallIntegerField(
        verbose_name=_("signal"), null=True, blank=True, help_text=_("Bars, 0 to 4.")
    )
    network = models.CharField(verbose_name=_("network"), max_length=16, blank=True)
    phone_silent_at = models.DateTimeField(verbose_name=_("phone silent at"), null=True, blank=True)
    phone_alerted = models.BooleanField(verbose_name=_("phone alerted"), default=False)
    battery_alerted = models.BooleanField(verbose_name=_("battery alerted"), default=False)

    class Meta:
        verbose_name = _("agent clock")
        verbose_name_plural = _("agent clocks")
        constraints = [
            models.UniqueConstraint(fields=["route", "agent"], name="one_clock_per_agent_route")
        ]
        indexes = [
            models.Index(fields=["alert_at"], name="agentclock_alert_at"),
            models.Index(fields=["escalate_at"], name="agentclock_escalate_at"),
            models.Index(fields=["phone_silent_at"], name="agentclock_phone_silent_at"),
        ]

    def __str__(self) -> str:
        return gettext("{agent} on {route}: due {next_due_at}").format(
            agent=self.agent, route=self.route, next_due_at=self.next_due_at
        )


class RouteChangeRequest(models.Model):
    """A deviation from an approved route (extra, skipped or reordered stops).

    The seeds forbid changing the plan without the lead's prior consent (行为指引 3), so a
    change takes effect only once someone other than the requester approves it.
    """

    id = models.UUIDField(
        verbose_name=_("id"), primary_key=True, help_text=_("Client-generated UUID.")
    )
    route = models.ForeignKey(
        Route, verbose_name=_("route"), on_delete=models.PROTECT, related_name="change_requests"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.PROTECT,
        related_name="change_requests",
    )
    reason = models.TextField(verbose_name=_("reason"))
    kind = models.CharField(
        verbose_name=_("kind"),
        max_length=16,
        choices=ChangeRequestKind.choices,
        default=ChangeRequestKind.ROUTE,
    )
    # An escort to a bank counter (行为指引 4): the stop whose debtor wants to pay, and the
    # bank branch, its address and position (the geofence of the stop it becomes).
    escort_stop = models.ForeignKey(
        Stop,
        verbose_name=_("escorted from stop"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    bank_name = models.CharField(verbose_name=_("bank branch"), max_length=200, blank=True)
    bank_address = models.CharField(verbose_name=_("bank address"), max_length=500, blank=True)
    bank_lat = models.FloatField(verbose_name=_("bank latitude"), null=True, blank=True)
    bank_lon = models.FloatField(verbose_name=_("bank longitude"), null=True, blank=True)
    add_stops = models.JSONField(verbose_name=_("add stops"), default=list, blank=True)
    skip_stops = models.JSONField(verbose_name=_("skip stops"), default=list, blank=True)
    order = models.JSONField(verbose_name=_("order"), default=list, blank=True)
    status = models.CharField(
        verbose_name=_("status"),
        max_length=16,
        choices=ChangeRequestStatus.choices,
        default=ChangeRequestStatus.PENDING,
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        related_name="decided_change_requests",
        null=True,
        blank=True,
    )
    decided_at = models.DateTimeField(verbose_name=_("decided at"), null=True, blank=True)
    decision_comment = models.TextField(verbose_name=_("decision comment"), blank=True)
    request_sha256 = models.CharField(
        verbose_name=_("request sha256"), max_length=64, editable=False
    )
    received_at = models.DateTimeField(verbose_name=_("received at"), auto_now_add=True)

    class Meta:
        verbose_name = _("route change request")
        verbose_name_plural = _("route change requests")
        ordering = ["-received_at"]
        permissions = [
            ("decide_routechangerequest", gettext_noop("Can approve or reject a route change"))
        ]
        constraints = [
            models.CheckConstraint(
                name="change_request_maker_checker", condition=~Q(decided_by=F("requested_by"))
            ),
            models.CheckConstraint(
                name="change_request_escort_complete",
                condition=~Q(kind=ChangeRequestKind.BANK_ESCORT)
                | (
                    Q(escort_stop__isnull=False, bank_lat__isnull=False, bank_lon__isnull=False)
                    & ~Q(bank_name="")
                    & ~Q(bank_address="")
                ),
            ),
            models.CheckConstraint(
                name="change_request_decision_recorded",
                condition=Q(status=ChangeRequestStatus.PENDING)
                | Q(decided_by__isnull=False, decided_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return gettext("Change to {route} ({status})").format(
            route=self.route, status=self.get_status_display()
        )
