"""The visit report (上门催收情况报告), its co-signature, and the supervisor's review.

All three are append-only (DESIGN rule 11): the models refuse UPDATE and DELETE and so do the
database's triggers. A report is never edited: a correction is a new report that names the
one it corrects (``corrects``), which makes a visit's reports one chain whose head is the
current report. A co-signature is its own record carrying the SHA-256 of the canonical
content of the report it signs, so it cannot be moved to another report or survive a change
to the one it signs. A review is a record pointing at the report the supervisor read.
"""

from __future__ import annotations

import hashlib
import uuid
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext, gettext_noop

from fieldvisit.canonical import canonical_json
from fieldvisit.choices import PaymentMethod, PromiseTerms, ReportOutcome, ReportStatus
from fieldvisit.db.append_only import AppendOnlyModel
from fieldvisit.rules import conduct
from fieldvisit.texts import _

# The conduct attestations, item by item as the seeds state them (``rules.conduct.ITEMS``),
# in the order the report states them.
ATTESTATIONS = conduct.NAMES

SHA256_HEX = r"^[0-9a-f]{64}$"


def money_text(amount: Decimal | None) -> str | None:
    """An amount as the canonical content spells it: two decimals, no exponent."""
    return None if amount is None else f"{amount:.2f}"


class VisitReport(AppendOnlyModel):
    """The team's written account of a visit, with the conduct attestations (rule 9).

    A false attestation is kept as given: it is a statement, and the visit's compliance
    verdict fails on it.
    """

    id = models.UUIDField(
        verbose_name=_("id"), primary_key=True, help_text=_("Client-generated UUID.")
    )
    visit = models.ForeignKey(
        "fieldvisit.Visit",
        verbose_name=_("visit"),
        on_delete=models.PROTECT,
        related_name="reports",
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        on_delete=models.PROTECT,
        related_name="visit_reports",
    )
    device_id = models.CharField(verbose_name=_("device id"), max_length=128)
    outcome = models.CharField(
        verbose_name=_("outcome"), max_length=24, choices=ReportOutcome.choices
    )
    promise_amount = models.DecimalField(
        verbose_name=_("promise amount"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    promise_date = models.DateField(verbose_name=_("promise date"), null=True, blank=True)
    # Filed before settlement terms were recorded: empty, and left out of the content.
    promise_terms = models.CharField(
        verbose_name=_("promise terms"), max_length=16, choices=PromiseTerms.choices, blank=True
    )
    promise_method = models.CharField(
        verbose_name=_("payment method"), max_length=16, choices=PaymentMethod.choices, blank=True
    )
    promise_payer = models.CharField(
        verbose_name=_("payer"),
        max_length=200,
        blank=True,
        help_text=_("Empty: the debtor; else the relation who pays, of their own free will."),
    )
    promise_payer_voluntary = models.BooleanField(
        verbose_name=_("the payer pays of their own free will"), null=True, blank=True
    )
    promise_authorisation = models.CharField(
        verbose_name=_("creditor's authorisation"),
        max_length=200,
        blank=True,
        help_text=_("The reference of the creditor's written authorisation of a reduction."),
    )
    notes = models.TextField(verbose_name=_("notes"), blank=True)
    did_not_enter_residence = models.BooleanField(verbose_name=_("did not enter residence"))
    no_cash_accepted = models.BooleanField(verbose_name=_("no cash accepted"))
    identity_shown = models.BooleanField(verbose_name=_("identity shown"))
    no_third_party_disclosure = models.BooleanField(verbose_name=_("no third party disclosure"))
    opening_statement_recorded = models.BooleanField(verbose_name=_("opening statement recorded"))
    closing_statement_recorded = models.BooleanField(verbose_name=_("closing statement recorded"))
    # Added from the seeds after the first six: null is "not attested" (a phone that did not
    # send it), which the compliance verdict fails; never presumed kept.
    identity_verified_first = models.BooleanField(
        verbose_name=_("identity verified before the debt was discussed"), null=True
    )
    no_disturbance = models.BooleanField(
        verbose_name=_("no shouting, banging or repeated ringing"), null=True
    )
    no_physical_contact = models.BooleanField(verbose_name=_("no physical contact"), null=True)
    no_threats_or_insults = models.BooleanField(verbose_name=_("no threats or insults"), null=True)
    no_impersonation = models.BooleanField(
        verbose_name=_("no impersonation of police, courts or banks"), null=True
    )
    no_unauthorised_reduction = models.BooleanField(
        verbose_name=_("no unauthorised reduction or waiver promised"), null=True
    )
    corrects = models.OneToOneField(
        "self",
        verbose_name=_("corrects"),
        on_delete=models.PROTECT,
        related_name="corrected_by",
        null=True,
        blank=True,
        help_text=_("The report this one corrects (a report is corrected at most once)."),
    )
    received_at = models.DateTimeField(verbose_name=_("received at"))
    content_sha256 = models.CharField(
        verbose_name=_("content sha256"),
        max_length=64,
        help_text=_("SHA-256 of the report's canonical content (RFC 8785)."),
    )
    request_sha256 = models.CharField(verbose_name=_("request sha256"), max_length=64)

    class Meta:
        verbose_name = _("visit report")
        verbose_name_plural = _("visit reports")
        ordering = ["received_at"]
        indexes = [models.Index(fields=["visit", "received_at"])]
        constraints = [
            # The first report of a visit is the only one that corrects nothing; with
            # ``corrects`` one-to-one, a visit's reports form a single chain.
            models.UniqueConstraint(
                fields=["visit"],
                condition=Q(corrects__isnull=True),
                name="one_first_report_per_visit",
            ),
            models.CheckConstraint(
                name="report_promise_complete",
                condition=Q(promise_amount__isnull=True, promise_date__isnull=True)
                | Q(promise_amount__gt=0, promise_date__isnull=False),
            ),
            models.CheckConstraint(
                name="report_does_not_correct_itself", condition=~Q(corrects=F("id"))
            ),
            models.CheckConstraint(
                name="report_content_sha256_hex", condition=Q(content_sha256__regex=SHA256_HEX)
            ),
        ]

    def __str__(self) -> str:
        return gettext("Report {value} ({outcome})").format(
            value=str(self.id)[:8], outcome=self.get_outcome_display()
        )

    @property
    def attestations(self) -> dict[str, bool | None]:
        return {name: getattr(self, name) for name in ATTESTATIONS}

    @property
    def failed_attestations(self) -> list[str]:
        """Every item not attested kept: attested broken, or not attested at all."""
        return [name for name in ATTESTATIONS if getattr(self, name) is not True]

    @property
    def broken_attestations(self) -> list[str]:
        """The items the agents attest were broken: each opens an incident."""
        return conduct.broken(self.attestations)

    @property
    def unattested(self) -> list[str]:
        return conduct.unattested(self.attestations)

    def stated_attestations(self) -> dict[str, bool]:
        """The attestations as stated: the first six always, a later item only when the
        phone stated it, so a report filed before the item existed keeps its content (and
        its SHA-256, and its co-signature)."""
        return {
            name: value
            for name, value in self.attestations.items()
            if name in conduct.REQUIRED or value is not None
        }

    @property
    def promise_to_pay(self) -> dict[str, Any] | None:
        if self.promise_amount is None:
            return None
        return {
            "amount": self.promise_amount,
            "date": self.promise_date,
            "terms": self.promise_terms or None,
            "method": self.promise_method or None,
            "payer": self.promise_payer,
            "payer_voluntary": self.promise_payer_voluntary,
            "authorisation": self.promise_authorisation,
        }

    def content(self) -> dict[str, Any]:
        """What the author states and the co-signer signs: every field of the report but the
        server's bookkeeping (times, device, fingerprints). Plain JSON values only, so the
        ledger entry that carries it lets anyone recompute ``content_sha256``."""
        promise = None
        if self.promise_amount is not None and self.promise_date is not None:
            promise = {
                "amount": money_text(self.promise_amount),
                "date": self.promise_date.isoformat(),
            }
            if self.promise_terms:  # reports filed before the terms were recorded lack them
                promise |= {
                    "terms": self.promise_terms,
                    "method": self.promise_method,
                    "payer": self.promise_payer,
                    "payer_voluntary": self.promise_payer_voluntary,
                    "authorisation": self.promise_authorisation,
                }
        return {
            "report": str(self.id),
            "visit": str(self.visit_id),
            "author": self.author_id,
            "outcome": self.outcome,
            "promise_to_pay": promise,
            "notes": self.notes,
            "attestations": self.stated_attestations(),
            "corrects": str(self.corrects_id) if self.corrects_id else None,
        }

    def compute_sha256(self) -> str:
        return hashlib.sha256(canonical_json(self.content())).hexdigest()

    def cosignature_or_none(self) -> ReportCosignature | None:
        try:
            return self.cosignature
        except ReportCosignature.DoesNotExist:
            return None

    def is_superseded(self) -> bool:
        try:
            return self.corrected_by is not None
        except VisitReport.DoesNotExist:
            return False

    @property
    def status(self) -> str:
        if self.is_superseded():
            return ReportStatus.SUPERSEDED
        if self.cosignature_or_none() is not None:
            return ReportStatus.COSIGNED
        return ReportStatus.AWAITING_COSIGN


class ReportCosignature(AppendOnlyModel):
    """The partner's signature under a report: who, when, on which device, and the SHA-256 of
    the content they signed. One per report; the author never co-signs."""

    id = models.UUIDField(
        verbose_name=_("id"), primary_key=True, default=uuid.uuid4, editable=False
    )
    report = models.OneToOneField(
        VisitReport, verbose_name=_("report"), on_delete=models.PROTECT, related_name="cosignature"
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        on_delete=models.PROTECT,
        related_name="report_cosignatures",
    )
    device_id = models.CharField(verbose_name=_("device id"), max_length=128)
    report_sha256 = models.CharField(
        verbose_name=_("report sha256"),
        max_length=64,
        help_text=_("The signed report's content SHA-256 at signing."),
    )
    signed_at = models.DateTimeField(verbose_name=_("signed at"))

    class Meta:
        verbose_name = _("report cosignature")
        verbose_name_plural = _("report cosignatures")
        ordering = ["signed_at"]
        constraints = [
            models.CheckConstraint(
                name="cosignature_report_sha256_hex", condition=Q(report_sha256__regex=SHA256_HEX)
            ),
        ]

    def __str__(self) -> str:
        return gettext("Co-signature of {report_id}").format(report_id=self.report_id)

    def matches(self, report: VisitReport) -> bool:
        """Does this signature sign ``report`` as it reads now?"""
        return self.report_id == report.pk and self.report_sha256 == report.compute_sha256()


class VisitReview(AppendOnlyModel):
    """A supervisor's review of a visit's co-signed report, with their comment and the
    compliance verdict it was made on. A later review is another record; the one before
    stays. Evidence received after a review does not change what it saw: it re-opens the
    visit for a new review."""

    id = models.UUIDField(
        verbose_name=_("id"), primary_key=True, default=uuid.uuid4, editable=False
    )
    visit = models.ForeignKey(
        "fieldvisit.Visit",
        verbose_name=_("visit"),
        on_delete=models.PROTECT,
        related_name="reviews",
    )
    report = models.ForeignKey(
        VisitReport, verbose_name=_("report"), on_delete=models.PROTECT, related_name="reviews"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewer"),
        on_delete=models.PROTECT,
        related_name="visit_reviews",
    )
    comment = models.TextField(verbose_name=_("comment"))
    created_at = models.DateTimeField(verbose_name=_("created at"))
    compliance = models.JSONField(
        verbose_name=_("compliance"),
        null=True,
        blank=True,
        help_text=_("The compliance verdict the review was made on, as it stood then."),
    )
    ledger_index = models.BigIntegerField(
        verbose_name=_("ledger index"),
        null=True,
        blank=True,
        help_text=_(
            "The index of its visit.reviewed ledger entry: the visit's records with a "
            "greater index were received after it."
        ),
    )

    class Meta:
        verbose_name = _("visit review")
        verbose_name_plural = _("visit reviews")
        ordering = ["created_at"]
        permissions = [("review_visit", gettext_noop("Can review a visit's co-signed report"))]
        constraints = [
            models.CheckConstraint(name="review_comment_given", condition=~Q(comment="")),
        ]

    def __str__(self) -> str:
        return gettext("Review of {visit_id} by {reviewer_id}").format(
            visit_id=self.visit_id, reviewer_id=self.reviewer_id
        )
