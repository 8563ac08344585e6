"""What qualifies an agent for field work, on paper (seeds: 外访催收作业人员诚信规定).

Each paper is a record of its own, never edited: a renewed certificate is a new record
beside the old one, so the qualification an agent held on any past day can be shown.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext

from fieldvisit.choices import DocumentKind
from fieldvisit.db.append_only import AppendOnlyModel
from fieldvisit.texts import _


class Agency(models.Model):
    """An outsourcing agency (外包催收机构) whose staff visit for us under an agreement."""

    name = models.CharField(verbose_name=_("name"), max_length=200, unique=True)
    registration_number = models.CharField(
        verbose_name=_("registration number"),
        max_length=32,
        blank=True,
        help_text=_("Unified social credit code (统一社会信用代码)."),
    )
    active = models.BooleanField(
        verbose_name=_("active"),
        default=True,
        help_text=_("An inactive agency's agents are not qualified, whatever its agreements."),
    )

    class Meta:
        verbose_name = _("agency")
        verbose_name_plural = _("agencies")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Paper(AppendOnlyModel):
    """A paper on file: its reference, issuer, date and expiry, and who recorded it when."""

    id = models.UUIDField(
        verbose_name=_("id"), primary_key=True, default=uuid.uuid4, editable=False
    )
    reference = models.CharField(
        verbose_name=_("reference"),
        max_length=100,
        help_text=_("The number printed on the paper."),
    )
    issued_by = models.CharField(verbose_name=_("issued by"), max_length=200, blank=True)
    issued_on = models.DateField(verbose_name=_("issued on"))
    expires_on = models.DateField(
        verbose_name=_("expires on"), help_text=_("The last day the paper is in force.")
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    recorded_at = models.DateTimeField(verbose_name=_("recorded at"), editable=False)

    class Meta:
        abstract = True


class QualificationDocument(Paper):
    """One of an agent's papers: the proof of no criminal record, the credit report, or the
    completed training (its expiry: when training is due again)."""

    agent = models.ForeignKey(
        "fieldvisit.AgentProfile",
        verbose_name=_("agent"),
        on_delete=models.PROTECT,
        related_name="documents",
    )
    kind = models.CharField(verbose_name=_("kind"), max_length=24, choices=DocumentKind.choices)

    class Meta:
        verbose_name = _("qualification document")
        verbose_name_plural = _("qualification documents")
        ordering = ["agent", "kind", "-expires_on"]
        constraints = [
            models.CheckConstraint(
                name="document_expires_after_issue", condition=Q(expires_on__gte=F("issued_on"))
            ),
            models.CheckConstraint(name="document_reference_not_blank", condition=~Q(reference="")),
        ]

    def __str__(self) -> str:
        return gettext("{kind} {reference} (until {expires_on})").format(
            kind=self.get_kind_display(), reference=self.reference, expires_on=self.expires_on
        )


class AgencyAgreement(Paper):
    """An agency's outsourcing agreement with us (委托协议), in force from issue to expiry."""

    agency = models.ForeignKey(
        Agency, verbose_name=_("agency"), on_delete=models.PROTECT, related_name="agreements"
    )

    class Meta:
        verbose_name = _("agency agreement")
        verbose_name_plural = _("agency agreements")
        ordering = ["agency", "-expires_on"]
        constraints = [
            models.CheckConstraint(
                name="agreement_expires_after_issue", condition=Q(expires_on__gte=F("issued_on"))
            ),
            models.CheckConstraint(
                name="agreement_reference_not_blank", condition=~Q(reference="")
            ),
        ]

    def __str__(self) -> str:
        return gettext("{agency} agreement {reference} (until {expires_on})").format(
            agency=self.agency, reference=self.reference, expires_on=self.expires_on
        )
