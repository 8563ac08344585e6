"""Where an address is in time: its IANA zone, from the planner or from its coordinates."""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from typing import Any

from django.conf import settings
from django.utils import timezone
from timezonefinder import TimezoneFinder


@functools.cache
def _finder() -> Any:
    """Built once: loading the zone polygons takes a quarter of a second."""
    return TimezoneFinder()


def zone_at(lat: float | None, lon: float | None) -> str:
    """The IANA zone at a point (timezonefinder's offline polygons); the project's default
    zone when the point has no coordinates or lies at sea."""
    if lat is None or lon is None:
        return settings.TIME_ZONE
    zone = _finder().timezone_at(lat=lat, lng=lon)
    if not zone or zone.startswith("Etc/"):
        return settings.TIME_ZONE
    return zone


def local_text(moment: Any, zone: str, fmt: str = "%Y-%m-%d %H:%M:%S %Z") -> str:
    """A time as people at the place read it, with the zone named (for evidence text)."""
    return moment.astimezone(zoneinfo.ZoneInfo(zone)).strftime(fmt)


def local_today(zone_name: str, now: dt.datetime | None = None) -> dt.date:
    """The date it is (``now``, default the current time) in the zone."""
    return timezone.localdate(now or timezone.now(), zoneinfo.ZoneInfo(zone_name))
