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
from fieldvisit.models import Address, Case, CheckIn
from fieldvisit.rules.checkins import distance_m
from tests.helpers import World, body, ledger_entries, post, stops_of

# eviltransform's test vector (WGS-84 -> GCJ-02), which prcoords reproduces to the last digit.
WGS = (31.1774276, 121.5272106)
GCJ = (31.17530398364597, 121.531541859215)


def test_gcj02_of_a_known_point_and_back_to_a_millimetre() -> None:
    assert from_wgs84(*WGS, "gcj02") == pytest.approx(GCJ, abs=1e-9)
    assert distance_m(*to_wgs84(*GCJ, "gcj02"), *WGS) < 0.001


@pytest.mark.parametrize("datum", ["gcj02", "bd09"])
def test_the_chinese_datums_are_hundreds_of_metres_off_and_convert_back(datum: str) -> None:
    door = (31.2304, 121.4737)  # People's Square, Shanghai
    shown = from_wgs84(*door, datum)
    assert 300 < distance_m(*door, *shown) < 1500
    assert distance_m(*to_wgs84(*shown, datum), *door) < 0.01


def test_outside_china_the_chinese_datums_are_wgs84() -> None:
    london = (51.5117, -0.1318)
    assert not in_china(*london)
    assert to_wgs84(*london, "gcj02") == london == from_wgs84(*london, "bd09")
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
    bad = post(phone, body(world, CheckInKind.PERIODIC, datum="mars"))
    assert bad.status_code == 422 and "datum" in bad.json()["errors"]


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


def test_an_unknown_tile_datum_fails_the_system_check(settings: Any) -> None:
    from fieldvisit.checks import map_tile_datum

    assert map_tile_datum() == []
    settings.MAP_TILE_DATUM = "wgs-84"
    [error] = map_tile_datum()
    assert error.id == "fieldvisit.E012" and "gcj02" in error.hint
