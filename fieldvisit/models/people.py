"""Teams, the agents in them, and the devices they sign in from."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext, gettext_noop

from fieldvisit.choices import Platform
from fieldvisit.models.validators import validate_timezone
from fieldvisit.rules.qualifications import Paper, Papers
from fieldvisit.rules.routes import AgentFacts, is_eligible
from fieldvisit.texts import _


class Team(models.Model):
    """A field team (外访小组). Visits are never made alone: a team needs two qualified agents."""

    name = models.CharField(verbose_name=_("name"), max_length=100, unique=True)
    supervisor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("supervisor"),
        on_delete=models.PROTECT,
        related_name="supervised_teams",
        null=True,
        blank=True,
        help_text=_("Receives the team's alerts first."),
    )
    risk_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("risk manager"),
        on_delete=models.PROTECT,
        related_name="risk_managed_teams",
        null=True,
        blank=True,
        help_text=_("Receives escalated alerts."),
    )
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("team lead"),
        on_delete=models.PROTECT,
        related_name="led_teams",
        null=True,
        blank=True,
        help_text=_(
            "The team lead (客户负责人): receives the team's arrival, position and return "
            "reports, decides its route changes, reviews and keeps its visit reports and slips."
        ),
    )
    timezone = models.CharField(
        verbose_name=_("timezone"),
        max_length=64,
        default="Asia/Shanghai",
        validators=[validate_timezone],
        help_text=_("The zone a route's date is read in."),
    )
    active = models.BooleanField(verbose_name=_("active"), default=True)

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AgentProfile(models.Model):
    """What makes a user a qualified field agent (外访员): badge, background check, team.

    The seeds require a police and credit background check before anyone may visit; a visit
    made by an unqualified agent would taint the evidence.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.PROTECT,
        related_name="agent_profile",
    )
    team = models.ForeignKey(
        Team,
        verbose_name=_("team"),
        on_delete=models.PROTECT,
        related_name="agents",
        null=True,
        blank=True,
    )
    badge_number = models.CharField(verbose_name=_("badge number"), max_length=32, unique=True)
    background_check_on = models.DateField(
        verbose_name=_("background check on"),
        null=True,
        blank=True,
        help_text=_("Date the background check on file was completed."),
    )
    background_check_reference = models.CharField(
        verbose_name=_("background check reference"), max_length=100, blank=True
    )
    agency = models.ForeignKey(
        "fieldvisit.Agency",
        verbose_name=_("agency"),
        on_delete=models.PROTECT,
        related_name="agents",
        null=True,
        blank=True,
        help_text=_("For an outsourced agent, the agency they work for (blank: our own staff)."),
    )
    active = models.BooleanField(verbose_name=_("active"), default=True)

    class Meta:
        verbose_name = _("agent profile")
        verbose_name_plural = _("agent profiles")
        ordering = ["badge_number"]
        constraints = [
            models.CheckConstraint(name="agent_badge_not_blank", condition=~Q(badge_number="")),
        ]

    def __str__(self) -> str:
        return f"{self.user.get_username()} ({self.badge_number})"

    def facts(self, with_papers: bool = False) -> AgentFacts:
        """What the rules judge an agent by (the account must be active too); with their
        papers (``documents`` and ``agency__agreements``, prefetched by the caller)."""
        return AgentFacts(
            user_id=self.user_id,
            active=self.active and self.user.is_active,
            badge_number=self.badge_number,
            background_check_on=self.background_check_on,
            papers=self.papers() if with_papers else Papers(),
        )

    def papers(self) -> Papers:
        agency = self.agency
        return Papers(
            documents=tuple(Paper(d.kind, d.issued_on, d.expires_on) for d in self.documents.all()),
            outsourced=agency is not None,
            agency_active=agency is None or agency.active,
            agreements=tuple(
                Paper("agency_agreement", a.issued_on, a.expires_on)
                for a in (agency.agreements.all() if agency is not None else ())
            ),
        )

    @property
    def qualified(self) -> bool:
        """Eligible (active, badged, background check on file): what every request of the
        agent's checks. Whether their papers are in force is judged for each route's day
        (``rules.routes.qualification``)."""
        return is_eligible(self.facts())


class DeviceToken(models.Model):
    """An API token for one user on one device; revoking it (a lost phone) touches no other.

    Only the SHA-256 of the token is stored: a database leak reveals no usable token.
    """

    id = models.UUIDField(
        verbose_name=_("id"), primary_key=True, default=uuid.uuid4, editable=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.PROTECT,
        related_name="device_tokens",
    )
    device_id = models.CharField(verbose_name=_("device id"), max_length=128)
    device_name = models.CharField(verbose_name=_("device name"), max_length=128, blank=True)
    platform = models.CharField(
        verbose_name=_("platform"), max_length=16, choices=Platform.choices, default=Platform.OTHER
    )
    key_digest = models.CharField(
        verbose_name=_("key digest"), max_length=64, unique=True, editable=False
    )
    key_prefix = models.CharField(verbose_name=_("key prefix"), max_length=8, editable=False)
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(
        verbose_name=_("last used at"), null=True, blank=True, editable=False
    )
    revoked_at = models.DateTimeField(
        verbose_name=_("revoked at"), null=True, blank=True, editable=False
    )
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("revoked by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        editable=False,
    )
    revoke_reason = models.CharField(
        verbose_name=_("revoke reason"), max_length=200, blank=True, editable=False
    )

    class Meta:
        verbose_name = _("device token")
        verbose_name_plural = _("device tokens")
        ordering = ["-created_at"]
        permissions = [("revoke_devicetoken", gettext_noop("Can revoke a device's token"))]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "device_id"],
                condition=Q(revoked_at__isnull=True),
                name="one_live_token_per_user_device",
            ),
        ]

    def __str__(self) -> str:
        return gettext("{user} on {value}").format(
            user=self.user, value=self.device_name or self.device_id
        )

    @property
    def active(self) -> bool:
        return self.revoked_at is None
