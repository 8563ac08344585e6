"""Who reads which ledger entries: legal and auditors the whole ledger,
a supervisor only the entries about the teams they oversee, through the API and admin; and
every read, of an entry, its proof or a page of the ledger, is in the evidence access log.

The scene's records belong to the fixture team (overseen by ``world.supervisor``) but for
the outsider's panic, the other team's, overseen by a second supervisor here.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from fieldvisit.choices import Role
from fieldvisit.models import (
    Alert,
    EvidenceAccess,
    EvidenceFile,
    LedgerEntry,
    Photo,
    Receipt,
    Recording,
)
from tests import factories
from tests.authz.scene import Scene

pytestmark = pytest.mark.django_db(transaction=True)

ENTRY = "/api/v1/ledger/entries/{}/"
PROOF = "/api/v1/ledger/proof/?entry={}"


@pytest.fixture
def other_supervisor(scene: Scene) -> Any:
    """The supervisor of the other team (the outsider's)."""
    boss = factories.user("other_supervisor", Role.SUPERVISOR)
    scene.world.other_team.supervisor = boss
    scene.world.other_team.save()
    return boss


@pytest.fixture
def foreign(scene: Scene) -> LedgerEntry:
    """The outsider's panic: an entry about the other team, with a position."""
    return LedgerEntry.objects.get(kind="alert.raised", subject=f"alert:{scene.foreign_alert.pk}")


def team_entries(scene: Scene) -> dict[str, LedgerEntry]:
    """One entry of the fixture team for each kind of subject: its route, its visits (a
    check-in, a photo, a receipt, an audio segment, a report), its alert, its agent."""
    w = scene.world
    visit = f"visit:{scene.closed.pk}"
    wanted = {
        "route.approved": f"route:{w.route.pk}",
        "route_change.requested": f"route:{w.route.pk}",
        "checkin.arrive": visit,
        "photo.added": visit,
        "receipt.recorded": visit,
        "recording.segment_added": visit,
        "report.filed": visit,
        "alert.raised": f"alert:{scene.alert.pk}",
        "token.issued": f"user:{w.agent_a.pk}",
    }
    return {
        kind: LedgerEntry.objects.filter(kind=kind, subject=subject).earliest("index")
        for kind, subject in wanted.items()
    }


def legal_token(scene: Scene) -> LedgerEntry:
    """An entry about no team: legal's own device token."""
    scene.api("legal")
    return LedgerEntry.objects.filter(subject=f"user:{scene.world.legal.pk}").earliest("index")


def api_for(scene: Scene, user: Any) -> Any:
    return scene.world.client(user, "device")


@pytest.mark.parametrize("path", [ENTRY, PROOF])
def test_a_supervisor_reads_only_entries_about_their_teams(
    scene: Scene, other_supervisor: Any, foreign: LedgerEntry, path: str
) -> None:
    w = scene.world
    ours = team_entries(scene)
    theirs = api_for(scene, other_supervisor)
    for kind, entry in ours.items():
        response = theirs.get(path.format(entry.index))
        assert response.status_code == 404, (kind, response.content)
        assert response.json()["code"] == "not_found"
        assert "entry_b64" not in response.json()
    shown = theirs.get(path.format(foreign.index))
    assert shown.status_code == 200, shown.content
    assert base64.b64decode(shown.json()["entry_b64"]) == bytes(foreign.entry_bytes)

    mine = api_for(scene, w.supervisor)
    for kind, entry in ours.items():
        response = mine.get(path.format(entry.index))
        assert response.status_code == 200, (kind, response.content)
        assert base64.b64decode(response.json()["entry_b64"]) == bytes(entry.entry_bytes)
    assert mine.get(path.format(foreign.index)).status_code == 404
    assert mine.get(path.format(legal_token(scene).index)).status_code == 404

    # Legal and auditors read the whole ledger.
    for reader in (w.legal, w.auditor):
        api = api_for(scene, reader)
        for entry in [*ours.values(), foreign, legal_token(scene)]:
            assert api.get(path.format(entry.index)).status_code == 200, (reader, entry)


def test_proofs_of_hashes_alone_stay_open(scene: Scene, other_supervisor: Any) -> None:
    """Consistency proofs and checkpoints carry no entry: every ledger reader has them."""
    api = api_for(scene, other_supervisor)
    assert api.get("/api/v1/ledger/consistency/?first=1&second=5").status_code == 200
    assert api.get("/api/v1/ledger/checkpoint/").status_code == 200


def test_every_ledger_read_through_the_api_is_logged(
    scene: Scene, other_supervisor: Any, foreign: LedgerEntry
) -> None:
    w = scene.world
    photo = team_entries(scene)["photo.added"]
    for reader in (w.supervisor, w.legal, w.auditor):
        api = api_for(scene, reader)
        assert api.get(ENTRY.format(photo.index)).status_code == 200
        assert api.get(PROOF.format(photo.index)).status_code == 200
        reads = EvidenceAccess.objects.filter(user=reader).order_by("at", "id")
        assert [(r.action, r.subject, r.via) for r in reads] == [
            ("ledger_entry", f"ledger:{photo.index}", "api"),
            ("ledger_proof", f"ledger:{photo.index}", "api"),
        ], reader
    # A refused read reads nothing, and says so nowhere.
    api = api_for(scene, other_supervisor)
    assert api.get(ENTRY.format(photo.index)).status_code == 404
    assert api.get(PROOF.format(photo.index)).status_code == 404
    assert not EvidenceAccess.objects.filter(user=other_supervisor).exists()


def browser(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def listed(client: Client, name: str) -> list[Any]:
    response = client.get(reverse(f"admin:fieldvisit_{name}_changelist"))
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def test_the_admin_ledger_shows_a_supervisor_only_their_teams(
    scene: Scene,
    other_supervisor: Any,
    foreign: LedgerEntry,
    django_assert_max_num_queries: Any,
) -> None:
    w = scene.world
    ours = team_entries(scene)
    theirs = browser(other_supervisor)
    with django_assert_max_num_queries(LEDGER_PAGE_QUERIES):
        rows = listed(theirs, "ledgerentry")
    assert foreign in rows
    assert not {e.index for e in rows} & {e.index for e in ours.values()}
    assert {e.subject.split(":")[0] for e in rows} <= {"alert", "user", "route", "visit"}
    for entry in ours.values():
        page = theirs.get(reverse("admin:fieldvisit_ledgerentry_change", args=[entry.index]))
        assert page.status_code == 302  # "does not exist": back to the index

    mine = browser(w.supervisor)
    with django_assert_max_num_queries(LEDGER_PAGE_QUERIES):
        rows = listed(mine, "ledgerentry")
    assert foreign not in rows
    assert set(ours.values()) <= set(rows)
    page = mine.get(reverse("admin:fieldvisit_ledgerentry_change", args=[foreign.index]))
    assert page.status_code == 302

    for reader in (w.legal, w.auditor):
        reader.is_staff = True
        reader.save()
        rows = listed(browser(reader), "ledgerentry")
        assert foreign in rows and set(ours.values()) <= set(rows)


# Session, user, the user's permissions (own and groups'), roles, the count, the page (all
# three with the team scope as subqueries), the distinct kinds of the "kind" filter, and
# the access log's row.
LEDGER_PAGE_QUERIES = 9


def test_admin_ledger_reads_are_logged(scene: Scene, foreign: LedgerEntry) -> None:
    """Every person's reads, auditors' too: a court asks who read what, not only overseers."""
    w = scene.world
    photo = team_entries(scene)["photo.added"]
    w.auditor.is_staff = True
    w.auditor.save()
    for reader in (w.supervisor, w.auditor):
        mine = browser(reader)
        rows = listed(mine, "ledgerentry")
        page = mine.get(reverse("admin:fieldvisit_ledgerentry_change", args=[photo.index]))
        assert page.status_code == 200
        reads = EvidenceAccess.objects.filter(user=reader).order_by("at", "id")
        indexes = [e.index for e in rows]
        assert [(r.action, r.subject, r.via) for r in reads] == [
            ("ledger_list", f"ledger:{min(indexes)}-{max(indexes)}", "admin"),
            ("ledger_entry", f"ledger:{photo.index}", "admin"),
        ], reader


def scene_files(scene: Scene) -> set[str]:
    photo = Photo.objects.get()
    receipt = Receipt.objects.get()
    segments = Recording.objects.get().segments.all()
    return {
        photo.file_id,
        *(f for f in (receipt.signature_id, receipt.photo_id) if f),
        *(s.file_id for s in segments),
    }


def test_the_evidence_file_list_shows_a_supervisor_only_their_teams_files(
    scene: Scene, other_supervisor: Any, django_assert_max_num_queries: Any
) -> None:
    w = scene.world
    files = scene_files(scene)
    assert files and EvidenceFile.objects.filter(pk__in=files).count() == len(files)
    theirs = browser(other_supervisor)
    with django_assert_max_num_queries(FILE_PAGE_QUERIES):
        assert listed(theirs, "evidencefile") == []
    some = sorted(files)[0]
    url = reverse("admin:fieldvisit_evidencefile_change", args=[some])
    assert theirs.get(url).status_code == 302

    mine = browser(w.supervisor)
    with django_assert_max_num_queries(FILE_PAGE_QUERIES):
        assert {f.sha256 for f in listed(mine, "evidencefile")} == files
    assert mine.get(url).status_code == 200
    (read,) = EvidenceAccess.objects.filter(user=w.supervisor)
    assert (read.action, read.subject, read.via) == (
        "evidencefile",
        f"evidencefile:{some}",
        "admin",
    )


# Session, user, permissions (own and groups'), roles, the count, the page, the distinct
# media types of the filter.
FILE_PAGE_QUERIES = 8


def test_planning_every_team_shows_a_supervisor_no_other_teams_evidence(
    scene: Scene, foreign: LedgerEntry
) -> None:
    """A planner who also supervises another team: planning gives them every team's cases
    and routes, not every team's evidence, ledger entries or live board."""
    w = scene.world
    boss = factories.user("planning_boss", Role.PLANNER, Role.SUPERVISOR)
    w.other_team.supervisor = boss
    w.other_team.save()
    client = browser(boss)
    for name in ("photo", "receipt", "recording", "evidencefile"):
        assert listed(client, name) == [], name
    rows = listed(client, "ledgerentry")
    assert foreign in rows
    assert not {e.index for e in rows} & {e.index for e in team_entries(scene).values()}
    board = client.get("/admin/operations/feed/").json()
    assert {row["team"] for row in board["teams"]} == {w.other_team.name}
    assert Alert.objects.filter(team=w.team).exists()
    api = api_for(scene, boss)
    photo = team_entries(scene)["photo.added"]
    assert api.get(ENTRY.format(photo.index)).status_code == 404
    assert api.get(ENTRY.format(foreign.index)).status_code == 200
    # Planning still covers every team.
    assert listed(client, "route")


TEAM_OF = {
    "visit": lambda row: row.stop.route.team_id,
    "visitreport": lambda row: row.visit.stop.route.team_id,
    "alert": lambda row: row.team_id,
    "checkin": lambda row: row.route.team_id,
    "devicetoken": lambda row: row.user.agent_profile.team_id,
}


def test_planning_every_team_shows_no_other_teams_visits_alerts_or_devices(
    scene: Scene,
) -> None:
    w = scene.world
    boss = factories.user("planning_boss", Role.PLANNER, Role.SUPERVISOR)
    w.other_team.supervisor = boss
    w.other_team.save()
    client = browser(boss)
    leaking = {
        name: count
        for name, team_of in TEAM_OF.items()
        if (count := sum(team_of(row) == w.team.pk for row in listed(client, name)))
    }
    assert leaking == {}
