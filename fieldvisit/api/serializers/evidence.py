"""Photos and notice receipts: multipart in, the recorded evidence out."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from fieldvisit.api.fields import (
    AwareDateTimeField,
    DateTimeField,
    FiniteFloatField,
    not_in_future,
)
from fieldvisit.api.serializers.built_once import FieldsBuiltOnce
from fieldvisit.choices import PhotoKind, ReceiptOutcome
from fieldvisit.models import Photo, Receipt
from fieldvisit.texts import _

SHA256_FIELD = {"regex": r"^[0-9a-fA-F]{64}$", "max_length": 64}


# What a file sent without its declared hash is told, by field.
DECLARE_SHA256 = {
    "signature": _("Declare the SHA-256 of the signature."),
    "photo": _("Declare the SHA-256 of the photo."),
}


def sha256_field(**kwargs: Any) -> serializers.RegexField:
    return serializers.RegexField(
        help_text="SHA-256 of the file as the phone computed it, lowercase hex.",
        error_messages={"invalid": _("Give the SHA-256 as 64 hexadecimal digits.")},
        **SHA256_FIELD,
        **kwargs,
    )


def evidence_file(**kwargs: Any) -> serializers.FileField:
    # Empty files are judged by the content check (an empty image is invalid_image).
    return serializers.FileField(allow_empty_file=True, use_url=False, **kwargs)


class CapturedSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    captured_at = AwareDateTimeField(validators=[not_in_future])
    lat = FiniteFloatField(min_value=-90, max_value=90, required=False, allow_null=True)
    lon = FiniteFloatField(min_value=-180, max_value=180, required=False, allow_null=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if (attrs.get("lat") is None) != (attrs.get("lon") is None):
            raise serializers.ValidationError({"lon": [_("Give lat and lon together.")]})
        return attrs


class PhotoCreateSerializer(CapturedSerializer):
    file = evidence_file(help_text="The original photo, byte for byte: JPEG, HEIC/HEIF or PNG.")
    kind = serializers.ChoiceField(choices=PhotoKind.choices)
    sha256 = sha256_field()
    partner_in_frame = serializers.BooleanField(required=False, default=False)


class ReceiptCreateSerializer(CapturedSerializer):
    notice_number = serializers.CharField(max_length=32)
    outcome = serializers.ChoiceField(choices=ReceiptOutcome.choices)
    signer_name = serializers.CharField(
        max_length=200, required=False, default="", allow_blank=True
    )
    signer_relation = serializers.CharField(
        max_length=100,
        required=False,
        default="",
        allow_blank=True,
        help_text="How the signer is related to the debtor; left out with `relation`: the "
        "relation's kind.",
    )
    relation = serializers.UUIDField(
        required=False,
        allow_null=True,
        default=None,
        help_text="`signed_by_relation`: the case's relation who signed (an `id` of the stop's "
        "`case.relations`); `signer_name` left out is the relation's name. Not one of them: "
        "422 `relation_not_listed`. Left out, a `signer_name` that is exactly one relation's "
        "name is that relation; anyone else is an unlisted third party.",
    )
    third_party_reason = serializers.CharField(
        max_length=2000,
        required=False,
        default="",
        allow_blank=True,
        help_text="Why an unlisted third party (not one of the case's relations) signed: "
        "required (422 `third_party_reason_required`) while the phone is online; the receipt "
        "is flagged `unlisted_third_party` and the supervisor alerted.",
    )
    signature = evidence_file(required=False, help_text="The signature image, PNG.")
    # Optional, with no default: a default of "" would not match the field's own pattern in
    # the schema (openapi-spec-validator refuses it). Left out, the view reads "".
    signature_sha256 = sha256_field(required=False)
    photo = evidence_file(required=False, help_text="The paper slip or mailbox, JPEG or HEIC.")
    photo_sha256 = sha256_field(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        # What each outcome needs is the receipt rule's (fieldvisit.rules.evidence), checked
        # by the action; here only the form's own shape.
        errors: dict[str, list[Any]] = {}
        for name, declare in DECLARE_SHA256.items():
            attrs.setdefault(f"{name}_sha256", "")
            if attrs.get(name) is not None and not attrs[f"{name}_sha256"]:
                errors[f"{name}_sha256"] = [declare]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class ExifSerializer(FieldsBuiltOnce, serializers.Serializer):
    lat = serializers.FloatField(source="exif_lat", allow_null=True)
    lon = serializers.FloatField(source="exif_lon", allow_null=True)
    altitude = serializers.FloatField(source="exif_altitude", allow_null=True)
    taken_at = DateTimeField(source="exif_taken_at", allow_null=True)  # EXIF: any year
    make = serializers.CharField(source="exif_make")
    model = serializers.CharField(source="exif_model")


class PhotoSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    sha256 = serializers.CharField(source="file_id")
    size = serializers.IntegerField(source="file.size")
    media_type = serializers.CharField(source="file.media_type")
    exif = ExifSerializer(source="*")
    agent = serializers.CharField(source="agent.username")

    class Meta:
        model = Photo
        fields = [
            "id",
            "kind",
            "sha256",
            "size",
            "media_type",
            "width",
            "height",
            "partner_in_frame",
            "agent",
            "captured_at",
            "received_at",
            "lat",
            "lon",
            "exif",
            "distance_m",
            "flags",
            "late_by_s",
        ]


class FileBriefSerializer(FieldsBuiltOnce, serializers.Serializer):
    sha256 = serializers.CharField()
    size = serializers.IntegerField()
    media_type = serializers.CharField()


class ReceiptSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    signature = FileBriefSerializer(allow_null=True)
    photo = FileBriefSerializer(allow_null=True)
    agent = serializers.CharField(source="agent.username")

    class Meta:
        model = Receipt
        fields = [
            "id",
            "notice_number",
            "outcome",
            "signer_name",
            "signer_relation",
            "relation",
            "third_party_reason",
            "signature",
            "photo",
            "agent",
            "captured_at",
            "received_at",
            "lat",
            "lon",
            "flags",
            "late_by_s",
        ]


class SegmentSerializer(FieldsBuiltOnce, serializers.Serializer):
    index = serializers.IntegerField()
    sha256 = serializers.CharField()
    started_at = serializers.DateTimeField()
    duration_s = serializers.FloatField()
    format = serializers.CharField()
    size = serializers.IntegerField()
    received_at = serializers.DateTimeField()
    flags = serializers.ListField(
        child=serializers.CharField(),
        help_text="`late_submission`: received after the visit closed, held back on the phone.",
    )
    late_by_s = serializers.FloatField(
        allow_null=True, help_text="With `late_submission`: seconds after the visit closed."
    )


class GapSerializer(FieldsBuiltOnce, serializers.Serializer):
    after_index = serializers.IntegerField()
    seconds = serializers.FloatField()


class RecordingSerializer(FieldsBuiltOnce, serializers.Serializer):
    """The visit's recording and its verdict (rule 6): continuous and covering the visit."""

    id = serializers.UUIDField(allow_null=True)
    segments = SegmentSerializer(many=True)
    continuous = serializers.BooleanField(source="verdict.continuous")
    covers_visit = serializers.BooleanField(source="verdict.covers_visit")
    gaps = GapSerializer(many=True, source="verdict.gaps")
    missing = serializers.ListField(child=serializers.IntegerField(), source="verdict.missing")
    starts_at = serializers.DateTimeField(allow_null=True, source="verdict.starts_at")
    ends_at = serializers.DateTimeField(allow_null=True, source="verdict.ends_at")
    valid = serializers.BooleanField(source="verdict.valid")
    detail = serializers.CharField(source="verdict.detail")
