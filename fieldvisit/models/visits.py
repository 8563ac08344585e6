"""Check-ins and alerts: where the agents were, when, and what went wrong."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext, gettext_noop

from fieldvisit.choices import (
    AckChannel,
    AlertKind,
    AlertSeverity,
    AlertStatus,
    CheckInKind,
    Datum,
)
from fieldvisit.db.append_only import AppendOnlyModel, UndeletableModel
from fieldvisit.texts import _


class CheckIn(AppendOnlyModel):
    """A timed, geotagged report from one agent's phone (通报): depart, arrive, periodic,
    leave, return.

    Both clocks are kept: ``captured_at`` (the device, when it happened) and
    ``received_at`` (the server, when it reached us), with the measured skew. A check-in
    queued offline that breaks a rule is kept with the break as a flag: it is evidence of
    what happened and is never thrown away.
    """

    id = models.UUIDField(
        verbose_name=_("id"), primary_key=True, help_text=_("Client-generated UUID.")
    )
    route = models.ForeignKey(
        "fieldvisit.Route",
        verbose_name=_("route"),
        on_delete=models.PROTECT,
        related_name="checkins",
    )
    stop = models.ForeignKey(
        "fieldvisit.Stop",
        verbose_name=_("stop"),
        on_delete=models.PROTECT,
        related_name="checkins",
        null=True,
        blank=True,
    )
    visit = models.ForeignKey(
        "fieldvisit.Visit",
        verbose_name=_("visit"),
        on_delete=models.PROTECT,
        related_name="checkins",
        null=True,
        blank=True,
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        on_delete=models.PROTECT,
        related_name="checkins",
    )
    device_id = models.CharField(verbose_name=_("device id"), max_length=128)
    kind = models.CharField(verbose_name=_("kind"), max_length=16, choices=CheckInKind.choices)
    lat = models.FloatField(verbose_name=_("lat"), help_text=_("WGS-84."))
    lon = models.FloatField(verbose_name=_("lon"), help_text=_("WGS-84."))
    # The position as the phone sent it, when its map SDK gave a Chinese datum (empty: the
    # phone sent WGS-84). Nullable without a default, so SQLite adds the columns in place and
    # the append-only triggers stay.
    source_datum = models.CharField(  # noqa: DJ001 (NULL: WGS-84 was sent; see above)
        verbose_name=_("source datum"),
        max_length=8,
        choices=Datum.choices,
        null=True,
        blank=True,
    )
    source_lat = models.FloatField(verbose_name=_("source lat"), null=True, blank=True)
    source_lon = models.FloatField(verbose_name=_("source lon"), null=True, blank=True)
    accuracy_m = models.FloatField(verbose_name=_("accuracy m"))
    captured_at = models.DateTimeField(verbose_name=_("captured at"))
    received_at = models.DateTimeField(verbose_name=_("received at"))
    clock_skew_s = models.FloatField(verbose_name=_("clock skew s"), null=True, blank=True)
    distance_m = models.FloatField(
        verbose_name=_("distance m"),
        null=True,
        blank=True,
        help_text=_("Distance to the stop's address (arrive and leave)."),
    )
    flags = models.JSONField(verbose_name=_("flags"), default=list, blank=True)
    request_sha256 = models.CharField(verbose_name=_("request sha256"), max_length=64)

    class Meta:
        verbose_name = _("check in")
        verbose_name_plural = _("check ins")
        ordering = ["captured_at"]
        indexes = [
            models.Index(fields=["route", "captured_at"]),
            models.Index(fields=["visit", "captured_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                name="checkin_coordinates_valid",
                condition=Q(lat__gte=-90, lat__lte=90, lon__gte=-180, lon__lte=180),
            ),
            models.CheckConstraint(name="checkin_accuracy_positive", condition=Q(accuracy_m__gt=0)),
            models.CheckConstraint(
                name="checkin_stop_for_arrive_and_leave",
                condition=~Q(kind__in=[CheckInKind.ARRIVE, CheckInKind.LEAVE])
                | Q(stop__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return gettext("{kind} by {agent_id} at {captured_at:%H:%M}").format(
            kind=self.get_kind_display(), agent_id=self.agent_id, captured_at=self.captured_at
        )


class Alert(UndeletableModel):
    """Something a supervisor must see now: a panic, a missed check-in, a team split, or a
    rule broken offline. People acknowledge and resolve alerts, with a note; nothing clears
    them silently and the database refuses to delete them. Every step is a ledger entry.
    """

    id = models.UUIDField(verbose_name=_("id"), primary_key=True, default=uuid.uuid4)
    kind = models.CharField(verbose_name=_("kind"), max_length=16, choices=AlertKind.choices)
    severity = models.PositiveSmallIntegerField(
        verbose_name=_("severity"), choices=AlertSeverity.choices
    )
    step = models.PositiveSmallIntegerField(
        verbose_name=_("step"),
        default=0,
        help_text=_(
            "How far along the team's on-call chain the alert has gone: 1 is the first "
            "person; beyond the chain's end, everyone on it again."
        ),
    )
    next_step_at = models.DateTimeField(
        verbose_name=_("next step at"),
        null=True,
        blank=True,
        help_text=_("Unacknowledged at this time: the next person on the chain is told."),
    )
    undelivered = models.BooleanField(
        verbose_name=_("undelivered"),
        default=False,
        help_text=_("Every channel failed every retry for the people told so far."),
    )
    status = models.CharField(
        verbose_name=_("status"),
        max_length=16,
        choices=AlertStatus.choices,
        default=AlertStatus.OPEN,
    )
    team = models.ForeignKey(
        "fieldvisit.Team", verbose_name=_("team"), on_delete=models.PROTECT, related_name="alerts"
    )
    route = models.ForeignKey(
        "fieldvisit.Route",
        verbose_name=_("route"),
        on_delete=models.PROTECT,
        related_name="alerts",
        null=True,
        blank=True,
    )
    visit = models.ForeignKey(
        "fieldvisit.Visit",
        verbose_name=_("visit"),
        on_delete=models.PROTECT,
        related_name="alerts",
        null=True,
        blank=True,
    )
    checkin = models.ForeignKey(
        CheckIn,
        verbose_name=_("checkin"),
        on_delete=models.PROTECT,
        related_name="alerts",
        null=True,
        blank=True,
    )
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("raised by"),
        on_delete=models.PROTECT,
        related_name="raised_alerts",
        null=True,
        blank=True,
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        help_text=_("For an agent who fell silent: who."),
    )
    detail = models.TextField(verbose_name=_("detail"))
    lat = models.FloatField(verbose_name=_("lat"), null=True, blank=True)
    lon = models.FloatField(verbose_name=_("lon"), null=True, blank=True)
    discreet = models.BooleanField(
        verbose_name=_("discreet"),
        default=False,
        help_text=_("Panic raised silently: the phone shows nothing."),
    )
    captured_at = models.DateTimeField(verbose_name=_("captured at"), null=True, blank=True)
    raised_at = models.DateTimeField(verbose_name=_("raised at"))
    due_at = models.DateTimeField(
        verbose_name=_("due at"),
        null=True,
        blank=True,
        help_text=_("For a missed check-in: when it was due."),
    )
    escalated_at = models.DateTimeField(verbose_name=_("escalated at"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(verbose_name=_("acknowledged at"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("acknowledged by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    acknowledge_note = models.TextField(verbose_name=_("acknowledge note"), blank=True)
    acknowledged_via = models.CharField(
        verbose_name=_("acknowledged via"), max_length=16, choices=AckChannel.choices, blank=True
    )
    resolved_at = models.DateTimeField(verbose_name=_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("resolved by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    resolution_note = models.TextField(verbose_name=_("resolution note"), blank=True)
    request_sha256 = models.CharField(verbose_name=_("request sha256"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["status", "-severity", "-raised_at"]
        permissions = [("handle_alert", gettext_noop("Can acknowledge and resolve alerts"))]
        indexes = [
            models.Index(fields=["status", "-severity", "-raised_at"]),
            models.Index(fields=["next_step_at"], name="alert_next_step_at"),
        ]
        constraints = [
            # The watchdog raises one alert per missed due time, however often it runs.
            models.UniqueConstraint(
                fields=["route", "due_at"],
                condition=Q(kind=AlertKind.MISSED_CHECKIN),
                name="one_missed_checkin_alert_per_due_time",
            ),
            # The watchdog raises one alert per agent and missed due time.
            models.UniqueConstraint(
                fields=["route", "agent", "due_at"],
                condition=Q(kind=AlertKind.AGENT_SILENT),
                name="one_silence_alert_per_agent_due_time",
            ),
            models.CheckConstraint(
                name="alert_resolution_recorded",
                condition=~Q(status=AlertStatus.RESOLVED)
                | Q(resolved_by__isnull=False, resolved_at__isnull=False),
            ),
            models.CheckConstraint(
                name="alert_acknowledgement_recorded",
                condition=Q(status=AlertStatus.OPEN)
                | Q(acknowledged_by__isnull=False, acknowledged_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.team}, {self.raised_at:%Y-%m-%d %H:%M})"
