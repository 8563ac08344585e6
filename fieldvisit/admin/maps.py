"""Maps on admin pages: a route's stops in order, a visit's check-ins and photo positions.

The page gets plain data (``json_script``), and ``fieldvisit/map.js`` draws it with Leaflet
from our own static files. Tiles come from ``MAP_TILE_URL`` when it is set; without it the
points are drawn on a plain background, fitted to their bounds, and no position of a debtor
or an agent leaves for a third-party tile server.

Positions are stored in WGS-84. Tile servers of maps of China (AMap/高德, Tencent: GCJ-02;
Baidu: BD-09) draw their streets shifted by hundreds of metres from it, so with
``MAP_TILE_DATUM`` set to theirs every position is converted to it just before drawing.
"""

from __future__ import annotations

from typing import TypedDict

from django.conf import settings
from django.utils.translation import gettext

from fieldvisit.datums import from_wgs84
from fieldvisit.geo import local_text
from fieldvisit.models import Alert, CheckIn, Photo, Route, Visit
from fieldvisit.rules.checkins import distance_m
from fieldvisit.words import distance_text


class Point(TypedDict):
    lat: float
    lon: float
    kind: str  # stop, address, checkin, photo: the colour and legend entry
    label: str


class Circle(TypedDict):
    lat: float
    lon: float
    radius_m: float
    label: str


class MapData(TypedDict):
    tiles: dict[str, str]
    points: list[Point]
    line: list[list[float]]
    circles: list[Circle]
    unplaced: list[str]  # what has no position, said under the map


def _tiles() -> dict[str, str]:
    return {"url": settings.MAP_TILE_URL, "attribution": settings.MAP_TILE_ATTRIBUTION}


def on_tiles(data: MapData, datum: str | None = None) -> MapData:
    """``data`` with every position in the tiles' datum (``MAP_TILE_DATUM``)."""
    datum = datum or settings.MAP_TILE_DATUM

    def moved(item: dict[str, object]) -> dict[str, object]:
        lat, lon = from_wgs84(item["lat"], item["lon"], datum)  # type: ignore[arg-type]
        return {**item, "lat": lat, "lon": lon}

    return {
        **data,
        "points": [moved(p) for p in data["points"]],  # type: ignore[misc]
        "circles": [moved(c) for c in data["circles"]],  # type: ignore[misc]
        "line": [list(from_wgs84(lat, lon, datum)) for lat, lon in data["line"]],
    }


def route_map(route: Route) -> MapData:
    """The stops in visiting order, joined by a line (one query)."""
    points: list[Point] = []
    unplaced: list[str] = []
    for stop in route.stops.select_related("case", "address").order_by("sequence"):
        label = f"{stop.sequence}. {stop.case.number}: {stop.address.text}"
        if stop.address.geocoded:
            points.append(
                {"lat": stop.address.lat, "lon": stop.address.lon, "kind": "stop", "label": label}
            )
        else:
            unplaced.append(label)
    return on_tiles(
        {
            "tiles": _tiles(),
            "points": points,
            "line": [[p["lat"], p["lon"]] for p in points],
            "circles": [],
            "unplaced": unplaced,
        }
    )


# A photo position further than this from the visit's address is listed under the map, not
# drawn on it (a camera's stale or wrong GPS fix, or a photo taken elsewhere).
FAR_AWAY_M = 5_000


def _photo_position(photo: Photo) -> tuple[float, float, str] | None:
    """Where the photo was taken: its own EXIF GPS first (what the court will read from the
    file), else the position the phone reported with it."""
    if photo.exif_lat is not None and photo.exif_lon is not None:
        return photo.exif_lat, photo.exif_lon, gettext("EXIF GPS")
    if photo.lat is not None and photo.lon is not None:
        return photo.lat, photo.lon, gettext("phone position")
    return None


