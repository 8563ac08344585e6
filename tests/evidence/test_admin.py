"""Evidence in admin: photos with thumbnails and their original bytes, to the staff who
oversee the visit's team only, and nothing added, changed or deleted, not even by a superuser."""

from __future__ import annotations

import io
import re
import uuid
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.db.models import Model
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image
from PIL.ExifTags import Base

from fieldvisit.choices import Role
from fieldvisit.models import EvidenceFile, Photo, Receipt, Recording
from tests import factories, images
from tests.helpers import ZONE, iso, photo_form, photos_url, post_form, receipts_url, sha

pytestmark = pytest.mark.django_db(transaction=True)

EVIDENCE_MODELS: list[type[Model]] = [Photo, Receipt, Recording, EvidenceFile]


def sideways_jpeg(visit: Any) -> bytes:
    """A 400x200 landscape JPEG, red left half and blue right half, whose EXIF says to turn
    it 90 degrees clockwise for display (Orientation 6): upright it is 200x400, red on top."""
    address = visit.stop.address
    exif = images.exif_for(
        lat=address.lat, lon=address.lon, taken_at=timezone.now().astimezone(ZONE)
    )
    exif[Base.Orientation] = 6
    picture = Image.new("RGB", (400, 200), "blue")
    picture.paste((255, 0, 0), (0, 0, 200, 200))
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()


def add_photo(agent: Any, visit: Any, data: bytes | None = None) -> Photo:
    data = data or images.jpeg(colour=f"#{uuid.uuid4().hex[:6]}")
    response = post_form(agent, photos_url(visit), photo_form(data))
    assert response.status_code == 201, response.content
    return Photo.objects.get(pk=response.json()["id"])


def thumb_url(photo: Photo) -> str:
    return reverse("admin:fieldvisit_photo_thumb", args=[photo.pk])


def original_url(photo: Photo) -> str:
    return reverse("admin:fieldvisit_photo_original", args=[photo.pk])


def url(model: type[Model], action: str, *args: Any) -> str:
    return reverse(f"admin:fieldvisit_{model._meta.model_name}_{action}", args=args)


@pytest.fixture
def other_supervisor(world: Any) -> User:
    boss = factories.user("other_supervisor", Role.SUPERVISOR)
    world.other_team.supervisor = boss
    world.other_team.save()
    return boss


@pytest.fixture
def photo(agent: Any, visit: Any) -> tuple[Photo, bytes]:
    data = sideways_jpeg(visit)
    return add_photo(agent, visit, data), data


def test_the_teams_supervisor_sees_the_photos_with_thumbnails(
    world: Any, client: Client, photo: tuple[Photo, bytes]
) -> None:
    shot, _data = photo
    client.force_login(world.supervisor)
    response = client.get(url(Photo, "changelist"))
    assert response.status_code == 200
    assert [p.pk for p in response.context["cl"].result_list] == [shot.pk]
    html = response.content.decode()
    sources = re.findall(r'<img src="([^"]+)"', html)
    assert thumb_url(shot) in sources
    assert thumb_url(shot).endswith(f"/photo/{shot.pk}/thumbnail/")


def test_the_thumbnail_is_a_jpeg_turned_upright(
    world: Any, client: Client, photo: tuple[Photo, bytes]
) -> None:
    shot, data = photo
    assert (shot.width, shot.height) == (400, 200)  # as stored: sideways
    client.force_login(world.supervisor)
    response = client.get(thumb_url(shot))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    made = response.content
    assert made != data
    with Image.open(io.BytesIO(made)) as thumb:
        assert thumb.format == "JPEG"
        assert thumb.size == (200, 400)
        rgb = thumb.convert("RGB")
        top, bottom = rgb.getpixel((100, 20)), rgb.getpixel((100, 380))
    assert top[0] > 200 and top[2] < 60, top  # red on top
    assert bottom[2] > 200 and bottom[0] < 60, bottom  # blue below
    # Made once, then served from the cache: the same bytes again.
    assert client.get(thumb_url(shot)).content == made


def test_the_original_download_is_the_exact_bytes(
    world: Any, client: Client, photo: tuple[Photo, bytes]
) -> None:
    shot, data = photo
    client.force_login(world.supervisor)
    response = client.get(original_url(shot))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Content-Disposition"].startswith("attachment;")
    assert sha(data) in response["Content-Disposition"]
    assert b"".join(response.streaming_content) == data


