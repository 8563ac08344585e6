"""POST /visits/{id}/photos/: hashed while streaming, inspected from content, flagged,
recorded with a ledger entry, stored content-addressed only after the commit."""

from __future__ import annotations

import datetime as dt
import json
import zlib
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fieldvisit.models import EvidenceFile, LedgerEntry, Photo
from tests import images
from tests.helpers import (
    CORPUS,
    ZONE,
    assert_problem,
    body,
    final_path,
    ledger_entries,
    north,
    photo_form,
    photos_url,
    post,
    post_form,
    sha,
    stored_files,
)

pytestmark = pytest.mark.django_db(transaction=True)

MANIFEST = json.loads((CORPUS / "images" / "manifest.json").read_text())
FILES = MANIFEST["files"] if isinstance(MANIFEST, dict) else MANIFEST


def at_address(visit: Any, metres_north: float = 0.0, **extra: Any) -> bytes:
    address = visit.stop.address
    return images.jpeg(
        lat=address.lat + north(metres_north),
        lon=address.lon,
        altitude=12.5,
        taken_at=timezone.now().astimezone(ZONE),
        **extra,
    )


def assert_nothing_kept(before_files: dict[str, bytes] | None = None) -> None:
    assert Photo.objects.count() == 0
    assert EvidenceFile.objects.count() == 0
    assert not LedgerEntry.objects.filter(kind="photo.added").exists()
    assert stored_files() == (before_files or {})


@pytest.mark.parametrize("entry", FILES, ids=[f["file"] for f in FILES])
def test_every_corpus_image_gets_its_expected_answer(agent: Any, visit: Any, entry: Any) -> None:
    data = (CORPUS / "images" / entry["file"]).read_bytes()
    response = post_form(agent, photos_url(visit), photo_form(data, name=entry["file"]))
    if entry["expect"] != "accept":
        status = 415 if entry["expect"] == "unsupported_media_type" else 422
        assert_problem(response, status, entry["expect"])
        assert_nothing_kept()
        return
    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["sha256"] == entry["sha256"] == sha(data)
    assert answer["size"] == entry["size"]
    assert answer["media_type"] == entry["media_type"]
    gps = entry["gps"]
    exif = answer["exif"]
    if gps is None:
        assert (exif["lat"], exif["lon"]) == (None, None)
        assert "no_gps" in answer["flags"]
    else:
        assert exif["lat"] == pytest.approx(gps["lat"], abs=1e-5)
        assert exif["lon"] == pytest.approx(gps["lon"], abs=1e-5)
        if gps.get("alt") is None:
            assert exif["altitude"] is None
        else:
            assert exif["altitude"] == pytest.approx(gps["alt"], abs=0.01)
        assert "no_gps" not in answer["flags"]
        # The corpus was shot far from Shanghai.
        assert "far_from_address" in answer["flags"]
    if entry["opens"]:
        # (The manifest read no EXIF where Pillow's default pixel limit stopped it opening.)
        assert exif["make"] == (entry["make"] or "")
        assert exif["model"] == (entry["model"] or "")
    # Kept byte for byte at its content address, and nothing left in staging; the CRC-32
    # that ZIP bundles need was taken on the way in.
    assert stored_files() == {final_path(entry["sha256"]): data}
    assert EvidenceFile.objects.get().crc32 == zlib.crc32(data)


def test_a_photo_at_the_door_during_the_open_visit_has_no_flags(agent: Any, visit: Any) -> None:
    data = at_address(visit, 20)
    response = post_form(
        agent,
        photos_url(visit),
        photo_form(data, lat=visit.stop.address.lat, lon=visit.stop.address.lon),
    )
    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["flags"] == []
    assert answer["distance_m"] == pytest.approx(20, abs=1)
    assert answer["exif"]["altitude"] == pytest.approx(12.5)
    assert dt.datetime.fromisoformat(answer["exif"]["taken_at"]).utcoffset() == dt.timedelta(
        hours=8
    )
    (entry,) = ledger_entries("photo.added")
    assert entry["subject"] == f"visit:{visit.pk}"
    assert entry["data"]["file"] == {
        "sha256": sha(data),
        "size": len(data),
        "media_type": "image/jpeg",
    }
    assert entry["data"]["photo"] == answer["id"]


@pytest.mark.parametrize(
    ("metres", "exif_shift_min", "expected"),
    [
        (400, 0, ["far_from_address"]),
        (0, -60, ["taken_outside_visit", "exif_time_mismatch"]),
        (0, -8, ["exif_time_mismatch"]),
    ],
)
def test_flags_from_the_photos_own_exif(
    agent: Any, visit: Any, metres: float, exif_shift_min: int, expected: list[str]
) -> None:
    address = visit.stop.address
    data = images.jpeg(
        lat=address.lat + north(metres),
        lon=address.lon,
        taken_at=(timezone.now() + dt.timedelta(minutes=exif_shift_min)).astimezone(ZONE),
    )
    response = post_form(agent, photos_url(visit), photo_form(data))
    assert response.status_code == 201, response.content
    assert response.json()["flags"] == expected


