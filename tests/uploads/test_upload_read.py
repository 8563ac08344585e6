"""The statements a PATCH runs (``queries.uploads``): the upload read with its visit's route and
team as the ORM would load them, and the lease taken and given back on the same conditions as
the ORM updates they replace."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fieldvisit.choices import UploadStatus
from fieldvisit.models import Upload, Visit
from fieldvisit.queries import uploads
from tests.helpers import audio, created, segment_meta, stops_of, upload_id

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def upload(agent: Any, world: Any) -> Upload:
    data = audio("recording_seg0.m4a")
    visit: Visit = stops_of(world.route)[0].visit
    return Upload.objects.get(pk=upload_id(created(agent, data, segment_meta(visit, data))))


def test_the_upload_comes_with_its_route_and_team_in_one_query(upload: Upload, world: Any) -> None:
    with CaptureQueriesContext(connection) as queries:
        read = uploads.owned_upload(upload.pk, world.agent_a.pk)
        assert read is not None
        route = read.visit.stop.route
        names = (route.pk, route.team.pk, route.team.supervisor_id, route.team.lead_id)
    assert len(queries) == 1
    assert names == (world.route.pk, world.team.pk, world.team.supervisor_id, world.team.lead_id)
    expected = Upload.objects.get(pk=upload.pk)
    for field in Upload._meta.concrete_fields:
        assert getattr(read, field.attname) == getattr(expected, field.attname), field.name
    assert read.visit_id == read.visit.pk and read.visit.stop.route_id == route.pk
    # The visit and the stop are read with their keys only; the rest loads if asked for.
    assert read.visit.get_deferred_fields() >= {"status"}


def test_another_users_upload_is_not_read(upload: Upload, world: Any) -> None:
    assert uploads.owned_upload(upload.pk, world.agent_b.pk) is None
    assert uploads.owned_upload(upload.pk, world.agent_a.pk) is not None


def _lease(upload: Upload) -> tuple[str, Any]:
    row = Upload.objects.values_list("lease", "lease_until").get(pk=upload.pk)
    return row[0], row[1]


def test_a_free_or_lapsed_lease_is_taken_and_a_live_one_is_not(upload: Upload) -> None:
    now = timezone.now()
    until = now + dt.timedelta(minutes=2)
    assert uploads.take_lease(upload.pk, "a" * 32, until, now=now)
    assert _lease(upload) == ("a" * 32, until)
    # Held until ``until``: nobody else gets it before, anyone after.
    assert not uploads.take_lease(upload.pk, "b" * 32, until, now=now)
    later = until + dt.timedelta(seconds=1)
    assert uploads.take_lease(upload.pk, "b" * 32, later + dt.timedelta(minutes=2), now=later)
    assert _lease(upload)[0] == "b" * 32


def test_the_lease_is_taken_only_at_the_offset_asked_for(upload: Upload) -> None:
    now = timezone.now()
    until = now + dt.timedelta(minutes=2)
    assert not uploads.take_lease(upload.pk, "a" * 32, until, offset=5, now=now)
    assert _lease(upload) == ("", None)
    assert uploads.take_lease(upload.pk, "a" * 32, until, offset=0, now=now)


def test_only_a_receiving_upload_is_leased(upload: Upload) -> None:
    Upload.objects.filter(pk=upload.pk).update(status=UploadStatus.EXPIRED)
    now = timezone.now()
    assert not uploads.take_lease(upload.pk, "a" * 32, now + dt.timedelta(minutes=2), now=now)


def test_a_dead_writers_lease_is_taken_over_only_if_it_is_still_that_one(upload: Upload) -> None:
    now = timezone.now()
    until = now + dt.timedelta(minutes=2)
    Upload.objects.filter(pk=upload.pk).update(lease="d" * 32, lease_until=until)
    assert not uploads.take_lease(upload.pk, "a" * 32, until, offset=0, over="e" * 32)
    assert uploads.take_lease(upload.pk, "a" * 32, until, offset=0, over="d" * 32)
    assert _lease(upload)[0] == "a" * 32


def test_the_lease_is_given_back_with_the_changes_only_by_its_holder(upload: Upload) -> None:
    now = timezone.now()
    expires = now + dt.timedelta(hours=5)
    assert uploads.take_lease(upload.pk, "a" * 32, now + dt.timedelta(minutes=2), now=now)

    uploads.release_lease(upload.pk, "b" * 32, offset=7, expires_at=expires)
    assert _lease(upload)[0] == "a" * 32
    assert Upload.objects.get(pk=upload.pk).offset == 0

    uploads.release_lease(upload.pk, "a" * 32, offset=7, expires_at=expires)
    after = Upload.objects.get(pk=upload.pk)
    assert (after.lease, after.lease_until, after.offset, after.expires_at) == (
        "",
        None,
        7,
        expires,
    )
