"""Visit hours are judged in the address's zone: the planner's, else the coordinates'."""

from __future__ import annotations

import pytest

from fieldvisit.geo import zone_at
from fieldvisit.models import Address


@pytest.mark.parametrize(
    ("lat", "lon", "zone"),
    [
        (31.2304, 121.4737, "Asia/Shanghai"),  # Shanghai
        (43.8256, 87.6168, "Asia/Urumqi"),  # Urumqi: China, but its own zone database entry
        (51.5072, -0.1276, "Europe/London"),
        (22.3193, 114.1694, "Asia/Hong_Kong"),
    ],
)
def test_zone_from_coordinates(lat: float, lon: float, zone: str) -> None:
    assert zone_at(lat, lon) == zone


def test_no_coordinates_or_open_sea_fall_back_to_the_default(settings) -> None:  # type: ignore[no-untyped-def]
    settings.TIME_ZONE = "Asia/Shanghai"
    assert zone_at(None, None) == "Asia/Shanghai"
    assert zone_at(0.0, -30.0) == "Asia/Shanghai"  # mid-Atlantic: Etc/GMT+2 is not a place


def test_an_address_uses_the_planners_zone_first() -> None:
    given = Address(lat=51.5072, lon=-0.1276, timezone="Asia/Shanghai")
    derived = Address(lat=51.5072, lon=-0.1276, timezone="")
    assert given.zone_name == "Asia/Shanghai"
    assert derived.zone_name == "Europe/London"
