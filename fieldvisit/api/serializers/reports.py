"""Visit reports and their co-signature: JSON in, the recorded report out."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from fieldvisit.api.serializers.built_once import FieldsBuiltOnce
from fieldvisit.choices import PaymentMethod, PromiseTerms, ReportOutcome, ReportStatus
from fieldvisit.models import VisitReport
from fieldvisit.texts import _, format_lazy

# Who was met: only then can anybody have promised to pay.
PROMISE_OUTCOMES = {ReportOutcome.MET_DEBTOR, ReportOutcome.MET_RELATION}


class StrictBooleanField(serializers.BooleanField):
    """``true`` or ``false`` and nothing else: an attestation is a statement, not a string
    that happens to look like one."""

    default_error_messages = {"invalid": _("Give true or false.")}

    def to_internal_value(self, data: Any) -> bool:
        if data is True or data is False:
            return data
        self.fail("invalid")
        raise AssertionError("unreachable")  # pragma: no cover


def _added(help_text: str) -> StrictBooleanField:
    """An item added from the seeds after the first six: phones built before it leave it
    out, which records it as not attested (``null``), never as kept."""
    return StrictBooleanField(
        required=False,
        allow_null=True,
        help_text=help_text + " Left out or null: not attested (the compliance check fails "
        "on it; a correction states it).",
    )


class AttestationsSerializer(serializers.Serializer):
    """The conduct attestations, item by item as the seeds state them (``rules.conduct``).
    The first six are required, as phones have always sent them; the items added later are
    optional so older phones keep working, and one left out is stored as not attested. A
    ``false`` is recorded as given: the visit's compliance fails on it and it opens a conduct
    incident at once."""

    did_not_enter_residence = StrictBooleanField(help_text="Did not enter the residence.")
    no_cash_accepted = StrictBooleanField(help_text="No cash or goods accepted.")
    identity_shown = StrictBooleanField(help_text="Identity and badge shown.")
    no_third_party_disclosure = StrictBooleanField(
        help_text="No debt details disclosed to unrelated third parties."
    )
    opening_statement_recorded = StrictBooleanField(
        help_text="Opening statement (date, time, both agents, debtor, address) recorded."
    )
    closing_statement_recorded = StrictBooleanField(help_text="Closing statement recorded.")
    identity_verified_first = _added(
        "The debt was discussed only with a person whose identity was verified first."
    )
    no_disturbance = _added("No shouting, banging on the door or repeated ringing.")
    no_physical_contact = _added("No physical contact.")
    no_threats_or_insults = _added("No threatening, insulting or provoking words.")
    no_impersonation = _added("Did not present themselves as police, a court or a bank.")
    no_unauthorised_reduction = _added(
        "Promised no reduction or waiver without the creditor's written authorisation."
    )


class PromiseToPaySerializer(serializers.Serializer):
    amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal("0.01"), help_text="Positive."
    )
    date = serializers.DateField(help_text="Not before the day of the visit.")
    terms = serializers.ChoiceField(
        choices=PromiseTerms.choices,
        required=False,
        allow_null=True,
        default=None,
        help_text="`full` (the whole amount due), `instalment` (the rest stays due) or "
        "`settlement` (settles for less: needs `authorisation`, within the creditor's limit, "
        "else 422 `reduction_not_authorised`). Left out: `full` when the amount covers the "
        "amount due, else `instalment`.",
    )
    method = serializers.ChoiceField(
        choices=PaymentMethod.choices, required=False, allow_null=True, default=None
    )
    payer = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        default="",
        help_text="Left out: the debtor pays; else the relation who pays.",
    )
    payer_voluntary = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Required as `true` when a relation pays: of their own free will (else 422 "
        "`payment_not_voluntary`).",
    )
    authorisation = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        default="",
        help_text="The reference of the creditor's written authorisation of a reduction.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # Whether a relation's payment is voluntary is the report rule's
        # (``rules.reports.check_payer_voluntary``, 422 ``payment_not_voluntary``).
        if not attrs["payer"].strip():
            attrs["payer_voluntary"] = None
        return attrs


class ReportCreateSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    outcome = serializers.ChoiceField(choices=ReportOutcome.choices)
    promise_to_pay = PromiseToPaySerializer(
        required=False,
        allow_null=True,
        default=None,
        help_text="Only when the debtor or a relation was met.",
    )
    notes = serializers.CharField(max_length=10_000, required=False, allow_blank=True, default="")
    attestations = AttestationsSerializer()
    corrects = serializers.UUIDField(
        required=False,
        allow_null=True,
        default=None,
        help_text="For a correction: the id of the visit's current report, which it replaces. "
        "A visit's first report leaves it out.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        promise = attrs.get("promise_to_pay")
        if promise is not None:
            if attrs["outcome"] not in PROMISE_OUTCOMES:
                raise serializers.ValidationError(
                    {"promise_to_pay": [_("Only a debtor or relation who was met can promise.")]}
                )
            visit_day = self.context["visit_day"]
            if promise["date"] < visit_day:
                raise serializers.ValidationError(
                    {
                        "promise_to_pay": {
                            "date": [
                                format_lazy(
                                    _("The promised date lies before the visit ({visit_day})."),
                                    visit_day=visit_day,
                                )
                            ]
                        }
                    }
                )
        return attrs


class PromiseToPayAnswerSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    date = serializers.DateField()
    terms = serializers.ChoiceField(
        choices=PromiseTerms.choices, allow_null=True, help_text="null: filed before terms."
    )
    method = serializers.ChoiceField(choices=PaymentMethod.choices, allow_null=True)
    payer = serializers.CharField(help_text="Empty: the debtor.")
    payer_voluntary = serializers.BooleanField(allow_null=True)
    authorisation = serializers.CharField()


class ReportSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    status = serializers.ChoiceField(choices=ReportStatus.choices, read_only=True)
    author = serializers.CharField(source="author.username", read_only=True)
    promise_to_pay = PromiseToPayAnswerSerializer(allow_null=True, read_only=True)
    attestations = AttestationsSerializer(read_only=True)
    failed_attestations = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="The attestations not given as true (false, or not attested); the "
        "compliance check fails on them.",
    )
    broken_attestations = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="The attestations given as false: each opened a conduct incident.",
    )
    unattested = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="The attestations the phone did not state (null).",
    )
    cosigned_by = serializers.SerializerMethodField()
    cosigned_at = serializers.SerializerMethodField()

    class Meta:
        model = VisitReport
        fields = [
            "id",
            "visit",
            "status",
            "outcome",
            "promise_to_pay",
            "notes",
            "attestations",
            "failed_attestations",
            "broken_attestations",
            "unattested",
            "author",
            "device_id",
            "received_at",
            "corrects",
            "content_sha256",
            "cosigned_by",
            "cosigned_at",
        ]
        read_only_fields = fields

    def get_cosigned_by(self, report: VisitReport) -> str | None:
        cosignature = report.cosignature_or_none()
        return cosignature.agent.get_username() if cosignature else None

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_cosigned_at(self, report: VisitReport) -> Any:
        cosignature = report.cosignature_or_none()
        if cosignature is None:
            return None
        return serializers.DateTimeField().to_representation(cosignature.signed_at)


class CosignSerializer(serializers.Serializer):
    report = serializers.UUIDField(
        required=False,
        allow_null=True,
        default=None,
        help_text="The report the agent read and signs; it must be the visit's current "
        "report. Left out: the current report.",
    )


class CosignResultSerializer(FieldsBuiltOnce, serializers.Serializer):
    status = serializers.CharField(help_text="Always `cosigned`.")
    report = serializers.UUIDField(source="report.id")
    cosigned_by = serializers.CharField(source="cosignature.agent.username")
    cosigned_at = serializers.DateTimeField(source="cosignature.signed_at")
    report_sha256 = serializers.CharField(
        source="cosignature.report_sha256",
        help_text="SHA-256 of the signed report's canonical content (RFC 8785).",
    )


class ReceivedAfterReviewSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["checkin", "photo", "receipt", "segment", "report"])
    id = serializers.UUIDField()
    received_at = serializers.DateTimeField()
    flags = serializers.ListField(child=serializers.CharField())
    late_by_s = serializers.FloatField(allow_null=True)


class ReviewStateSerializer(serializers.Serializer):
    """The visit's latest review as it was made, and what reached us after it."""

    id = serializers.UUIDField()
    reviewer = serializers.CharField()
    reviewed_at = serializers.DateTimeField()
    report = serializers.UUIDField()
    compliance = serializers.JSONField(
        allow_null=True,
        help_text="The compliance verdict `{ok, checks}` the review was made on, as it stood "
        "then (null for reviews recorded before verdicts were kept).",
    )
    superseded = serializers.BooleanField(
        help_text="Evidence or a report reached us after this review: the visit awaits a new "
        "review (its status is `reported` again, or `closed` for a correction awaiting its "
        "co-signature)."
    )
    received_after = ReceivedAfterReviewSerializer(
        many=True,
        help_text="What reached us after the review, pending a new review: the visit's "
        "records entered in the ledger after the review's entry, in ledger order (the order "
        "of commits, which time stamps from different clocks need not follow).",
    )
