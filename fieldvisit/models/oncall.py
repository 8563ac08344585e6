"""Who is told of an alert, how, and what became of each attempt.

A team's on-call chain (``OnCallEntry``) names, in order, the people an alert goes to until
one of them acknowledges it; each is reached through their verified contacts
(``ContactPoint``: verified once they acknowledged a test message). An alert's step on the
chain produces notices (``AlertNotice``: one person or group, one channel), and every attempt
to deliver one is recorded with its outcome (``DeliveryAttempt``) and ledgered: nothing is
sent silently, and a notice that failed every retry leaves the alert ``undelivered``.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext

from fieldvisit.choices import ContactKind, NoticeState
from fieldvisit.db.append_only import AppendOnlyModel, UndeletableModel
from fieldvisit.texts import _


class ContactPoint(models.Model):
    """An e-mail address or a mobile number where a person is reached when on call."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="contact_points",
    )
    kind = models.CharField(verbose_name=_("kind"), max_length=8, choices=ContactKind.choices)
    value = models.CharField(verbose_name=_("value"), max_length=254)
    test_sent_at = models.DateTimeField(
        verbose_name=_("test sent at"), null=True, blank=True, editable=False
    )
    verified_at = models.DateTimeField(
        verbose_name=_("verified at"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("When the person acknowledged a test message sent here."),
    )

    class Meta:
        verbose_name = _("contact point")
        verbose_name_plural = _("contact points")
        ordering = ["user", "kind", "value"]
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "value"], name="one_contact_per_value"),
            models.CheckConstraint(name="contact_value_not_blank", condition=~Q(value="")),
        ]

    def __str__(self) -> str:
        state = gettext("verified") if self.verified_at else gettext("not verified")
        return f"{self.get_kind_display()} {self.value} ({state})"


class OnCallEntry(models.Model):
    """One place on a team's on-call chain (supervisor, risk manager, duty manager, ...)."""

    team = models.ForeignKey(
        "fieldvisit.Team", verbose_name=_("team"), on_delete=models.CASCADE, related_name="oncall"
    )
    position = models.PositiveSmallIntegerField(
        verbose_name=_("position"), help_text=_("1 is told first.")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.PROTECT, related_name="+"
    )
    role = models.CharField(
        verbose_name=_("role"),
        max_length=64,
        blank=True,
        help_text=_("What they are on the chain for, e.g. duty manager."),
    )

    class Meta:
        ordering = ["team", "position"]
        verbose_name = _("on-call entry")
        verbose_name_plural = _("on-call chain")
        constraints = [
            models.UniqueConstraint(fields=["team", "position"], name="one_oncall_per_position"),
            models.CheckConstraint(name="oncall_position_positive", condition=Q(position__gte=1)),
        ]

    def __str__(self) -> str:
        return f"{self.team} #{self.position}: {self.user}"


class AlertNotice(UndeletableModel):
    """One notification of an alert: to one person (or a group robot, ``recipient`` the
    person it mentions) through one channel, at one step of the chain. Its state moves from
    pending to delivered, failed or cancelled; its attempts are ``DeliveryAttempt`` rows."""

    id = models.UUIDField(verbose_name=_("id"), primary_key=True, default=uuid.uuid4)
    alert = models.ForeignKey(
        "fieldvisit.Alert",
        verbose_name=_("alert"),
        on_delete=models.PROTECT,
        related_name="notices",
    )
    step = models.PositiveSmallIntegerField(verbose_name=_("step"))
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
    )
    channel = models.CharField(verbose_name=_("channel"), max_length=16)
    target = models.CharField(
        verbose_name=_("target"),
        max_length=254,
        help_text=_("Where it was sent (masked for robots)."),
    )
    state = models.CharField(
        verbose_name=_("state"), max_length=16, choices=NoticeState.choices, default="pending"
    )
    attempts = models.PositiveSmallIntegerField(verbose_name=_("attempts"), default=0)
    next_try_at = models.DateTimeField(verbose_name=_("next try at"), null=True, blank=True)
    # A sender holds the notice until then; another may take it over after (a crashed one).
    claimed_until = models.DateTimeField(
        verbose_name=_("claimed until"), null=True, blank=True, editable=False
    )
    created_at = models.DateTimeField(verbose_name=_("created at"))
    delivered_at = models.DateTimeField(verbose_name=_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("alert notice")
        verbose_name_plural = _("alert notices")
        ordering = ["created_at", "channel"]
        indexes = [models.Index(fields=["state", "next_try_at"], name="notice_due")]
        constraints = [
            models.UniqueConstraint(
                fields=["alert", "step", "recipient", "channel"], name="one_notice_per_step"
            )
        ]

    def __str__(self) -> str:
        return gettext("{channel} to {target} ({state})").format(
            channel=self.channel, target=self.target, state=self.state
        )


class DeliveryAttempt(AppendOnlyModel):
    """One try at delivering a notice, and what came of it: never changed, never deleted."""

    notice = models.ForeignKey(
        AlertNotice, verbose_name=_("notice"), on_delete=models.PROTECT, related_name="tries"
    )
    number = models.PositiveSmallIntegerField(verbose_name=_("number"))
    at = models.DateTimeField(verbose_name=_("at"))
    ok = models.BooleanField(verbose_name=_("ok"))
    detail = models.CharField(verbose_name=_("detail"), max_length=300)
    duration_ms = models.PositiveIntegerField(verbose_name=_("duration ms"))

    class Meta:
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        ordering = ["at"]
        constraints = [
            models.UniqueConstraint(fields=["notice", "number"], name="one_attempt_per_number")
        ]

    def __str__(self) -> str:
        outcome = gettext("ok") if self.ok else gettext("failed")
        return f"#{self.number} {outcome}: {self.detail}"
