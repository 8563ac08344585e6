"""Coordinates between datums: WGS-84 (GPS, the API, the geofence) and the Chinese map datums
GCJ-02 (AMap/高德, Tencent, Google in China) and BD-09 (Baidu).

Addresses geocoded in China come in GCJ-02 or BD-09, 100-700 m from the GPS position of the
same door: more than the 100 m geofence. Everything is converted to WGS-84 on the way in
(the original kept beside it), and back only to draw on a map whose tiles use another datum
(``MAP_TILE_DATUM``). The conversions are prcoords' (public domain; GCJ-02 and BD-09 to
WGS-84 by the iterative "bored" method, to about a millimetre). Outside mainland China the
Chinese datums are WGS-84 itself, as the maps using them treat it: no shift.
"""

from __future__ import annotations

import prcoords

from fieldvisit.choices import Datum


def in_china(lat: float, lon: float) -> bool:
    """Inside the box where GCJ-02 shifts positions (prcoords' own test)."""
    return bool(prcoords.sanity_in_china_p(prcoords.Coords(lat, lon)))


def to_wgs84(lat: float, lon: float, datum: str) -> tuple[float, float]:
    """The WGS-84 position of a point given in ``datum``."""
    if datum == Datum.WGS84 or not in_china(lat, lon):
        return lat, lon
    convert = prcoords.gcj_wgs_bored if datum == Datum.GCJ02 else prcoords.bd_wgs_bored
    found = convert((lat, lon), False)
    return found.lat, found.lon


def from_wgs84(lat: float, lon: float, datum: str) -> tuple[float, float]:
    """A WGS-84 position as ``datum`` gives it (to draw on GCJ-02 or BD-09 map tiles)."""
    if datum == Datum.WGS84 or not in_china(lat, lon):
        return lat, lon
    convert = prcoords.wgs_gcj if datum == Datum.GCJ02 else prcoords.wgs_bd
    found = convert((lat, lon), False)
    return found.lat, found.lon