def test_a_photo_without_gps_is_kept_and_flagged(agent: Any, visit: Any) -> None:
    data = images.jpeg(taken_at=timezone.now().astimezone(ZONE))
    response = post_form(agent, photos_url(visit), photo_form(data))
    assert response.status_code == 201
    assert response.json()["flags"] == ["no_gps"]
    assert response.json()["distance_m"] is None


def test_a_photo_before_the_partner_arrived_is_flagged_lone_agent(world: Any) -> None:
    from tests.checkins.conftest import stops_of

    stop = stops_of(world.route)[0]
    agent = world.client(world.agent_a, "phone-a")
    assert post(agent, body(world, "arrive", stop)).status_code == 201
    address = stop.address
    data = images.jpeg(lat=address.lat, lon=address.lon, taken_at=timezone.now().astimezone(ZONE))
    response = post_form(agent, photos_url(stop.visit), photo_form(data))
    assert response.status_code == 201, response.content
    assert response.json()["flags"] == ["lone_agent"]


def test_a_photo_of_a_visit_nobody_arrived_at_is_outside_the_visit(world: Any) -> None:
    from tests.checkins.conftest import stops_of

    stop = stops_of(world.route)[1]
    data = images.jpeg(taken_at=timezone.now().astimezone(ZONE))
    response = post_form(
        world.client(world.agent_a, "phone-a"), photos_url(stop.visit), photo_form(data)
    )
    assert response.status_code == 201
    assert response.json()["flags"] == ["no_gps", "taken_outside_visit", "lone_agent"]


def test_a_declared_hash_that_differs_keeps_nothing(agent: Any, visit: Any) -> None:
    data = at_address(visit)
    response = post_form(agent, photos_url(visit), photo_form(data, sha256="0" * 64))
    problem = assert_problem(response, 422, "hash_mismatch")
    assert sha(data) in problem["detail"]
    assert_nothing_kept()


def test_a_file_over_the_limit_is_413_and_nothing_stays_on_disk(
    agent: Any, visit: Any, settings: Any
) -> None:
    settings.EVIDENCE_MAX_FILE_BYTES = 4096
    data = images.jpeg(size=(600, 600), colour="red") + b"\0" * 8192
    response = post_form(agent, photos_url(visit), photo_form(data))
    assert_problem(response, 413, "file_too_large")
    assert_nothing_kept()


def test_photos_are_multipart_only(agent: Any, visit: Any) -> None:
    response = agent.post(photos_url(visit), {"id": "x"}, format="json")
    assert_problem(response, 415, "unsupported_media_type")


def test_missing_fields_are_named(agent: Any, visit: Any) -> None:
    response = agent.post(photos_url(visit), {"kind": "selfie"}, format="multipart")
    problem = assert_problem(response, 422, "validation_error")
    assert set(problem["errors"]) >= {"id", "file", "sha256", "kind", "captured_at"}


def test_a_retry_with_the_same_id_answers_200_and_other_content_409(agent: Any, visit: Any) -> None:
    data = at_address(visit)
    form = photo_form(data)
    first = post_form(agent, photos_url(visit), form)
    assert first.status_code == 201
    again = post_form(
        agent, photos_url(visit), photo_form(data, id=form["id"], captured_at=form["captured_at"])
    )
    assert again.status_code == 200
    assert again.json() == first.json()
    other = at_address(visit, colour="green")
    conflict = post_form(
        agent, photos_url(visit), photo_form(other, id=form["id"], captured_at=form["captured_at"])
    )
    assert_problem(conflict, 409, "id_conflict")
    assert Photo.objects.count() == 1
    assert EvidenceFile.objects.count() == 1


def test_the_answer_is_the_photo_just_recorded_not_a_read_after_it(agent: Any, visit: Any) -> None:
    """The photo is read once, to find an earlier one with its id; the 201 answer is written
    from the row just created, with its file and agent (the retry's 200, read from the
    database, equals it: above)."""
    data = at_address(visit)
    form = photo_form(data)
    with CaptureQueriesContext(connection) as captured:
        response = post_form(agent, photos_url(visit), form)
    assert response.status_code == 201, response.content
    reads = [
        q["sql"]
        for q in captured
        if q["sql"].startswith("SELECT") and "fieldvisit_photo" in q["sql"]
    ]
    assert len(reads) == 1, reads
    photo = Photo.objects.select_related("agent").get()
    assert (response.json()["agent"], response.json()["size"]) == (photo.agent.username, len(data))


def test_the_same_bytes_twice_are_stored_once(agent: Any, visit: Any) -> None:
    data = at_address(visit)
    for _ in range(2):
        assert post_form(agent, photos_url(visit), photo_form(data)).status_code == 201
    assert Photo.objects.count() == 2
    assert EvidenceFile.objects.count() == 1
    assert stored_files() == {final_path(sha(data)): data}


