"""Complaints (issue item 7): the public form the company links from its letters, and
intake in admin; each graded, with a date to answer by, linked to the case, visit and
agents; a serious one opens an incident at once. The public form never says whether a
case reference exists."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.test import Client
from django.urls import reverse

from fieldvisit.choices import CaseStatus, ComplaintGrade, IncidentSource
from fieldvisit.models import Complaint, ComplaintAnswer, Incident
from tests.helpers import ledger_kinds

FORM = "/complaints/"


def fields(case_number: str = "", category: str = "disturbance") -> dict[str, str]:
    return {
        "complainant_kind": "relation",
        "complainant_name": "Wang Fang",
        "complainant_contact": "13800138000",
        "case_number": case_number,
        "category": category,
        "occurred_on": "2026-11-24",
        "description": "Two men rang our bell again and again at 8 in the morning.",
    }


def reference_in(html: str) -> str:
    found = re.search(r"TS-\d{8}-[0-9A-F]{6}", html)
    assert found, html
    return found.group(0)


def test_the_public_form_needs_no_account(world: Any) -> None:
    page = Client().get(FORM)
    assert page.status_code == 200
    assert b"csrfmiddlewaretoken" in page.content


def test_a_complaint_by_a_third_party_is_recorded_with_a_deadline(world: Any) -> None:
    case = world.cases[0]
    response = Client().post(FORM, fields(case.number))
    assert response.status_code == 201
    complaint = Complaint.objects.get(reference=reference_in(response.content.decode()))
    assert complaint.case == case and complaint.recorded_by is None
    assert complaint.channel == "web_form" and complaint.grade == ComplaintGrade.MINOR
    assert complaint.respond_by - complaint.received_at == dt.timedelta(days=15)
    assert not Incident.objects.exists()  # minor: answered, no incident
    assert "complaint.received" in ledger_kinds()


def test_the_form_never_reveals_whether_a_case_exists(world: Any) -> None:
    known = Client().post(FORM, fields(world.cases[0].number)).content.decode()
    unknown = Client().post(FORM, fields("NO-SUCH-CASE")).content.decode()
    assert reference_in(known) != reference_in(unknown)
    assert known.replace(reference_in(known), "") == unknown.replace(reference_in(unknown), "")
    assert Complaint.objects.get(case_number_given="NO-SUCH-CASE").case is None


def test_a_serious_complaint_opens_an_incident_and_holds_the_case(world: Any) -> None:
    case = world.cases[1]
    response = Client().post(FORM, fields(case.number, category="physical_contact"))
    assert response.status_code == 201
    complaint = Complaint.objects.get()
    assert complaint.grade == ComplaintGrade.CRITICAL
    assert complaint.respond_by - complaint.received_at == dt.timedelta(days=1)
    incident = Incident.objects.get(complaint=complaint)
    assert incident.source == IncidentSource.COMPLAINT and incident.rules == ["physical_contact"]
    case.refresh_from_db()
    assert case.status == CaseStatus.ON_HOLD


def test_the_form_checks_csrf(world: Any) -> None:
    response = Client(enforce_csrf_checks=True).post(FORM, fields())
    assert response.status_code == 403
    assert not Complaint.objects.exists()


def test_the_form_is_rate_limited(world: Any, settings: Any) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "complaint": "2/hour",
        },
    }
    client = Client()
    assert [client.post(FORM, fields()).status_code for _ in range(3)] == [201, 201, 429]
    assert Complaint.objects.count() == 2


def test_an_invalid_complaint_is_shown_again(world: Any) -> None:
    response = Client().post(FORM, {**fields(), "description": ""})
    assert response.status_code == 422
    assert not Complaint.objects.exists()


def test_staff_take_a_complaint_about_a_visit_in_admin(
    world: Any, visit: Any, django_assert_max_num_queries: Any
) -> None:
    browser = Client()
    browser.force_login(world.supervisor)
    assert browser.get(reverse("admin:fieldvisit_complaint_add")).status_code == 200
    response = browser.post(
        reverse("admin:fieldvisit_complaint_add"),
        {
            "channel": "phone",
            "complainant_kind": "debtor",
            "complainant_name": "Zhang San",
            "case_number": "",
            "visit": str(visit.pk),
            "category": "impersonation",
            "description": "They said they were from the court.",
            "grade": "",
        },
    )
    assert response.status_code == 302, response.content
    complaint = Complaint.objects.get()
    assert complaint.visit == visit and complaint.case == visit.stop.case
    assert complaint.recorded_by == world.supervisor
    assert {n.agent.username for n in complaint.named.all()} == {"agent_a", "agent_b"}
    assert complaint.grade == ComplaintGrade.SERIOUS
    assert Incident.objects.get().complaint == complaint

    with django_assert_max_num_queries(12):
        listed = browser.get(reverse("admin:fieldvisit_complaint_changelist") + "?answer=open")
    assert listed.status_code == 200 and complaint.reference in listed.content.decode()
    answered = browser.post(
        reverse("admin:fieldvisit_complaint_answer", args=[complaint.pk]),
        {"text": "We apologise; the agents are suspended pending our review."},
    )
    assert answered.status_code == 302
    assert ComplaintAnswer.objects.get().answered_by == world.supervisor
    assert "complaint.answered" in ledger_kinds()