def visit_map(visit: Visit) -> MapData:
    """The address with its geofence, each check-in and each photo (two queries, the visit's
    stop, address and case's creditor being loaded with it)."""
    address = visit.stop.address
    zone = address.zone_name if address.geocoded or address.timezone else settings.TIME_ZONE
    points: list[Point] = []
    circles: list[Circle] = []
    unplaced: list[str] = []
    if address.geocoded:
        points.append(
            {"lat": address.lat, "lon": address.lon, "kind": "address", "label": address.text}
        )
        radius = visit.stop.case.creditor.geofence_radius_m
        circles.append(
            {
                "lat": address.lat,
                "lon": address.lon,
                "radius_m": float(radius),
                "label": gettext("Geofence: {radius} m around the address").format(radius=radius),
            }
        )
    checkins = CheckIn.objects.filter(visit=visit).select_related("agent").order_by("captured_at")
    for checkin in checkins:
        label = gettext("{kind} by {agent} at {time} (±{accuracy:.0f} m)").format(
            kind=checkin.get_kind_display(),
            agent=checkin.agent.get_username(),
            time=local_text(checkin.captured_at, zone, "%H:%M:%S %Z"),
            accuracy=checkin.accuracy_m,
        )
        points.append({"lat": checkin.lat, "lon": checkin.lon, "kind": "checkin", "label": label})
    photos = Photo.objects.filter(visit=visit).select_related("agent").order_by("captured_at")
    for photo in photos:
        taken = local_text(photo.captured_at, zone, "%H:%M:%S %Z")
        label = gettext("Photo ({kind}) by {agent} at {time}").format(
            kind=photo.get_kind_display(), agent=photo.agent.get_username(), time=taken
        )
        position = _photo_position(photo)
        if position is None:
            unplaced.append(gettext("{label}: no GPS").format(label=label))
            continue
        lat, lon, source = position
        if address.geocoded:
            away = distance_m(address.lat, address.lon, lat, lon)
            if away > FAR_AWAY_M:
                # Drawn, it would zoom the map out to another city or continent: said instead.
                unplaced.append(
                    gettext("{label}: {source} {distance} from the address").format(
                        label=label, source=source, distance=distance_text(away)
                    )
                )
                continue
        points.append({"lat": lat, "lon": lon, "kind": "photo", "label": f"{label}, {source}"})
    return on_tiles(
        {
            "tiles": _tiles(),
            "points": points,
            "line": [],
            "circles": circles,
            "unplaced": unplaced,
        }
    )


def alert_map(alert: Alert) -> MapData:
    """Where the alert was raised, the door of its visit, and each agent's latest report on
    the route: who is where, for whoever answers it (three queries at most)."""
    zone = alert.team.timezone
    points: list[Point] = []
    unplaced: list[str] = []
    if alert.lat is not None and alert.lon is not None:
        when = local_text(alert.captured_at or alert.raised_at, zone, "%H:%M:%S %Z")
        if alert.raised_by_id:
            label = gettext("{kind} by {agent} at {time}").format(
                kind=alert.get_kind_display(), agent=alert.raised_by.get_username(), time=when
            )
        else:
            label = gettext("{kind} at {time}").format(kind=alert.get_kind_display(), time=when)
        points.append({"lat": alert.lat, "lon": alert.lon, "kind": "alert", "label": label})
    elif alert.kind == "panic":
        unplaced.append(gettext("The panic came without a position"))
    if alert.visit_id and alert.visit.stop.address.geocoded:
        address = alert.visit.stop.address
        points.append(
            {"lat": address.lat, "lon": address.lon, "kind": "address", "label": address.text}
        )
    if alert.route_id:
        latest: dict[int, CheckIn] = {}
        for checkin in CheckIn.objects.filter(route_id=alert.route_id).select_related("agent"):
            seen = latest.get(checkin.agent_id)
            if seen is None or checkin.captured_at > seen.captured_at:
                latest[checkin.agent_id] = checkin
        for checkin in sorted(latest.values(), key=lambda c: c.agent.get_username()):
            label = gettext("{agent}: last report ({kind}) at {time}").format(
                agent=checkin.agent.get_username(),
                kind=checkin.get_kind_display(),
                time=local_text(checkin.captured_at, zone, "%H:%M:%S %Z"),
            )
            points.append(
                {"lat": checkin.lat, "lon": checkin.lon, "kind": "checkin", "label": label}
            )
    return on_tiles(
        {"tiles": _tiles(), "points": points, "line": [], "circles": [], "unplaced": unplaced}
    )
