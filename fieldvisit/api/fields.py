"""Serializer fields that never let odd input become a 500."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from django.db import models
from django.utils import timezone
from rest_framework import serializers

from fieldvisit.rules.checkins import check_captured_at
from fieldvisit.texts import _


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


class DateTimeField(serializers.DateTimeField):
    """RFC 3339 times out: local time, except when the zone's offset then had seconds.

    Before 1901 Asia/Shanghai was on local mean time, +08:05:43, and ``isoformat`` writes
    those seconds; RFC 3339 (the schema's ``date-time``) and many clients' parsers refuse
    them. A phone with a broken clock sends such times (a panic is never refused for its
    clock), and EXIF says what it likes: those answer in UTC instead.
    """

    def to_representation(self, value: Any) -> Any:
        text = super().to_representation(value)
        if isinstance(value, dt.datetime) and isinstance(text, str) and _seconds_offset(text):
            return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
        return text


def _seconds_offset(text: str) -> bool:
    return len(text) > 9 and text[-9] in "+-" and text[-6] == ":" and text[-3] == ":"


# Model fields become the RFC 3339 field in every ModelSerializer of the API.
serializers.ModelSerializer.serializer_field_mapping[models.DateTimeField] = DateTimeField


class AwareDateTimeField(DateTimeField):
    """ISO 8601 with an explicit offset: a device time without one is ambiguous evidence."""

    default_error_messages = {
        "naive": _("Give the time with its UTC offset (for example 2026-11-23T10:15:00+08:00)."),
    }

    def to_internal_value(self, value: Any) -> Any:
        if isinstance(value, str) and not _has_offset(value):
            self.fail("naive")
        try:
            return super().to_internal_value(value)
        except OverflowError:
            self.fail("invalid", format="ISO 8601")


def _has_offset(value: str) -> bool:
    try:
        return dt.datetime.fromisoformat(value.strip()).tzinfo is not None
    except ValueError:
        return True  # let the parent report the format error


def not_in_future(value: Any) -> Any:
    """A device time may not lie ahead of the server's clock (beyond the allowed skew)."""
    verdict = check_captured_at(value, timezone.now())
    if not verdict.ok:
        raise serializers.ValidationError(verdict.detail)
    return value
