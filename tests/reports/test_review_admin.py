"""Supervisor review in admin: a "Review" page on a reported visit records an append-only
review with a comment and a ledger entry; visits, reports and reviews are read-only."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db.models import Model
from django.test import Client
from django.urls import reverse

from fieldvisit.actions import reports as actions
from fieldvisit.choices import Role
from fieldvisit.models import (
    Alert,
    LedgerEntry,
    ReportCosignature,
    Visit,
    VisitReport,
    VisitReview,
)
from fieldvisit.rules import RuleViolation
from tests import factories
from tests.helpers import ATTESTATIONS, approve, cosign, file_report, ledger_entries, report_body

pytestmark = pytest.mark.django_db


def review_url(visit: Any) -> str:
    return reverse("admin:fieldvisit_visit_review", args=[visit.pk])


def change_url(model: type[Model], pk: Any) -> str:
    return reverse(f"admin:fieldvisit_{model._meta.model_name}_change", args=[pk])


def changelist_url(model: type[Model]) -> str:
    return reverse(f"admin:fieldvisit_{model._meta.model_name}_changelist")


@pytest.fixture
def supervisor(world: Any, client: Client) -> Client:
    client.force_login(world.supervisor)
    return client


def signed_in(user: User) -> Client:
    browser = Client()
    browser.force_login(user)
    return browser


def test_the_supervisor_reviews_a_reported_visit(
    world: Any, cosigned: dict[str, Any], closed_visit: Any, supervisor: Client
) -> None:
    page = supervisor.get(change_url(Visit, closed_visit.pk))
    assert page.status_code == 200
    assert review_url(closed_visit) in page.content.decode()

    page = supervisor.get(review_url(closed_visit))
    assert page.status_code == 200
    html = page.content.decode()
    assert cosigned["notes"] in html
    assert cosigned["content_sha256"] in html
    assert "agent_b" in html  # the co-signer
    assert "Report filed and co-signed" in html  # the compliance verdict, in words
    assert " by supervisor." in html and "by user " not in html  # the approver, by name

    # A comment is required: nothing is recorded without one.
    for blank in ("", "   "):
        page = supervisor.post(review_url(closed_visit), {"comment": blank})
        assert page.status_code == 200
        assert page.context["form"].errors == {"comment": ["This field is required."]}
    assert VisitReview.objects.count() == 0

    response = supervisor.post(review_url(closed_visit), {"comment": " Recording checked. "})
    assert response.status_code == 302
    assert response["Location"] == change_url(Visit, closed_visit.pk)

    review = VisitReview.objects.get()
    assert (review.visit_id, review.reviewer, review.comment) == (
        closed_visit.pk,
        world.supervisor,
        "Recording checked.",
    )
    assert str(review.report_id) == cosigned["id"]
    assert Visit.objects.get(pk=closed_visit.pk).status == "reviewed"
    (entry,) = ledger_entries("visit.reviewed")
    assert entry["subject"] == f"visit:{closed_visit.pk}"
    assert entry["actor"]["username"] == "supervisor"
    assert entry["data"]["review"] == str(review.pk)
    assert entry["data"]["report"] == cosigned["id"]
    assert entry["data"]["report_sha256"] == cosigned["content_sha256"]
    assert entry["data"]["comment"] == "Recording checked."
    assert entry["data"]["visit_status"] == {"from": "reported", "to": "reviewed"}

    # The API shows the visit as reviewed.
    shown = world.client(world.agent_a, "phone-a").get(f"/api/v1/visits/{closed_visit.pk}/")
    assert shown.json()["status"] == "reviewed"


def test_a_second_review_is_a_new_record(
    world: Any, cosigned: dict[str, Any], closed_visit: Any, supervisor: Client
) -> None:
    first = actions.review_visit(closed_visit.pk, world.supervisor, "First look.")
    assert supervisor.post(review_url(closed_visit), {"comment": "Second look."}).status_code == 302
    reviews = list(VisitReview.objects.order_by("created_at"))
    assert [r.comment for r in reviews] == ["First look.", "Second look."]
    assert reviews[0].pk == first.pk
    assert LedgerEntry.objects.filter(kind="visit.reviewed").count() == 2
    entries = ledger_entries("visit.reviewed")
    assert entries[1]["data"]["visit_status"] is None  # already reviewed


def test_only_a_cosigned_report_is_reviewed(
    world: Any, closed_visit: Any, phone_a: Any, supervisor: Client
) -> None:
    with pytest.raises(RuleViolation) as refused:
        actions.review_visit(closed_visit.pk, world.supervisor, "Nothing yet.")
    assert refused.value.code == "visit_not_reported"

    file_report(phone_a, closed_visit)  # filed, not co-signed
    page = supervisor.get(change_url(Visit, closed_visit.pk))
    assert review_url(closed_visit) not in page.content.decode()
    page = supervisor.get(review_url(closed_visit))
    assert page.status_code == 200
    assert "no co-signed report to review" in page.content.decode()
    response = supervisor.post(review_url(closed_visit), {"comment": "Looks fine."}, follow=True)
    assert "no co-signed report to review" in response.content.decode()
    assert VisitReview.objects.count() == 0
    assert Visit.objects.get(pk=closed_visit.pk).status == "closed"


def test_the_action_requires_a_comment(
    world: Any, cosigned: dict[str, Any], closed_visit: Any
) -> None:
    with pytest.raises(RuleViolation) as refused:
        actions.review_visit(closed_visit.pk, world.supervisor, "  \n ")
    assert refused.value.code == "comment_required"
    assert VisitReview.objects.count() == 0


def test_only_the_teams_supervisors_review(
    world: Any, cosigned: dict[str, Any], closed_visit: Any
) -> None:
    # Staff who see every team (legal, auditors) may read the visit but not review it.
    for user in (world.legal, world.auditor):
        browser = signed_in(user)
        assert browser.get(change_url(Visit, closed_visit.pk)).status_code == 200
        assert browser.get(review_url(closed_visit)).status_code == 403
        assert browser.post(review_url(closed_visit), {"comment": "x"}).status_code == 403
        with pytest.raises(RuleViolation) as refused:
            actions.review_visit(closed_visit.pk, user, "x")
        assert refused.value.code == "permission_denied"

    # Another team's supervisor does not even find the visit.
    other = factories.user("other_supervisor", Role.SUPERVISOR)
    world.other_team.supervisor = other
    world.other_team.save()
    browser = signed_in(other)
    assert browser.get(change_url(Visit, closed_visit.pk)).status_code == 302  # not found
    assert browser.get(review_url(closed_visit)).status_code == 404
    with pytest.raises(RuleViolation) as refused:
        actions.review_visit(closed_visit.pk, other, "x")
    assert refused.value.code == "permission_denied"

    # A superuser is not the team's supervisor: they see it but do not review it.
    root = signed_in(User.objects.create_superuser("root", password="x"))
    assert root.get(review_url(closed_visit)).status_code == 403

    # Agents never get into admin.
    assert signed_in(world.agent_a).get(review_url(closed_visit)).status_code == 302
    assert VisitReview.objects.count() == 0


def test_the_risk_manager_of_the_team_reviews_too(
    world: Any, cosigned: dict[str, Any], closed_visit: Any
) -> None:
    manager = factories.user("risk_manager", Role.SUPERVISOR)
    world.team.risk_manager = manager
    world.team.save()
    response = signed_in(manager).post(review_url(closed_visit), {"comment": "Fine."})
    assert response.status_code == 302
    assert VisitReview.objects.get().reviewer == manager


def test_a_correction_after_review_is_reviewed_again(
    world: Any,
    cosigned: dict[str, Any],
    closed_visit: Any,
    phone_a: Any,
    phone_b: Any,
    supervisor: Client,
) -> None:
    first_review = actions.review_visit(closed_visit.pk, world.supervisor, "First report fine.")
    correction = file_report(phone_b, closed_visit, report_body(corrects=cosigned["id"])).json()
    visit = Visit.objects.get(pk=closed_visit.pk)
    assert visit.status == "closed"
    # Received after the review: the supervisors are alerted, and the ledger says so.
    (reopened,) = ledger_entries("visit.review_reopened")
    assert reopened["data"]["review"] == str(first_review.pk)
    assert reopened["data"]["received"] == {"kind": "report", "id": correction["id"]}
    assert reopened["data"]["visit_status"] == {"from": "reviewed", "to": "closed"}
    alert = Alert.objects.get(kind="late_evidence")
    assert (alert.visit_id, str(alert.pk)) == (visit.pk, reopened["data"]["alert"])
    page = supervisor.get(change_url(Visit, visit.pk))
    assert review_url(visit) not in page.content.decode()

    assert cosign(phone_a, closed_visit).status_code == 200
    assert Visit.objects.get(pk=closed_visit.pk).status == "reported"
    second_review = actions.review_visit(closed_visit.pk, world.supervisor, "Correction fine.")
    assert str(second_review.report_id) == correction["id"]
    assert str(VisitReview.objects.get(pk=first_review.pk).report_id) == cosigned["id"]
    assert Visit.objects.get(pk=closed_visit.pk).status == "reviewed"


# --- read-only pages ------------------------------------------------------------------------


def test_visits_reports_and_reviews_are_read_only(
    world: Any, cosigned: dict[str, Any], closed_visit: Any, supervisor: Client
) -> None:
    review = actions.review_visit(closed_visit.pk, world.supervisor, "Seen.")
    report = VisitReport.objects.get()
    for model, pk in ((Visit, closed_visit.pk), (VisitReport, report.pk), (VisitReview, review.pk)):
        page = supervisor.get(change_url(model, pk))
        assert page.status_code == 200, model
        html = page.content.decode()
        assert 'name="_save"' not in html, model
        assert supervisor.post(change_url(model, pk), {}).status_code == 403, model
        delete = reverse(f"admin:fieldvisit_{model._meta.model_name}_delete", args=[pk])
        assert supervisor.get(delete).status_code == 403, model
        add = reverse(f"admin:fieldvisit_{model._meta.model_name}_add")
        assert supervisor.get(add).status_code == 403, model

    html = supervisor.get(change_url(VisitReport, report.pk)).content.decode()
    assert report.content_sha256 in html
    assert "agent_b" in html
    assert VisitReport.objects.get().notes == report.notes


def test_the_supervisors_landing_lists_visits_reports_and_reviews(
    world: Any, supervisor: Client
) -> None:
    html = supervisor.get(reverse("admin:index")).content.decode()
    for model in (Visit, VisitReport, VisitReview):
        assert changelist_url(model) in html, model


# --- changelists: a fixed number of queries -------------------------------------------------


def reported_visit(world: Any, day: dt.date) -> Visit:
    """Another approved route with one visit, reported, co-signed and reviewed. Rows are
    inserted directly: the changelists are about queries (the API tests cover the rules)."""
    case = factories.case(world.team, world.creditor)
    route = factories.route(world.team, world.planner, day, [factories.address(case)])
    approve(route, world.planner, world.supervisor)
    visit = Visit.objects.get(stop__route=route)
    moment = dt.datetime.combine(day, dt.time(10), tzinfo=dt.UTC)
    report = VisitReport(
        id=uuid.uuid4(),
        visit=visit,
        author=world.agent_a,
        device_id="phone-a",
        outcome="no_answer",
        notes="Nobody home.",
        received_at=moment,
        request_sha256="0" * 64,
        **ATTESTATIONS,
    )
    report.content_sha256 = report.compute_sha256()
    report.save()
    ReportCosignature.objects.create(
        report=report,
        agent=world.agent_b,
        device_id="phone-b",
        report_sha256=report.content_sha256,
        signed_at=moment,
    )
    VisitReview.objects.create(
        visit=visit, report=report, reviewer=world.supervisor, comment="Seen.", created_at=moment
    )
    return visit


# Queries per changelist page for the team's supervisor (session, user, the user's
# permissions, then per page): count, page of rows with what they show joined.
QUERIES = {Visit: 7, VisitReport: 7, VisitReview: 7}


@pytest.mark.parametrize("model", [Visit, VisitReport, VisitReview], ids=lambda m: m.__name__)
def test_changelists_take_a_fixed_number_of_queries(
    world: Any, supervisor: Client, model: type[Model], django_assert_max_num_queries: Any
) -> None:
    reported_visit(world, world.route.date + dt.timedelta(days=1))
    url = changelist_url(model)
    with django_assert_max_num_queries(QUERIES[model]) as few:
        response = supervisor.get(url)
    assert response.status_code == 200
    assert response.context["cl"].result_count >= 1

    for n in range(2, 6):
        reported_visit(world, world.route.date + dt.timedelta(days=n))
    with django_assert_max_num_queries(QUERIES[model]) as many:
        response = supervisor.get(url)
    assert response.status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries)
    for term in ("a", "Nobody", "不存在", "%_'\"", "x" * 300):
        assert supervisor.get(url, {"q": term}).status_code == 200, term


def test_changelists_show_only_the_supervisors_teams(world: Any) -> None:
    reported_visit(world, world.route.date + dt.timedelta(days=1))
    other = factories.user("other_supervisor", Role.SUPERVISOR)
    browser = signed_in(other)
    for model in (Visit, VisitReport, VisitReview):
        response = browser.get(changelist_url(model))
        assert response.status_code == 200
        assert response.context["cl"].result_count == 0, model


def test_the_visit_page_shows_its_report_verdict_and_last_review_from_one_read(
    world: Any,
    cosigned: dict[str, Any],
    closed_visit: Any,
    supervisor: Client,
    django_assert_max_num_queries: Any,
) -> None:
    actions.review_visit(closed_visit.pk, world.supervisor, "Recording checked.")
    with django_assert_max_num_queries(40) as page_queries:
        page = supervisor.get(change_url(Visit, closed_visit.pk))
    assert page.status_code == 200
    html = page.content.decode()
    for label in ("Current report:", "Compliance:", "Last review:"):
        assert label in html
    assert cosigned["id"] in html  # the current report, linked
    assert "Report filed and co-signed" in html and "Door photo with the partner" in html
    assert "Reviewed " in html and "by supervisor" in html  # and the review's own verdict
    # The visit's records are read once for the three: one query for its current report.
    report_reads = [
        q["sql"]
        for q in page_queries.captured_queries
        if 'FROM "fieldvisit_visitreport"' in q["sql"] and "IS NULL" in q["sql"]
    ]
    assert len(report_reads) == 1, report_reads


def test_opening_the_review_page_is_logged_as_a_read_of_the_visit(
    world: Any, cosigned: dict[str, Any], closed_visit: Any, supervisor: Client
) -> None:
    """The review page shows the report, its attestations and the compliance verdict: a
    supervisor who opens it directly (not through the visit's page) read the evidence."""
    from fieldvisit.models import EvidenceAccess

    page = supervisor.get(review_url(closed_visit))
    assert page.status_code == 200 and cosigned["notes"] in page.content.decode()
    reads = EvidenceAccess.objects.filter(user=world.supervisor)
    assert [(r.action, r.subject, r.via) for r in reads] == [
        ("visit_review", f"visit:{closed_visit.pk}", "admin")
    ]


def test_opening_a_check_in_in_admin_is_logged(
    world: Any, closed_visit: Any, supervisor: Client
) -> None:
    """A check-in is evidence (where and when an agent was): a supervisor opening one in
    admin is in the evidence access log, as opening a photo or a receipt is."""
    from fieldvisit.models import CheckIn, EvidenceAccess

    checkin = CheckIn.objects.filter(visit=closed_visit).first()
    assert supervisor.get(change_url(CheckIn, checkin.pk)).status_code == 200
    reads = EvidenceAccess.objects.filter(user=world.supervisor)
    assert [(r.action, r.subject, r.via) for r in reads] == [
        ("checkin", f"checkin:{checkin.pk}", "admin")
    ]
