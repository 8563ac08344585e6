"""Every admin changelist loads, searches and filters, with a pinned number of queries.

The counts below are for a superuser (no permission queries) and do not depend on the number
of rows: the tests load each page with a few rows, add more of everything, and load it again
with the same bound (an N+1 guard). Each role's landing page is checked at the end.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import uuid
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.db.models import Model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from fieldvisit.actions import alerts, incidents
from fieldvisit.actions import routes as route_actions
from fieldvisit.actions.auth import issue_token, revoke_token
from fieldvisit.choices import AlertKind, RelationKind, Role
from fieldvisit.ledger import checkpoints, keys
from fieldvisit.models import (
    Address,
    Agency,
    AgencyAgreement,
    AgentProfile,
    AgentSuspension,
    Alert,
    AudioSegment,
    Case,
    CheckIn,
    Checkpoint,
    CheckpointTimestamp,
    Complaint,
    ContactPoint,
    Creditor,
    DeviceToken,
    EvidenceAccess,
    EvidenceFile,
    Incident,
    LedgerEntry,
    Photo,
    QualificationDocument,
    Receipt,
    Recording,
    Relation,
    ReportCosignature,
    Route,
    RouteChangeRequest,
    SigningKey,
    Team,
    Visit,
    VisitReport,
    VisitReview,
)
from tests import factories
from tests.helpers import World, approve, today

# Queries per changelist page. Every page starts with two:
#   session row, signed-in user.
# Then, per page:
QUERIES: dict[type[Model], int] = {
    # count (filtered), count (unfiltered, show_full_result_count), page of groups
    Group: 5,
    # groups for the "groups" filter, count, unfiltered count, page of users
    User: 6,
    # count, unfiltered count, page
    Creditor: 5,
    # creditors and teams for the two related filters, count, unfiltered count,
    # page of cases (creditor and team joined: list_select_related)
    Case: 7,
    # count, unfiltered count, page of addresses (case joined)
    Address: 5,
    # count, unfiltered count, page of relations (case joined)
    Relation: 5,
    # count, page of entries, the read in the evidence access log, distinct kinds for the
    # "kind" filter (show_full_result_count is off: the ledger grows without bound)
    LedgerEntry: 6,
    # count, unfiltered count, page (signing key joined)
    Checkpoint: 5,
    # count, unfiltered count, page (checkpoint joined); the "granted" filter needs none
    CheckpointTimestamp: 5,
    # count, unfiltered count, page
    SigningKey: 5,
    # count, unfiltered count, page (supervisor and risk manager joined)
    Team: 5,
    # teams for the "team" filter, count, unfiltered count, page (user, team and agency
    # joined), each agent's papers and agency agreements (two prefetches)
    AgentProfile: 8,
    # count, unfiltered count, page (agent and recorder joined), date hierarchy (min/max,
    # distinct years)
    QualificationDocument: 7,
    # count, unfiltered count, page
    Agency: 5,
    # count, unfiltered count, page (agency and recorder joined)
    AgencyAgreement: 5,
    # count, unfiltered count, page (user joined)
    DeviceToken: 5,
    # teams for the "team" filter, count, unfiltered count, page (team, planner, decider
    # joined; stop count annotated), date hierarchy: min/max date, distinct days
    Route: 8,
    # count, unfiltered count, page (route with team, requester, decider joined)
    RouteChangeRequest: 5,
    # teams for the "team" filter, count, unfiltered count, page (team and raiser joined)
    Alert: 6,
    # count, unfiltered count, page (user joined)
    ContactPoint: 5,
    # count, unfiltered count, page (agent, route with team, visit with address joined),
    # date hierarchy: min/max capture time, distinct days
    CheckIn: 7,
    # distinct actions and channels for the two filters, count, page (user joined),
    # date hierarchy: min/max time, distinct days
    EvidenceAccess: 8,
    # Evidence: show_full_result_count is off (it only grows).
    # count, page (agent, visit with stop, address and case joined), date hierarchy: min/max
    # capture time, distinct days
    Photo: 6,
    # count, page (agent, visit with stop, address and case joined), date hierarchy: min/max
    # capture time, distinct days
    Receipt: 6,
    # count, page (starter, visit with stop, address and case joined)
    Recording: 4,
    # count, page, distinct media types for the "media type" filter
    EvidenceFile: 5,
    # Visits, reports, reviews (show_full_result_count off): count, page (visit with route,
    # team, case and address; report with author, co-signer, correction and visit address;
    # review with reviewer, report and visit address joined)
    Visit: 4,
    VisitReport: 4,
    VisitReview: 4,
    # Conduct: teams for the "team" filter, count, unfiltered count, page (case, team and
    # decision joined; named agents and accounts counted)
    Incident: 6,
    # count, unfiltered count, page (agent, incident, suspender and lift joined)
    AgentSuspension: 5,
    # count, unfiltered count, page (case joined; answered annotated)
    Complaint: 5,
}


def changelist_url(model: type[Model]) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def populate(world: World, day: dt.date) -> None:
    """One more of everything the admin lists: a team with agents, a case with an address
    and relation, an approved route with a change request, tokens, a checkpoint, a key, and
    a visit's evidence (photos, a receipt, a recording and the files they cite)."""
    tag = secrets.token_hex(3)
    creditor = factories.creditor()
    team = Team.objects.create(name=f"Team {tag}", supervisor=world.supervisor)
    agency = Agency.objects.create(name=f"Agency {tag}")
    AgencyAgreement.objects.create(
        agency=agency,
        reference=f"AG-{tag}",
        issued_on=dt.date(2025, 1, 1),
        expires_on=dt.date(2099, 12, 31),
        recorded_by=world.supervisor,
        recorded_at=dt.datetime(2025, 1, 2, tzinfo=dt.UTC),
    )
    factories.oncall(team, world.supervisor, world.duty)
    ContactPoint.objects.create(user=world.duty, kind="email", value=f"{tag}@example.org")
    agents = [factories.agent(f"agent_{tag}_{n}", team) for n in range(2)]
    cases = [factories.case(team, creditor) for _ in range(2)]
    addresses = [factories.address(case, lat=31.2 + 0.001 * n) for n, case in enumerate(cases)]
    for case in cases:
        Relation.objects.create(case=case, name=f"Relation {tag}", kind=RelationKind.FAMILY)
    route = factories.route(team, world.planner, day, addresses)
    approve(route, world.planner, world.supervisor)
    route_actions.request_change(
        record_id=uuid.uuid4(),
        route_id=route.pk,
        by=agents[0],
        reason="Traffic",
        add_stops=[],
        skip_stops=[route.stops.order_by("sequence")[0].pk],
        order=[],
        fingerprint="0" * 64,
    )
    for agent in agents:
        _, token = issue_token(agent, f"phone-{tag}", "phone", "android")
    revoke_token(token.pk, world.supervisor, "lost")
    # The ledger's own key is published first; the row below stands for a key retired before
    # it (a key newer than the one on disk would be refused as a rotation not finished).
    keys.current_signing_key()
    SigningKey.objects.create(
        key_id=secrets.token_hex(8),
        public_key=secrets.token_bytes(32),
        valid_from=timezone.now() - dt.timedelta(days=365),
    )
    Group.objects.create(name=f"group {tag}").permissions.set([])
    stop = route.stops.select_related("visit", "address").order_by("sequence").last()
    moment = timezone.now()
    checkin = CheckIn.objects.create(
        id=uuid.uuid4(),
        route=route,
        stop=stop,
        visit=stop.visit,
        agent=agents[0],
        device_id=f"phone-{tag}",
        kind="arrive",
        lat=stop.address.lat,
        lon=stop.address.lon,
        accuracy_m=5,
        captured_at=moment,
        received_at=moment,
        request_sha256="0" * 64,
    )
    with transaction.atomic():
        alerts.raise_alert(
            kind=AlertKind.PANIC,
            team=team,
            detail="test",
            actor=alerts.SYSTEM,
            raised_by=agents[1],
            route=route,
            checkin=checkin,
        )
    add_evidence(stop.visit, agents, moment)
    add_report(stop.visit, agents, world.supervisor, moment)
    add_conduct(stop.visit, agents, world.supervisor)
    EvidenceAccess.objects.create(
        user=world.supervisor,
        action="visit",
        subject=f"visit:{stop.visit.pk}",
        at=moment,
        via="api",
    )
    checkpoint = checkpoints.make_checkpoint()
    # A failed time-stamp request (tests/ledger/test_timestamps.py asks a real authority).
    CheckpointTimestamp.objects.create(
        checkpoint=checkpoint, authority="http://127.0.0.1:9/tsr", requested_at=moment, error="x"
    )