def test_only_the_visits_team_agents_add_photos(world: Any, visit: Any) -> None:
    data = at_address(visit)
    outsider = world.client(world.outsider, "phone-o")
    assert_problem(post_form(outsider, photos_url(visit), photo_form(data)), 404, "not_found")
    supervisor = world.client(world.supervisor, "desk")
    assert_problem(
        post_form(supervisor, photos_url(visit), photo_form(data)), 403, "not_team_member"
    )
    assert_nothing_kept()


def test_a_storage_failure_answers_503_and_keeps_nothing(
    agent: Any, visit: Any, monkeypatch: Any
) -> None:
    from fieldvisit.evidence import storage

    def broken(*args: Any, **kwargs: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(storage, "stage", broken)
    response = post_form(agent, photos_url(visit), photo_form(at_address(visit)))
    assert_problem(response, 503, "storage_unavailable")
    assert_nothing_kept()


def test_a_failure_inside_the_transaction_leaves_no_row_and_no_file(
    agent: Any, visit: Any, monkeypatch: Any
) -> None:
    from fieldvisit.ledger import store

    entries_before = LedgerEntry.objects.count()

    def failing_append(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("ledger down")

    monkeypatch.setattr(store, "append", failing_append)
    response = post_form(agent, photos_url(visit), photo_form(at_address(visit)))
    assert_problem(response, 500, "internal_error")
    assert_nothing_kept()
    assert LedgerEntry.objects.count() == entries_before


def test_the_visit_shows_its_photos(agent: Any, visit: Any) -> None:
    data = at_address(visit)
    created = post_form(agent, photos_url(visit), photo_form(data, kind="seal")).json()
    shown = agent.get(f"/api/v1/visits/{visit.pk}/").json()
    assert [p["id"] for p in shown["photos"]] == [created["id"]]
    assert shown["photos"][0]["kind"] == "seal"
    assert shown["photos"][0]["sha256"] == sha(data)


@pytest.mark.parametrize("statement", ["UPDATE {table} SET kind = 'other'", "DELETE FROM {table}"])
def test_the_database_refuses_to_change_photos(agent: Any, visit: Any, statement: str) -> None:
    assert post_form(agent, photos_url(visit), photo_form(at_address(visit))).status_code == 201
    from django.db import DatabaseError

    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement.format(table=Photo._meta.db_table))
    assert Photo.objects.get().kind == "door"


def test_the_door_photo_check_needs_the_partner_in_frame(agent: Any, visit: Any) -> None:
    def door_check() -> dict[str, Any]:
        shown = agent.get(f"/api/v1/visits/{visit.pk}/").json()
        return shown["compliance"]["checks"]["door_photo"]

    assert door_check()["ok"] is False
    alone = photo_form(at_address(visit), partner_in_frame="false")
    assert post_form(agent, photos_url(visit), alone).status_code == 201
    assert door_check() == {
        "ok": False,
        "detail": "The door photos do not show the partner in frame.",
    }
    seal = photo_form(at_address(visit, colour="red"), kind="seal")
    assert post_form(agent, photos_url(visit), seal).status_code == 201
    assert door_check()["ok"] is False
    both = photo_form(at_address(visit, colour="green"), partner_in_frame="true")
    assert post_form(agent, photos_url(visit), both).status_code == 201
    assert door_check()["ok"] is True


def test_a_door_photo_far_from_the_address_does_not_pass(agent: Any, visit: Any) -> None:
    far = photo_form(at_address(visit, 500))
    assert post_form(agent, photos_url(visit), far).json()["flags"] == ["far_from_address"]
    shown = agent.get(f"/api/v1/visits/{visit.pk}/").json()
    check = shown["compliance"]["checks"]["door_photo"]
    assert check["ok"] is False
    assert "far_from_address" in check["detail"]


def test_an_extra_file_part_is_ignored_not_a_500(agent: Any, visit: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    form = photo_form(at_address(visit))
    form["extra"] = SimpleUploadedFile("x.bin", b"not wanted")
    assert post_form(agent, photos_url(visit), form).status_code == 201


def test_too_many_form_fields_is_a_400(agent: Any, visit: Any) -> None:
    form = photo_form(at_address(visit))
    form.update({f"f{n}": "x" for n in range(1100)})
    assert_problem(post_form(agent, photos_url(visit), form), 400, "malformed_request")
    assert_nothing_kept()


@pytest.mark.parametrize(
    ("make", "taken_at", "expected_make", "expected_taken_at"),
    [
        ("Ca\x00non", None, "Canon", None),
        ("M" * 300, None, "M" * 128, None),
        (
            "Cam",
            dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.timezone(-dt.timedelta(hours=12))),
            "Cam",
            None,
        ),
    ],
    ids=["nul", "long", "year-9999"],
)
def test_hostile_exif_text_and_times_are_cleaned(
    agent: Any, visit: Any, make: str, taken_at: Any, expected_make: str, expected_taken_at: Any
) -> None:
    address = visit.stop.address
    data = images.jpeg(lat=address.lat, lon=address.lon, make=make, taken_at=taken_at)
    response = post_form(agent, photos_url(visit), photo_form(data))
    assert response.status_code == 201, response.content
    exif = response.json()["exif"]
    assert (exif["make"], exif["taken_at"]) == (expected_make, expected_taken_at)
