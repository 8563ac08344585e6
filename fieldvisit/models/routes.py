"""Visit routes, their stops and the changes made to them after approval."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q

from fieldvisit.choices import ChangeRequestStatus, RouteStatus, StopStatus, VisitStatus

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

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    team = models.ForeignKey("fieldvisit.Team", on_delete=models.PROTECT, related_name="routes")
    date = models.DateField()
    status = models.CharField(max_length=16, choices=RouteStatus.choices, default=RouteStatus.DRAFT)
    planned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="planned_routes"
    )
    submitted_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Everyone who made the plan besides ``planned_by``: changed it (team, date, stops) while
    # it was a draft, or submitted it. None of them decides it (``rules.check_maker_checker``).
    makers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="made_routes", blank=True, editable=False
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="decided_routes",
        null=True,
        blank=True,
        editable=False,
    )
    decided_at = models.DateTimeField(null=True, blank=True, editable=False)
    decision_comment = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-date", "team__name"]
        permissions = [("decide_route", "Can approve or reject a submitted route")]
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

    def clean(self) -> None:
        if self.decided_by_id and self.decided_by_id == self.planned_by_id:
            raise ValidationError("The planner of a route cannot decide on it (maker-checker).")


class Stop(models.Model):
    """One address on a route. Each carries a unique demand-notice number from approval on."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    route = models.ForeignKey(Route, on_delete=models.CASCADE, related_name="stops")
    sequence = models.PositiveSmallIntegerField()
    case = models.ForeignKey("fieldvisit.Case", on_delete=models.PROTECT, related_name="stops")
    address = models.ForeignKey(
        "fieldvisit.Address", on_delete=models.PROTECT, related_name="stops"
    )
    notice_number = models.CharField(
        max_length=40, unique=True, null=True, blank=True, editable=False
    )
    status = models.CharField(max_length=16, choices=StopStatus.choices, default=StopStatus.PLANNED)
    added_by_change = models.ForeignKey(
        "fieldvisit.RouteChangeRequest",
        on_delete=models.PROTECT,
        related_name="added_stops",
        null=True,
        blank=True,
        editable=False,
    )

    class Meta:
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
            raise ValidationError({"address": "The address must belong to the stop's case."})


class Visit(models.Model):
    """What happens at a stop: the unit a compliance verdict and an evidence bundle cover."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    stop = models.OneToOneField(Stop, on_delete=models.PROTECT, related_name="visit")
    status = models.CharField(
        max_length=16, choices=VisitStatus.choices, default=VisitStatus.PLANNED
    )
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["stop__route__date", "stop__sequence"]

    def __str__(self) -> str:
        return f"Visit to {self.stop}"

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

    route = models.ForeignKey(Route, on_delete=models.CASCADE, related_name="clocks")
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    last_report_at = models.DateTimeField(help_text="The agent's latest check-in (captured).")
    returned_at = models.DateTimeField(
        null=True, blank=True, help_text="The agent's return: no report is due after it."
    )
    next_due_at = models.DateTimeField(null=True, blank=True)
    alert_at = models.DateTimeField(
        null=True, blank=True, help_text="Due time plus grace: the supervisor is alerted."
    )
    escalate_at = models.DateTimeField(
        null=True, blank=True, help_text="Still silent this long after: the alert escalates."
    )
    # What the watchdog did for the current due time: 0 nothing yet, 1 alerted, 2 escalated.
    # A new report resets it.
    alerted = models.PositiveSmallIntegerField(default=0)
    departed_at = models.DateTimeField(null=True, blank=True, help_text="The agent's depart.")
    # The watchdog looked for the partner's matching depart (``lone_depart``), once.
    depart_checked = models.BooleanField(default=False)
    # The phone's heartbeat (``POST /api/v1/heartbeat/``): its latest state, and when its
    # absence raises ``phone_silent`` (the watchdog reads this column, indexed).
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    battery = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Percent.")
    charging = models.BooleanField(null=True, blank=True)
    signal = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Bars, 0 to 4.")
    network = models.CharField(max_length=16, blank=True)
    phone_silent_at = models.DateTimeField(null=True, blank=True)
    phone_alerted = models.BooleanField(default=False)
    battery_alerted = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["route", "agent"], name="one_clock_per_agent_route")
        ]
        indexes = [
            models.Index(fields=["alert_at"], name="agentclock_alert_at"),
            models.Index(fields=["escalate_at"], name="agentclock_escalate_at"),
            models.Index(fields=["phone_silent_at"], name="agentclock_phone_silent_at"),
        ]

    def __str__(self) -> str:
        return f"{self.agent} on {self.route}: due {self.next_due_at}"


class RouteChangeRequest(models.Model):
    """A deviation from an approved route (extra, skipped or reordered stops).

    The seeds forbid changing the plan without the lead's prior consent (行为指引 3), so a
    change takes effect only once someone other than the requester approves it.
    """

    id = models.UUIDField(primary_key=True, help_text="Client-generated UUID.")
    route = models.ForeignKey(Route, on_delete=models.PROTECT, related_name="change_requests")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="change_requests"
    )
    reason = models.TextField()
    add_stops = models.JSONField(default=list, blank=True)
    skip_stops = models.JSONField(default=list, blank=True)
    order = models.JSONField(default=list, blank=True)
    status = models.CharField(
        max_length=16, choices=ChangeRequestStatus.choices, default=ChangeRequestStatus.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="decided_change_requests",
        null=True,
        blank=True,
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.TextField(blank=True)
    request_sha256 = models.CharField(max_length=64, editable=False)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]
        permissions = [("decide_routechangerequest", "Can approve or reject a route change")]
        constraints = [
            models.CheckConstraint(
                name="change_request_maker_checker", condition=~Q(decided_by=F("requested_by"))
            ),
            models.CheckConstraint(
                name="change_request_decision_recorded",
                condition=Q(status=ChangeRequestStatus.PENDING)
                | Q(decided_by__isnull=False, decided_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"Change to {self.route} ({self.get_status_display()})"