def add_conduct(visit: Any, agents: list[User], supervisor: User) -> None:
    """An incident (a finding), a complaint and a lifted suspension about ``visit``."""
    incidents.open_finding(
        visit_id=visit.pk, rules=["no_disturbance"], summary="x", agents=agents, by=supervisor
    )
    incidents.record_complaint(
        incidents.ComplaintData("phone", "debtor", "Zhao", "", "", "disturbance", "x", visit=visit),
        by=supervisor,
    )
    root = User.objects.filter(is_superuser=True).first() or User.objects.create_superuser(
        "compliance_root", password="x"
    )
    suspension = incidents.suspend_agent(agents[1], reason="x", by=root)
    incidents.lift_suspension(suspension.pk, reason="x", by=root)


def add_report(visit: Any, agents: list[User], reviewer: User, moment: dt.datetime) -> None:
    """A co-signed, reviewed report for ``visit``, inserted directly (tests/reports covers
    the actions)."""
    report = VisitReport(
        id=uuid.uuid4(),
        visit=visit,
        author=agents[0],
        device_id="phone",
        outcome="no_answer",
        received_at=moment,
        request_sha256="0" * 64,
        did_not_enter_residence=True,
        no_cash_accepted=True,
        identity_shown=True,
        no_third_party_disclosure=True,
        opening_statement_recorded=True,
        closing_statement_recorded=True,
    )
    report.content_sha256 = report.compute_sha256()
    report.save()
    ReportCosignature.objects.create(
        report=report,
        agent=agents[1],
        device_id="phone",
        report_sha256=report.content_sha256,
        signed_at=moment,
    )
    VisitReview.objects.create(
        visit=visit, report=report, reviewer=reviewer, comment="Seen.", created_at=moment
    )


