"""Serializer fields that never let odd input become a 500."""

from __future__ import annotations

import math
from typing import Any

from rest_framework import serializers


class FiniteFloatField(serializers.FloatField):
    """A float that refuses infinities, NaN and integers too big for a float."""

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool):
            self.fail("invalid")
        try:
            value = super().to_internal_value(data)
        except OverflowError:
            self.fail("invalid")
        if not math.isfinite(value):
            self.fail("invalid")
        return value


class AwareDateTimeField(serializers.DateTimeField):
    """ISO 8601 with an explicit offset: a device time without one is ambiguous evidence."""

    default_error_messages = {
        "naive": "Give the time with its UTC offset (for example 2026-11-23T10:15:00+08:00).",
    }

    def to_internal_value(self, value: Any) -> Any:
        if isinstance(value, str) and not _has_offset(value):
            self.fail("naive")
        try:
            return super().to_internal_value(value)
        except OverflowError:
            self.fail("invalid", format="ISO 8601")


def _has_offset(value: str) -> bool:
    import datetime as dt

    try:
        return dt.datetime.fromisoformat(value.strip()).tzinfo is not None
    except ValueError:
        return True  # let the parent report the format error


def not_in_future(value: Any) -> Any:
    """A device time may not lie ahead of the server's clock (beyond the allowed skew)."""
    from django.utils import timezone

    from fieldvisit.rules.checkins import check_captured_at

    verdict = check_captured_at(value, timezone.now())
    if not verdict.ok:
        raise serializers.ValidationError(verdict.detail)
    return value
