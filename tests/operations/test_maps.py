"""Maps in admin: a route's stops in order, a visit's address, geofence, check-ins and photo
positions. The page carries the data as JSON (``json_script``) and Leaflet from our own
static files; the tile server is a setting, and without one the points are still drawn (the
browser test looks at the drawing itself)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.utils import timezone

from fieldvisit.choices import CheckInKind
from fieldvisit.models import Visit
from tests import factories, images
from tests.helpers import (
    ZONE,
    World,
    arrive_pair,
    body,
    north,
    photo_form,
    photos_url,
    post,
    post_form,
    stops_of,
)

LEAFLET = "fieldvisit/vendor/leaflet/leaflet.js"


def map_data(html: str) -> dict[str, Any]:
    found = re.search(r'<script id="fv-map-data" type="application/json">(.*?)</script>', html)
    assert found, "no map data on the page"
    return json.loads(found.group(1))


def route_page(client: Client, route: Any) -> str:
    response = client.get(f"/admin/fieldvisit/route/{route.pk}/change/")
    assert response.status_code == 200
    return response.content.decode()


def test_leaflet_is_ours() -> None:
    for name in (LEAFLET, "fieldvisit/vendor/leaflet/leaflet.css", "fieldvisit/map.js"):
        assert finders.find(name), name
    licence = Path(finders.find("fieldvisit/vendor/leaflet/LICENSE")).read_text()
    assert licence.startswith("BSD 2-Clause License")
    assert "Leaflet 1.9.4" in Path(finders.find(LEAFLET)).read_text()[:200]


@pytest.mark.django_db
def test_route_map_shows_the_stops_in_order(world: World, client: Client) -> None:
    client.force_login(world.supervisor)
    html = route_page(client, world.route)
    data = map_data(html)
    stops = stops_of(world.route)
    assert [p["label"].split(".")[0] for p in data["points"]] == ["1", "2", "3"]
    assert data["line"] == [[s.address.lat, s.address.lon] for s in stops]
    assert {p["kind"] for p in data["points"]} == {"stop"}
    assert data["tiles"] == {"url": "", "attribution": ""}
    assert "no map tiles configured" in html
    assert f"/static/{LEAFLET}" in html


@pytest.mark.django_db
def test_the_tile_server_is_a_setting(world: World, client: Client, settings: Any) -> None:
    settings.MAP_TILE_URL = "https://tiles.example/{z}/{x}/{y}.png"
    settings.MAP_TILE_ATTRIBUTION = "© Example contributors"
    client.force_login(world.supervisor)
    html = route_page(client, world.route)
    assert map_data(html)["tiles"] == {
        "url": "https://tiles.example/{z}/{x}/{y}.png",
        "attribution": "© Example contributors",
    }
    assert "no map tiles configured" not in html


@pytest.mark.django_db
def test_addresses_are_data_not_markup(world: World, client: Client) -> None:
    case = factories.case(world.team, world.creditor)
    hostile = factories.address(case, text="</script><script>alert(1)</script> Lane")
    blank = factories.address(case, lat=None, lon=None, text="Somewhere unknown", timezone="")
    draft = factories.route(world.team, world.planner, world.route.date + dt.timedelta(1), [])
    draft.stops.create(sequence=1, case=case, address=hostile)
    draft.stops.create(sequence=2, case=case, address=blank)
    client.force_login(world.planner)
    html = route_page(client, draft)
    assert "<script>alert(1)" not in html
    data = map_data(html)
    assert data["points"][0]["label"].endswith("</script><script>alert(1)</script> Lane")
    assert data["unplaced"] == [f"2. {case.number}: Somewhere unknown"]
    assert "Somewhere unknown" in html.split('id="fv-map-data"')[1]  # listed under the map


@pytest.mark.django_db
def test_route_page_query_count_does_not_grow_with_stops(
    world: World, client: Client, django_assert_max_num_queries: Any
) -> None:
    client.force_login(world.supervisor)
    # 13: session, user, roles; the route (twice: the admin's change view and ours), the stop
    # inline's stops, user and group permissions, the team and planner and decider shown,
    # content types (history link); and the map's one: stops with their case and address.
    with django_assert_max_num_queries(13) as small:
        route_page(client, world.route)
    queries = len(small.captured_queries)  # a view of the connection's log: read it now

    more = factories.route(
        world.team,
        world.planner,
        world.route.date + dt.timedelta(days=1),
        [factories.address(factories.case(world.team, world.creditor)) for _ in range(12)],
    )
    with django_assert_max_num_queries(queries):
        assert len(map_data(route_page(client, more))["points"]) == 12


@pytest.mark.django_db(transaction=True)
def test_visit_map_shows_geofence_checkins_and_photos(
    world: World, client: Client, django_assert_max_num_queries: Any
) -> None:
    stop = stops_of(world.route)[0]
    address = stop.address
    phone_a = world.client(world.agent_a, "phone-a")
    assert post(phone_a, body(world, CheckInKind.DEPART, dlat=-800)).status_code == 201
    arrive_pair(world, stop)
    visit = Visit.objects.get(stop=stop)
    now = timezone.now().astimezone(ZONE)
    with_gps = images.jpeg(lat=address.lat + north(30), lon=address.lon, taken_at=now)
    without_gps = images.jpeg(colour="olive", taken_at=now)
    for data in (with_gps, without_gps):
        assert post_form(phone_a, photos_url(visit), photo_form(data)).status_code == 201

    client.force_login(world.supervisor)
    url = f"/admin/fieldvisit/visit/{visit.pk}/change/"
    # 23: the visit page (its reports, reviews, compliance verdict with the agents' reports
    # on the route and the route's timing, the logged read) and the map's three: the
    # creditor (geofence), check-ins with agents, photos with agents.
    with django_assert_max_num_queries(23) as counted:
        response = client.get(url)
    assert response.status_code == 200
    queries = len(counted.captured_queries)  # a view of the connection's log: read it now
    data = map_data(response.content.decode())
    kinds = [p["kind"] for p in data["points"]]
    assert kinds == ["address", "checkin", "checkin", "photo"]  # depart has no visit
    assert data["circles"] == [
        {
            "lat": address.lat,
            "lon": address.lon,
            "radius_m": float(world.creditor.geofence_radius_m),
            "label": f"Geofence: {world.creditor.geofence_radius_m} m around the address",
        }
    ]
    photo = data["points"][3]
    assert photo["lat"] == pytest.approx(address.lat + north(30), abs=1e-6)
    assert photo["label"].endswith("EXIF GPS")
    assert "agent_a" in data["points"][1]["label"]
    assert len(data["unplaced"]) == 1 and data["unplaced"][0].endswith("no GPS")

    # More check-ins and photos: more points, not more queries.
    more = images.jpeg(colour="navy", lat=address.lat, lon=address.lon, taken_at=now)
    assert post_form(phone_a, photos_url(visit), photo_form(more)).status_code == 201
    assert post(phone_a, body(world, CheckInKind.PERIODIC, stop, dlat=10)).status_code == 201
    with django_assert_max_num_queries(queries):
        response = client.get(url)
    assert len(map_data(response.content.decode())["points"]) == 6

    # A photo whose EXIF says another city is listed, not drawn: the map stays on the door.
    beijing = images.jpeg(colour="teal", lat=39.9042, lon=116.4074, taken_at=now)
    assert post_form(phone_a, photos_url(visit), photo_form(beijing)).status_code == 201
    data = map_data(client.get(url).content.decode())
    assert len(data["points"]) == 6
    assert any(line.endswith("EXIF GPS 1067 km from the address") for line in data["unplaced"]), (
        data["unplaced"]
    )