def add_evidence(visit: Any, agents: list[User], moment: dt.datetime) -> None:
    """Evidence rows for ``visit``, written directly: the changelists are about queries, and
    the actions need real transactions and files (tests/evidence covers those). The tables
    are append-only: rows are inserted, never changed."""

    def file(media_type: str) -> EvidenceFile:
        return EvidenceFile.objects.create(
            sha256=secrets.token_hex(32),
            size=1000 + secrets.randbelow(1000),
            crc32=secrets.randbelow(2**32),
            media_type=media_type,
            stored_at=moment,
        )

    captured: dict[str, Any] = {
        "visit": visit,
        "agent": agents[0],
        "device_id": "phone",
        "captured_at": moment,
        "received_at": moment,
        "lat": visit.stop.address.lat,
        "lon": visit.stop.address.lon,
        "request_sha256": "0" * 64,
    }
    for kind in ("door", "seal"):
        Photo.objects.create(
            id=uuid.uuid4(),
            file=file("image/jpeg"),
            kind=kind,
            partner_in_frame=kind == "door",
            width=64,
            height=48,
            flags=["lone_agent"],
            **captured,
        )
    Receipt.objects.create(
        id=uuid.uuid4(),
        notice_number=visit.stop.notice_number,
        outcome="signed_by_debtor",
        signer_name="Debtor",
        signature=file("image/png"),
        photo=file("image/jpeg"),
        **captured,
    )
    recording = Recording.objects.create(
        id=uuid.uuid4(), visit=visit, started_by=agents[0], created_at=moment
    )
    AudioSegment.objects.create(
        id=uuid.uuid4(),
        recording=recording,
        index=0,
        file=file("audio/mp4"),
        started_at=moment,
        duration_s=60,
        format="m4a",
        agent=agents[0],
        device_id="phone",
        received_at=moment,
    )