def test_the_change_page_shows_the_photo_and_links_the_original(
    world: Any, client: Client, photo: tuple[Photo, bytes]
) -> None:
    shot, data = photo
    client.force_login(world.supervisor)
    response = client.get(url(Photo, "change", shot.pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<img src="{thumb_url(shot)}"' in html
    assert f'<a href="{original_url(shot)}">{sha(data)}</a>' in html


def test_a_supervisor_of_another_team_sees_none_of_it(
    client: Client, photo: tuple[Photo, bytes], other_supervisor: User
) -> None:
    shot, _data = photo
    client.force_login(other_supervisor)
    response = client.get(url(Photo, "changelist"))
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []
    assert thumb_url(shot) not in response.content.decode()
    assert client.get(thumb_url(shot)).status_code == 404
    assert client.get(original_url(shot)).status_code == 404
    # The change page treats it as missing too: back to the list.
    assert client.get(url(Photo, "change", shot.pk)).status_code == 302


def test_legal_sees_every_teams_photos(
    world: Any, client: Client, photo: tuple[Photo, bytes]
) -> None:
    shot, data = photo
    client.force_login(world.legal)
    assert client.get(thumb_url(shot)).status_code == 200
    assert b"".join(client.get(original_url(shot)).streaming_content) == data


def test_agents_are_sent_to_the_admin_login(
    world: Any, client: Client, photo: tuple[Photo, bytes]
) -> None:
    shot, _data = photo
    client.force_login(world.agent_a)
    for target in (thumb_url(shot), original_url(shot)):
        response = client.get(target)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


@pytest.fixture
def one_of_each(world: Any, agent: Any, visit: Any) -> dict[type[Model], Any]:
    """A photo and a receipt through the API, a recording row, and the files they cite."""
    shot = add_photo(agent, visit)
    form = {
        "id": str(uuid.uuid4()),
        "notice_number": visit.stop.notice_number,
        "outcome": "refused",
        "captured_at": iso(timezone.now()),
    }
    response = post_form(agent, receipts_url(visit), form)
    assert response.status_code == 201, response.content
    recording = Recording.objects.create(
        id=uuid.uuid4(), visit=visit, started_by=world.agent_a, created_at=timezone.now()
    )
    return {
        Photo: shot,
        Receipt: Receipt.objects.get(pk=form["id"]),
        Recording: recording,
        EvidenceFile: shot.file,
    }


def test_every_evidence_admin_refuses_add_change_and_delete(world: Any) -> None:
    request = type("Request", (), {"user": User(is_superuser=True, is_staff=True)})()
    for model in EVIDENCE_MODELS:
        model_admin = admin.site._registry[model]
        assert model_admin.has_add_permission(request) is False, model
        assert model_admin.has_change_permission(request) is False, model
        assert model_admin.has_delete_permission(request) is False, model
        assert model_admin.has_view_permission(request) is True, model


@pytest.mark.parametrize("model", EVIDENCE_MODELS, ids=lambda m: m.__name__)
def test_not_even_a_superuser_adds_changes_or_deletes_evidence(
    client: Client, one_of_each: dict[type[Model], Any], model: type[Model]
) -> None:
    client.force_login(User.objects.create_superuser("root", password="x"))
    record = one_of_each[model]
    rows = model._default_manager.count()

    listing = client.get(url(model, "changelist"))
    assert listing.status_code == 200
    assert record in listing.context["cl"].result_list
    html = listing.content.decode()
    assert url(model, "add") not in html
    assert "delete_selected" not in html

    change = client.get(url(model, "change", record.pk))
    assert change.status_code == 200
    html = change.content.decode()
    assert 'name="_save"' not in html
    assert 'name="_continue"' not in html
    assert url(model, "delete", record.pk) not in html

    assert client.get(url(model, "add")).status_code == 403
    assert client.post(url(model, "add"), {}).status_code == 403
    assert client.post(url(model, "change", record.pk), {}).status_code == 403
    assert client.get(url(model, "delete", record.pk)).status_code == 403
    assert client.post(url(model, "delete", record.pk), {"post": "yes"}).status_code == 403
    bulk = client.post(
        url(model, "changelist"),
        {"action": "delete_selected", "_selected_action": [record.pk], "post": "yes"},
    )
    assert bulk.status_code in (200, 302)
    assert model._default_manager.count() == rows
    assert model._default_manager.filter(pk=record.pk).exists()


def test_the_photo_changelist_queries_do_not_grow_with_photos(
    world: Any,
    agent: Any,
    visit: Any,
    client: Client,
    django_assert_max_num_queries: Any,
) -> None:
    add_photo(agent, visit)
    client.force_login(world.supervisor)
    # Session, user, the user's own and group permissions (a supervisor, not a superuser),
    # the user's roles (the team scope), the count, the page (agent, visit, stop, address,
    # case joined), the date hierarchy's min/max and distinct days.
    with django_assert_max_num_queries(9) as few:
        response = client.get(url(Photo, "changelist"))
    assert response.status_code == 200
    for _ in range(4):
        add_photo(agent, visit)
    with django_assert_max_num_queries(9) as many:
        response = client.get(url(Photo, "changelist"))
    assert response.context["cl"].result_count == 5
    assert len(many.captured_queries) == len(few.captured_queries)


def test_a_supervisor_opening_evidence_in_admin_is_logged(
    world: Any, client: Client, photo: tuple[Photo, bytes]
) -> None:
    from fieldvisit.models import EvidenceAccess

    shot, _ = photo
    client.force_login(world.supervisor)
    assert client.get(url(Photo, "change", shot.pk)).status_code == 200
    assert client.get(original_url(shot)).status_code == 200
    reads = EvidenceAccess.objects.filter(user=world.supervisor).order_by("at", "id")
    assert [(r.action, r.subject, r.via) for r in reads] == [
        ("photo", f"photo:{shot.pk}", "admin"),
        ("photo_original", f"photo:{shot.pk}", "admin"),
    ]
    # The auditor reads the log; nobody changes it.
    auditor = world.auditor
    auditor.is_staff = True
    auditor.save()
    client.force_login(auditor)
    page = client.get(reverse("admin:fieldvisit_evidenceaccess_changelist"))
    assert page.status_code == 200
    assert f"photo:{shot.pk}" in page.content.decode()
    assert client.post(url(EvidenceAccess, "delete", reads[0].pk)).status_code == 403
