"""Legal reads what it downloads (issue 22, item 3): the visits of the cases they take to
court (each read logged), and a case's evidence as one chronological timeline beside the
per-kind lists."""

from __future__ import annotations

import datetime as dt

import pytest

from fieldvisit.models import EvidenceAccess, Visit
from tests.helpers import World

pytestmark = pytest.mark.django_db


def test_legal_reads_a_visit_and_its_recording_and_each_read_is_logged(
    world: World, evidenced_visit: Visit
) -> None:
    legal = world.client(world.legal, "desk")
    answer = legal.get(f"/api/v1/visits/{evidenced_visit.pk}/")
    assert answer.status_code == 200 and answer.json()["id"] == str(evidenced_visit.pk)
    assert legal.get(f"/api/v1/visits/{evidenced_visit.pk}/recording/").status_code == 200
    reads = EvidenceAccess.objects.filter(user=world.legal).values_list("action", "subject")
    assert set(reads) >= {
        ("visit", f"visit:{evidenced_visit.pk}"),
        ("recording", f"visit:{evidenced_visit.pk}"),
    }


def test_the_case_evidence_has_one_timeline_in_time_order(
    world: World, evidenced_visit: Visit
) -> None:
    legal = world.client(world.legal, "desk")
    case = evidenced_visit.stop.case
    answer = legal.get(f"/api/v1/cases/{case.pk}/evidence/").json()
    timeline = answer["timeline"]
    kinds = [item["kind"] for item in timeline]
    visit = answer["visits"][0]
    # Everything in the per-kind lists is on the timeline, once.
    assert kinds.count("checkin") == len(visit["checkins"])
    assert kinds.count("photo") == len(visit["photos"]) == 1
    assert kinds.count("segment") == len(visit["recording"]["segments"]) == 3
    assert kinds.count("receipt") == 1 and kinds.count("report") == 1
    times = [dt.datetime.fromisoformat(item["at"]) for item in timeline]
    assert times == sorted(times)
    assert kinds[0] == "segment"  # the recording began before the arrivals
    assert all(item["visit"] == str(evidenced_visit.pk) for item in timeline)
    assert "leave by agent_b" in [item["summary"] for item in timeline]


def test_a_case_search_is_logged(world: World, evidenced_visit: Visit) -> None:
    """The search answers with full ID numbers: whose cases it showed is logged, as the
    operation's description says; not what was searched for (an ID number, a name), which the
    access log would keep for ever."""
    legal = world.client(world.legal, "desk")
    case = evidenced_visit.stop.case
    assert legal.get("/api/v1/cases/", {"q": case.debtor_id_number}).json()["count"] == 1
    reads = EvidenceAccess.objects.filter(user=world.legal).values_list("action", "subject")
    assert list(reads) == [("case_search", f"case:{case.pk}")]
    assert not EvidenceAccess.objects.filter(subject__contains=case.debtor_id_number).exists()
