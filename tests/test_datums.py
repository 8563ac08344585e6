"""Coordinate datums (issue 19, item 3): a position read off a Chinese map (GCJ-02 from
AMap/高德 or Tencent, BD-09 from Baidu) is 100-700 m from the GPS position of the same door,
more than the geofence. Every coordinate is converted to WGS-84 on the way in (case import,
admin, check-ins), with what was given kept beside it; admin maps draw in the tiles' datum."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from fieldvisit.admin.maps import on_tiles, visit_map
from fieldvisit.choices import CheckInKind
from fieldvisit.datums import from_wgs84, in_china, to_wgs84
from fieldvisit.models import Address, Case, CheckIn, Team
from fieldvisit.rules.checkins import distance_m
from tests import factories
from tests.helpers import (
    World,
    approve,
    assert_problem,
    body,
    ledger_entries,
    post,
    stops_of,
    today,
)

# eviltransform's test vector (WGS-84 -> GCJ-02), which prcoords reproduces to the last digit.
WGS = (31.1774276, 121.5272106)
GCJ = (31.17530398364597, 121.531541859215)

# Published pairs for a point by Tiananmen, Beijing (lon 116.404, lat 39.915), from the README
# and test/app.js of wandergis/coordtransform, the JavaScript library most Chinese web maps
# use; here as (lat, lon).
BEIJING = (39.915, 116.404)
BEIJING_WGS_TO_GCJ = (39.91640428150164, 116.41024449916938)  # wgs84togcj02(116.404, 39.915)
BEIJING_GCJ_TO_BD = (39.92133699351021, 116.41036949371029)  # gcj02tobd09(116.404, 39.915)
BEIJING_BD_TO_GCJ = (39.90865673957631, 116.39762729119315)  # bd09togcj02(116.404, 39.915)
BEIJING_GCJ_TO_WGS = (39.91359571849836, 116.39775550083061)  # gcj02towgs84 (one-step, ~1 m)


def test_gcj02_of_a_known_point_and_back_to_a_millimetre() -> None:
    assert from_wgs84(*WGS, "gcj02") == pytest.approx(GCJ, abs=1e-9)
    assert distance_m(*to_wgs84(*GCJ, "gcj02"), *WGS) < 0.001


def test_published_reference_pairs_in_beijing() -> None:
    """The same door in WGS-84, GCJ-02 and BD-09, as a public source gives it: the forward
    conversions match it to the last digit, the conversions back to WGS-84 within 1 m (the
    published one-step inverse is itself about a metre off; ours iterates)."""
    assert from_wgs84(*BEIJING, "gcj02") == pytest.approx(BEIJING_WGS_TO_GCJ, abs=1e-9)
    assert distance_m(*to_wgs84(*BEIJING_WGS_TO_GCJ, "gcj02"), *BEIJING) < 0.01
    # BEIJING read as GCJ-02 is BEIJING_GCJ_TO_BD in BD-09 and BEIJING_GCJ_TO_WGS in WGS-84:
    # whichever of the two the planner was given, the door comes out at the same place.
    from_bd09 = to_wgs84(*BEIJING_GCJ_TO_BD, "bd09")
    assert distance_m(*from_bd09, *BEIJING_GCJ_TO_WGS) < 1
    assert distance_m(*from_bd09, *to_wgs84(*BEIJING, "gcj02")) < 0.01
    assert from_wgs84(*from_bd09, "bd09") == pytest.approx(BEIJING_GCJ_TO_BD, abs=1e-7)
    # BEIJING read as BD-09 is BEIJING_BD_TO_GCJ in GCJ-02 (Baidu's published inverse is a
    # one-step approximation, a few centimetres off; ours is the exact inverse of the forward).
    from_bd_as_gcj = to_wgs84(*BEIJING_BD_TO_GCJ, "gcj02")
    assert distance_m(*to_wgs84(*BEIJING, "bd09"), *from_bd_as_gcj) < 0.1
    # And the shifts are what make the problem: hundreds of metres, beyond the geofence.
    assert 500 < distance_m(*BEIJING, *BEIJING_WGS_TO_GCJ) < 700
    assert 1000 < distance_m(*BEIJING, *from_wgs84(*BEIJING, "bd09")) < 1500


def test_the_conversion_back_is_within_centimetres_everywhere_in_china() -> None:
    """prcoords' iteration stops within 1e-5 degrees of its fixed point; measured on a grid
    over mainland China, a round trip lands within 2 cm."""
    worst = 0.0
    for lat in range(19, 53, 3):
        for lon in range(75, 135, 4):
            for datum in ("gcj02", "bd09"):
                shown = from_wgs84(lat + 0.3, lon + 0.7, datum)
                back = to_wgs84(*shown, datum)
                worst = max(worst, distance_m(*back, lat + 0.3, lon + 0.7))
    assert worst < 0.02


@pytest.mark.parametrize("datum", ["gcj02", "bd09"])
def test_the_chinese_datums_are_hundreds_of_metres_off_and_convert_back(datum: str) -> None:
    door = (31.2304, 121.4737)  # People's Square, Shanghai
    shown = from_wgs84(*door, datum)
    assert 300 < distance_m(*door, *shown) < 1500
    assert distance_m(*to_wgs84(*shown, datum), *door) < 0.01


@pytest.mark.parametrize(
    "place",
    [(51.5117, -0.1318), (40.7158, -73.9970), (37.7941, -122.4078), (-33.87, 151.21)],
    ids=["London", "New York", "San Francisco", "Sydney"],
)
def test_outside_china_the_chinese_datums_are_wgs84(place: tuple[float, float]) -> None:
    assert not in_china(*place)
    for datum in ("gcj02", "bd09"):
        assert to_wgs84(*place, datum) == place == from_wgs84(*place, datum)
    assert to_wgs84(*WGS, "wgs84") == WGS


# --- check-ins ---------------------------------------------------------------------------


@pytest.fixture
def world(clock: Any, world: World) -> World:
    return world


@pytest.mark.django_db
def test_an_arrival_from_a_chinese_map_sdk_is_judged_in_wgs84(world: World) -> None:
    """The phone's SDK gives the door in GCJ-02: sent as such it is at the door; the same
    numbers taken for WGS-84 would be ~500 m away and refused."""
    stop = stops_of(world.route)[0]
    address = stop.address
    lat, lon = from_wgs84(address.lat, address.lon, "gcj02")
    phone = world.client(world.agent_a, "phone-a")
    refused = post(phone, body(world, CheckInKind.ARRIVE, stop, lat=lat, lon=lon))
    assert refused.status_code == 422 and refused.json()["code"] == "too_far_from_address"

    sent = body(world, CheckInKind.ARRIVE, stop, lat=lat, lon=lon, datum="gcj02")
    answer = post(phone, sent)
    assert answer.status_code == 201, answer.json()
    checkin = CheckIn.objects.get(pk=sent["id"])
    assert distance_m(checkin.lat, checkin.lon, address.lat, address.lon) < 0.01
    assert (checkin.source_datum, checkin.source_lat, checkin.source_lon) == ("gcj02", lat, lon)
    assert checkin.distance_m < 1
    data = ledger_entries("checkin.arrive")[-1]["data"]
    assert data["source"] == {"datum": "gcj02", "lat": lat, "lon": lon}
    # A retry of the same record is the same record; without the datum it is another one.
    assert post(phone, sent).status_code == 200
    assert post(phone, {**sent, "datum": "wgs84"}).json()["code"] == "id_conflict"


@pytest.mark.django_db
def test_a_wgs84_check_in_keeps_no_source_and_an_unknown_datum_is_refused(world: World) -> None:
    stop = stops_of(world.route)[0]
    phone = world.client(world.agent_a, "phone-a")
    sent = body(world, CheckInKind.ARRIVE, stop)
    assert post(phone, sent).status_code == 201
    checkin = CheckIn.objects.get(pk=sent["id"])
    assert (checkin.source_datum, checkin.source_lat) == (None, None)
    assert "source" not in ledger_entries("checkin.arrive")[-1]["data"]
    for datum in ("mars", "GCJ-02", "", None, 2, ["gcj02"], {"datum": "gcj02"}):
        bad = post(phone, body(world, CheckInKind.PERIODIC, datum=datum))
        assert "datum" in assert_problem(bad, 422, "validation_error")["errors"], datum
    assert not CheckIn.objects.filter(kind=CheckInKind.PERIODIC).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("datum", "status"), [("gcj02", 201), ("wgs84", 422)])
def test_an_address_imported_from_amap_and_a_gps_fix_at_its_door_pass_the_geofence(
    world: World, client: Client, datum: str, status: int
) -> None:
    """The issue's case. The planner's file has the door as AMap gives it (GCJ-02), the
    agent's phone reports GPS (WGS-84) at the door. Imported with its datum, the two are the
    same place; taken for WGS-84 they are ~500 m apart and the arrival is refused."""
    door = (31.2385, 121.4905)  # WGS-84: where the phone's GPS puts the agent at the door
    amap = from_wgs84(*door, "gcj02")
    assert distance_m(*door, *amap) > 300
    client.force_login(world.planner)
    table = [["DAT-9", "acme", "Pudong", "Zhou", "100", "CNY", "9 Road", *amap, "", datum]]
    assert import_csv(client, table).status_code in (200, 302)
    address = Address.objects.get(case__number="DAT-9")
    Team.objects.filter(pk=world.other_team.pk).update(supervisor=world.supervisor)
    factories.oncall(world.other_team, world.supervisor, world.duty)
    route = approve(
        factories.route(world.other_team, world.planner, today(), [address]),
        world.planner,
        world.supervisor,
    )
    [stop] = stops_of(route)
    phone = world.client(world.outsider, "phone-o")
    sent = body(world, CheckInKind.ARRIVE, stop, lat=door[0], lon=door[1], route=route)
    answer = post(phone, sent)
    if status == 201:
        assert answer.status_code == 201, answer.json()
        assert CheckIn.objects.get(pk=sent["id"]).distance_m < 0.05
    else:
        assert_problem(answer, 422, "too_far_from_address")


# --- case import and admin ---------------------------------------------------------------

HEADER = ["number", "creditor", "team", "debtor_name", "amount_due", "currency",
          "home_address", "home_lat", "home_lon", "timezone", "datum"]  # fmt: skip


def import_csv(client: Client, table: list[list[Any]], datum: str = "") -> Any:
    out = io.StringIO()
    csv.writer(out).writerows([HEADER, *table])
    upload = SimpleUploadedFile("cases.csv", out.getvalue().encode(), content_type="text/csv")
    preview = client.post(
        reverse("admin:fieldvisit_case_import"),
        {"import_file": upload, "format": "0", "datum": datum},
    )
    assert preview.status_code == 200
    form = preview.context.get("confirm_form")
    if form is None:
        return preview
    assert form.initial["datum"] == (datum or "wgs84")
    return client.post(reverse("admin:fieldvisit_case_process_import"), form.initial)


@pytest.mark.django_db
def test_imported_coordinates_are_converted_by_row_or_by_the_files_datum(
    world: World, client: Client
) -> None:
    client.force_login(world.planner)
    door = (31.2350, 121.4800)
    gcj, bd = from_wgs84(*door, "gcj02"), from_wgs84(*door, "bd09")
    table = [
        ["DAT-1", "acme", "Huangpu", "Wang", "100", "CNY", "1 Road", *gcj, "", "gcj02"],
        ["DAT-2", "acme", "Huangpu", "Li", "100", "CNY", "2 Road", *bd, "", ""],  # the file's
    ]
    done = import_csv(client, table, datum="bd09")
    assert done.status_code in (200, 302), done.content[:500]
    for number, given, datum in (("DAT-1", gcj, "gcj02"), ("DAT-2", bd, "bd09")):
        address = Address.objects.get(case__number=number)
        assert distance_m(address.lat, address.lon, *door) < 0.01, number
        assert (address.source_datum, address.source_lat, address.source_lon) == (datum, *given)
    # The same file again changes nothing.
    again = import_csv(client, table, datum="bd09")
    assert again.status_code in (200, 302)
    assert Case.objects.filter(number__startswith="DAT-").count() == 2


@pytest.mark.django_db
def test_an_unknown_datum_is_a_row_error(world: World, client: Client) -> None:
    client.force_login(world.planner)
    table = [["DAT-3", "acme", "Huangpu", "Zhao", "100", "CNY", "3 Road", "31.2", "121.4", "",
              "wgs-84"]]  # fmt: skip
    preview = import_csv(client, table)
    assert preview.context.get("confirm_form") is None
    assert "Unknown datum &#x27;wgs-84&#x27;" in preview.content.decode()
    assert not Case.objects.filter(number="DAT-3").exists()


@pytest.mark.django_db
def test_an_address_entered_in_admin_from_a_baidu_map_is_stored_in_wgs84(
    world: World, client: Client
) -> None:
    client.force_login(world.planner)
    case = world.cases[3]
    door = (31.2400, 121.4900)
    bd = from_wgs84(*door, "bd09")
    form = {"case": case.pk, "kind": "work", "text": "5 Baidu Road", "lat": bd[0], "lon": bd[1],
            "source_datum": "bd09", "timezone": "Asia/Shanghai"}  # fmt: skip
    answer = client.post(reverse("admin:fieldvisit_address_add"), form)
    assert answer.status_code == 302, answer.content[:800]
    address = Address.objects.get(text="5 Baidu Road")
    assert distance_m(address.lat, address.lon, *door) < 0.01
    assert (address.source_datum, address.source_lat, address.source_lon) == ("bd09", *bd)
    # Opened again, the form shows what was entered, in its datum: saving it changes nothing.
    page = client.get(reverse("admin:fieldvisit_address_change", args=[address.pk]))
    initial = page.context["adminform"].form.initial
    assert (initial["lat"], initial["lon"], initial["source_datum"]) == (*bd, "bd09")


@pytest.mark.django_db
def test_an_unknown_datum_in_admin_is_a_form_error(world: World, client: Client) -> None:
    client.force_login(world.planner)
    form = {"case": world.cases[3].pk, "kind": "work", "text": "6 Mars Road", "lat": "31.24",
            "lon": "121.49", "source_datum": "mars", "timezone": "Asia/Shanghai"}  # fmt: skip
    answer = client.post(reverse("admin:fieldvisit_address_add"), form)
    assert answer.status_code == 200
    [error] = answer.context["adminform"].form.errors.as_data()["source_datum"]
    assert error.code == "invalid_choice"
    assert not Address.objects.filter(text="6 Mars Road").exists()


# --- maps --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_maps_draw_in_the_tiles_datum(world: World, settings: Any) -> None:
    stop = stops_of(world.route)[0]
    visit = stop.visit
    plain = visit_map(visit)
    settings.MAP_TILE_DATUM = "gcj02"
    shifted = visit_map(visit)
    address = stop.address
    [drawn] = [p for p in shifted["points"] if p["kind"] == "address"]
    assert (drawn["lat"], drawn["lon"]) == pytest.approx(
        from_wgs84(address.lat, address.lon, "gcj02"), abs=1e-12
    )
    assert shifted["circles"][0]["lat"] == drawn["lat"]
    assert on_tiles(plain, "wgs84") == plain


@pytest.mark.django_db
def test_the_route_page_serves_its_stops_in_the_tiles_datum(
    world: World, client: Client, settings: Any
) -> None:
    """What the page hands to map.js (its ``json_script``) is already in the tiles' datum:
    AMap tiles (GCJ-02) get GCJ-02 positions, and the default stays WGS-84."""
    from tests.operations.test_maps import map_data, route_page

    client.force_login(world.supervisor)
    stops = stops_of(world.route)
    plain = map_data(route_page(client, world.route))
    assert plain["line"] == [[s.address.lat, s.address.lon] for s in stops]
    settings.MAP_TILE_URL = "https://webrd01.is.autonavi.com/appmaptile?x={x}&y={y}&z={z}"
    settings.MAP_TILE_DATUM = "gcj02"
    amap = map_data(route_page(client, world.route))
    for point, line, stop in zip(amap["points"], amap["line"], stops, strict=True):
        wanted = from_wgs84(stop.address.lat, stop.address.lon, "gcj02")
        assert (point["lat"], point["lon"]) == pytest.approx(wanted, abs=1e-12)
        assert line == [point["lat"], point["lon"]]
        assert 400 < distance_m(stop.address.lat, stop.address.lon, *wanted) < 700


def test_an_unknown_tile_datum_fails_the_system_check(settings: Any) -> None:
    from fieldvisit.checks import map_tile_datum

    assert map_tile_datum() == []
    settings.MAP_TILE_DATUM = "wgs-84"
    [error] = map_tile_datum()
    assert error.id == "fieldvisit.E012" and "gcj02" in error.hint


# --- documented --------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_schema_documents_the_datum_and_what_was_sent(anon: Any) -> None:
    components = anon.get("/api/v1/schema/?format=json").json()["components"]["schemas"]
    request = components["CheckInCreateRequest"]["properties"]
    assert "datum" not in components["CheckInCreateRequest"].get("required", [])
    ref = request["datum"]["allOf"][0]["$ref"].rsplit("/", 1)[-1]
    assert components[ref]["enum"] == ["wgs84", "gcj02", "bd09"]
    assert "default `wgs84`" in request["datum"]["description"]
    assert "WGS-84" in request["lat"]["description"] and "WGS-84" in request["lon"]["description"]
    checkin = components["CheckIn"]["properties"]
    assert checkin["source"]["nullable"] and "WGS-84" in checkin["source"]["description"]
    source = checkin["source"]["allOf"][0]["$ref"].rsplit("/", 1)[-1]
    assert set(components[source]["properties"]) == {"datum", "lat", "lon"}
    visit = components["Visit"]["properties"]["checkins"]
    assert visit["items"]["$ref"] == "#/components/schemas/CheckIn"
