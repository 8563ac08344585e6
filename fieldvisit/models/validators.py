"""Field validators shared by the models."""

from __future__ import annotations

import zoneinfo

from django.core.exceptions import ValidationError

from fieldvisit.texts import _, format_lazy


def validate_timezone(value: str) -> None:
    """An IANA time zone name; visit hours are judged in the address's own zone."""
    if not value:
        return
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            format_lazy(_("{value!r} is not an IANA time zone name."), value=value),
            code="invalid_timezone",
        )