@pytest.fixture
def superuser_client(world: World, client: Client) -> Client:
    client.force_login(User.objects.create_superuser("root", password="x"))
    return client


def registered() -> list[type[Model]]:
    return list(admin.site._registry)


def test_every_registered_admin_has_a_pinned_query_count() -> None:
    assert set(registered()) == set(QUERIES)


@pytest.mark.parametrize("model", registered(), ids=lambda m: m.__name__)
def test_changelist_queries_do_not_grow_with_rows(
    world: World,
    superuser_client: Client,
    django_assert_max_num_queries: Any,
    model: type[Model],
) -> None:
    populate(world, today() + dt.timedelta(days=1))
    url = changelist_url(model)
    rows_before = model._default_manager.count()
    with django_assert_max_num_queries(QUERIES[model]) as few:
        response = superuser_client.get(url)
    assert response.status_code == 200

    for n in range(2, 6):
        populate(world, today() + dt.timedelta(days=n))
    assert model._default_manager.count() > rows_before
    with django_assert_max_num_queries(QUERIES[model]) as many:
        response = superuser_client.get(url)
    assert response.status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries)


@pytest.mark.parametrize("model", registered(), ids=lambda m: m.__name__)
def test_changelist_search(world: World, superuser_client: Client, model: type[Model]) -> None:
    populate(world, today() + dt.timedelta(days=1))
    if not admin.site._registry[model].search_fields:
        pytest.skip("no search box")
    for term in ["a", "1", "Huangpu", "不存在", "%_'\"", "x" * 300]:
        response = superuser_client.get(changelist_url(model), {"q": term})
        assert response.status_code == 200, term


def filter_links(html: str) -> list[str]:
    """The query strings of every choice in the filter sidebar and the date hierarchy."""
    links = []
    for block in re.findall(r'<nav id="changelist-filter".*?</nav>', html, re.S) + re.findall(
        r'<nav class="xfull">.*?</nav>', html, re.S
    ):
        links += re.findall(r'href="(\?[^"]+)"', block)
    return sorted({link.replace("&amp;", "&") for link in links})


@pytest.mark.parametrize(
    "model",
    [m for m in registered() if admin.site._registry[m].list_filter],
    ids=lambda m: m.__name__,
)
def test_changelist_filters(world: World, superuser_client: Client, model: type[Model]) -> None:
    populate(world, today() + dt.timedelta(days=1))
    url = changelist_url(model)
    links = filter_links(superuser_client.get(url).content.decode())
    assert links, "a changelist with list_filter shows filter choices"
    for link in links:
        response = superuser_client.get(url + link)
        # An invalid lookup would redirect to ?e=1; every offered choice must work.
        assert response.status_code == 200, link


def result_rows(response: Any) -> int:
    return response.context["cl"].result_count


def test_route_filters_select_the_right_rows(world: World, superuser_client: Client) -> None:
    populate(world, today() + dt.timedelta(days=1))
    url = changelist_url(Route)
    assert result_rows(superuser_client.get(url, {"status__exact": "approved"})) == 2
    assert result_rows(superuser_client.get(url, {"status__exact": "draft"})) == 0
    response = superuser_client.get(url, {"team__id__exact": world.team.pk})
    assert result_rows(response) == 1
    assert result_rows(superuser_client.get(url, {"q": world.route.stops.first().notice_number}))


