"""What a tus upload's ``Upload-Metadata`` must say about the audio segment it carries."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from fieldvisit.api.fields import AwareDateTimeField, not_in_future
from fieldvisit.api.serializers.evidence import sha256_field
from fieldvisit.texts import _


def within_a_year(value: dt.datetime) -> dt.datetime:
    """A recording is uploaded within days of the visit; a year back is a broken clock."""
    if value < timezone.now() - dt.timedelta(days=366):
        raise serializers.ValidationError(_("The segment cannot start more than a year ago."))
    return value


class SegmentMetadataSerializer(serializers.Serializer):
    visit = serializers.UUIDField()
    recording = serializers.UUIDField(help_text="Client UUID of the visit's recording.")
    segment = serializers.IntegerField(min_value=0, max_value=100_000, help_text="0-based index.")
    started_at = AwareDateTimeField(
        help_text="Device time of the segment's first sample.",
        validators=[not_in_future, within_a_year],
    )
    sha256 = sha256_field()
    prev_sha256 = sha256_field(required=False, default="", allow_blank=True)
    filename = serializers.CharField(max_length=255, required=False, allow_blank=True)
    content_type = serializers.CharField(max_length=100, required=False, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["segment"] > 0 and not attrs["prev_sha256"]:
            raise serializers.ValidationError(
                {"prev_sha256": [_("Segments after the first name the previous one's SHA-256.")]}
            )
        return attrs
