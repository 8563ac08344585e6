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