def test_ledger_filter_and_search(world: World, superuser_client: Client) -> None:
    url = changelist_url(LedgerEntry)
    expected = LedgerEntry.objects.filter(kind="route.approved").count()
    assert expected == 1
    response = superuser_client.get(url, {"kind": "route.approved"})
    assert response.status_code == 200
    assert [entry.kind for entry in response.context["cl"].result_list] == ["route.approved"]
    response = superuser_client.get(url, {"q": f"route:{world.route.pk}"})
    assert {e.kind for e in response.context["cl"].result_list} == {
        "route.submitted",
        "route.approved",
    }


# --- each role's landing -------------------------------------------------------------------


def app_links(html: str) -> set[str]:
    return set(re.findall(r'href="(/admin/fieldvisit/[a-z]+/)"', html))


def test_planner_landing(world: World, client: Client) -> None:
    client.force_login(world.planner)
    html = client.get(reverse("admin:index")).content.decode()
    links = app_links(html)
    assert changelist_url(Route) in links
    assert changelist_url(Case) in links
    assert changelist_url(LedgerEntry) not in links
    assert changelist_url(DeviceToken) not in links
    assert client.get(changelist_url(Route)).status_code == 200
    assert client.get(changelist_url(LedgerEntry)).status_code == 403
    assert client.get(reverse("admin:fieldvisit_route_add")).status_code == 200


def test_legal_landing(world: World, client: Client) -> None:
    client.force_login(world.legal)
    html = client.get(reverse("admin:index")).content.decode()
    links = app_links(html)
    assert {changelist_url(Case), changelist_url(LedgerEntry), changelist_url(Route)} <= links
    assert changelist_url(Team) not in links
    assert reverse("admin:fieldvisit_route_add") not in html
    assert client.get(changelist_url(Case)).status_code == 200
    assert client.get(changelist_url(LedgerEntry)).status_code == 200
    assert client.get(reverse("admin:fieldvisit_route_add")).status_code == 403
    assert client.get(reverse("admin:fieldvisit_case_add")).status_code == 403
    response = client.post(
        reverse("admin:fieldvisit_route_add"),
        {"team": world.team.pk, "date": (today() + dt.timedelta(days=1)).isoformat()},
    )
    assert response.status_code == 403
    assert Route.objects.count() == 1


def test_supervisor_landing(world: World, client: Client) -> None:
    client.force_login(world.supervisor)
    links = app_links(client.get(reverse("admin:index")).content.decode())
    assert {
        changelist_url(Route),
        changelist_url(RouteChangeRequest),
        changelist_url(DeviceToken),
        changelist_url(LedgerEntry),
    } <= links
    assert client.get(reverse("admin:fieldvisit_route_add")).status_code == 403


def test_auditor_landing(world: World, client: Client) -> None:
    client.force_login(world.auditor)
    links = app_links(client.get(reverse("admin:index")).content.decode())
    assert {changelist_url(LedgerEntry), changelist_url(Checkpoint), changelist_url(Route)} <= links
    assert client.get(reverse("admin:fieldvisit_creditor_add")).status_code == 403


def test_agent_cannot_use_admin(world: World, client: Client) -> None:
    response = client.post(
        reverse("admin:login"),
        {"username": "agent_a", "password": factories.PASSWORD, "next": "/admin/"},
    )
    assert response.status_code == 200  # the form again, with an error
    assert "staff account" in response.content.decode()
    assert "_auth_user_id" not in client.session

    client.force_login(world.agent_a)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert client.get(changelist_url(Route)).status_code == 302


def test_fixture_rows_exist(world: World) -> None:
    """The populated pages above list real rows of every kind."""
    populate(world, today() + dt.timedelta(days=1))
    for model in (
        Creditor,
        Case,
        Address,
        Relation,
        AgentProfile,
        Checkpoint,
        RouteChangeRequest,
        Photo,
        Receipt,
        Recording,
        AudioSegment,
        EvidenceFile,
    ):
        assert model._default_manager.exists(), model
    assert DeviceToken.objects.filter(revoked_at__isnull=False).exists()
    assert Role.PLANNER in Group.objects.values_list("name", flat=True)
