"""POST /api/v1/visits/{id}/report/: the team's report of the visit with its conduct
attestations (DESIGN rule 9), filed once and corrected by new records (rule 11)."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

import pytest
from django.db import IntegrityError

from fieldvisit.actions import reports as actions
from fieldvisit.canonical import canonical_json
from fieldvisit.choices import CheckInKind
from fieldvisit.models import LedgerEntry, VisitReport
from fieldvisit.rules.conduct import REQUIRED
from tests import factories
from tests.helpers import (
    ATTESTATIONS,
    assert_problem,
    body,
    file_report,
    ledger_entries,
    post,
    report_body,
    report_url,
    stops_of,
    visit_url,
)

pytestmark = pytest.mark.django_db

REPORT_KEYS = {
    "id",
    "visit",
    "status",
    "outcome",
    "promise_to_pay",
    "notes",
    "attestations",
    "failed_attestations",
    "broken_attestations",
    "unattested",
    "author",
    "device_id",
    "received_at",
    "corrects",
    "content_sha256",
    "cosigned_by",
    "cosigned_at",
}


def test_a_report_is_filed_awaiting_the_cosignature(world: Any, visit: Any, phone_a: Any) -> None:
    payload = report_body(
        promise_to_pay={"amount": "1500.5", "date": str(visit.stop.route.date)},
        notes="  Promised to pay on Friday.  ",
    )
    response = file_report(phone_a, visit, payload)

    assert response.status_code == 201, response.content
    report = response.json()
    assert set(report) == REPORT_KEYS
    assert report["id"] == payload["id"]
    assert report["visit"] == str(visit.pk)
    assert report["status"] == "awaiting_cosign"
    assert report["outcome"] == "met_debtor"
    assert report["promise_to_pay"] == {
        "amount": "1500.50",
        "date": visit.stop.route.date.isoformat(),
        # Terms inferred: less than the amount due is an instalment (the rest stays due).
        "terms": "instalment",
        "method": None,
        "payer": "",
        "payer_voluntary": None,
        "authorisation": "",
    }
    assert report["notes"] == "Promised to pay on Friday."
    assert report["attestations"] == ATTESTATIONS
    assert report["failed_attestations"] == []
    assert (report["author"], report["device_id"]) == ("agent_a", "phone-a")
    assert (report["corrects"], report["cosigned_by"], report["cosigned_at"]) == (None, None, None)

    # The visit stays as it was (open) until the report is co-signed, and shows the report.
    shown = phone_a.get(visit_url(visit.pk)).json()
    assert shown["status"] == "open"
    assert shown["report"] == report

    # The ledger carries the whole content; its SHA-256 is the report's.
    (entry,) = ledger_entries("report.filed")
    assert entry["subject"] == f"visit:{visit.pk}"
    assert entry["actor"]["username"] == "agent_a"
    assert entry["actor"]["device"] == "phone-a"
    data = entry["data"]
    assert data["report"] == payload["id"]
    assert data["status"] == "awaiting_cosign"
    assert data["visit_status"] is None
    assert data["content"] == {
        "report": payload["id"],
        "visit": str(visit.pk),
        "author": world.agent_a.pk,
        "outcome": "met_debtor",
        "promise_to_pay": {
            "amount": "1500.50",
            "date": visit.stop.route.date.isoformat(),
            "terms": "instalment",
            "method": "",
            "payer": "",
            "payer_voluntary": None,
            "authorisation": "",
        },
        "notes": "Promised to pay on Friday.",
        "attestations": ATTESTATIONS,
        "corrects": None,
    }
    digest = hashlib.sha256(canonical_json(data["content"])).hexdigest()
    assert data["content_sha256"] == digest == report["content_sha256"]


def test_the_same_id_and_content_answers_200_and_other_content_409(
    visit: Any, phone_a: Any, phone_b: Any
) -> None:
    payload = report_body()
    first = file_report(phone_a, visit, payload)
    assert first.status_code == 201, first.content

    again = file_report(phone_a, visit, payload)
    assert again.status_code == 200, again.content
    assert again.json() == first.json()

    assert_problem(file_report(phone_a, visit, {**payload, "notes": "other"}), 409, "id_conflict")
    # The same id from the partner is not the same request either.
    assert_problem(file_report(phone_b, visit, payload), 409, "id_conflict")
    assert VisitReport.objects.count() == 1
    assert LedgerEntry.objects.filter(kind="report.filed").count() == 1


def test_a_retry_that_lost_the_race_finds_the_committed_report(
    world: Any, visit: Any, phone_a: Any
) -> None:
    """Inside the lock, a report already holding the id means a concurrent retry won:
    the action raises IntegrityError, which create_once answers with that report."""
    payload = report_body()
    assert file_report(phone_a, visit, payload).status_code == 201
    data = actions.ReportData(
        id=uuid.UUID(payload["id"]),
        visit=visit,
        outcome="met_debtor",
        promise_amount=None,
        promise_date=None,
        notes="",
        attestations=ATTESTATIONS,
        corrects=None,
    )
    with pytest.raises(IntegrityError):
        actions.file_report(data, world.agent_a, "phone-a", "0" * 64)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"attestations": {"identity_shown": None}}, "attestations.identity_shown"),
        ({"attestations": {"identity_shown": "true"}}, "attestations.identity_shown"),
        ({"attestations": {"no_cash_accepted": 1}}, "attestations.no_cash_accepted"),
        ({"attestations": {"no_cash_accepted": "yes"}}, "attestations.no_cash_accepted"),
        ({"attestations": None}, "attestations"),
        ({"outcome": "met_the_dog"}, "outcome"),
        ({"outcome": None}, "outcome"),
        ({"id": "not-a-uuid"}, "id"),
        ({"promise_to_pay": {"amount": "0", "date": "2026-11-30"}}, "promise_to_pay.amount"),
        ({"promise_to_pay": {"amount": "-5", "date": "2026-11-30"}}, "promise_to_pay.amount"),
        ({"promise_to_pay": {"amount": "1.005", "date": "2026-11-30"}}, "promise_to_pay.amount"),
        ({"promise_to_pay": {"amount": "NaN", "date": "2026-11-30"}}, "promise_to_pay.amount"),
        ({"promise_to_pay": {"amount": "1e400", "date": "2026-11-30"}}, "promise_to_pay.amount"),
        ({"promise_to_pay": {"amount": "100"}}, "promise_to_pay.date"),
        ({"promise_to_pay": {"amount": "100", "date": "2026-11-23"}}, "promise_to_pay.date"),
        ({"promise_to_pay": {"amount": "100", "date": "tomorrow"}}, "promise_to_pay.date"),
        (
            {"outcome": "no_answer", "promise_to_pay": {"amount": "100", "date": "2026-11-30"}},
            "promise_to_pay",
        ),
        ({"notes": "x" * 10_001}, "notes"),
        ({"notes": "nul \x00 byte"}, "notes"),
        ({"corrects": "nope"}, "corrects"),
    ],
)
def test_invalid_reports_name_the_field(
    visit: Any, phone_a: Any, change: dict[str, Any], field: str
) -> None:
    payload = report_body()
    if isinstance(change.get("attestations"), dict):
        payload["attestations"] = {**payload["attestations"], **change.pop("attestations")}
    payload.update(change)
    problem = assert_problem(file_report(phone_a, visit, payload), 422, "validation_error")
    assert field in problem["errors"], problem
    assert VisitReport.objects.count() == 0


@pytest.mark.parametrize("missing", sorted(REQUIRED))
def test_every_original_attestation_is_required(visit: Any, phone_a: Any, missing: str) -> None:
    payload = report_body()
    del payload["attestations"][missing]
    problem = assert_problem(file_report(phone_a, visit, payload), 422, "validation_error")
    assert set(problem["errors"]) == {f"attestations.{missing}"}


def test_malformed_bodies_are_problems(visit: Any, phone_a: Any) -> None:
    response = phone_a.post(report_url(visit), "{", content_type="application/json")
    assert_problem(response, 400, "malformed_request")
    # A lone surrogate (valid JSON, no UTF-8 form) never reaches the database.
    raw = json.dumps(report_body(notes="lone \ud800 surrogate"), ensure_ascii=True)
    response = phone_a.post(report_url(visit), raw, content_type="application/json")
    assert set(assert_problem(response, 422, "validation_error")["errors"]) == {"notes"}
    assert_problem(phone_a.post(report_url(visit), [1], format="json"), 422, "validation_error")
    assert_problem(phone_a.post(report_url(visit), {}, format="json"), 422, "validation_error")


def test_a_promise_on_the_visit_day_or_later_is_kept(visit: Any, phone_a: Any) -> None:
    payload = report_body(
        outcome="met_relation", promise_to_pay={"amount": 800, "date": "2026-12-01"}
    )
    response = file_report(phone_a, visit, payload)
    assert response.status_code == 201, response.content
    assert response.json()["promise_to_pay"] == {
        "amount": "800.00",
        "date": "2026-12-01",
        "terms": "instalment",
        "method": None,
        "payer": "",
        "payer_voluntary": None,
        "authorisation": "",
    }
    report = VisitReport.objects.get()
    assert (str(report.promise_amount), str(report.promise_date)) == ("800.00", "2026-12-01")


def test_false_attestations_are_recorded_as_given(visit: Any, phone_a: Any) -> None:
    payload = report_body(
        attestations={"did_not_enter_residence": False, "no_cash_accepted": False}
    )
    response = file_report(phone_a, visit, payload)

    assert response.status_code == 201, response.content
    report = response.json()
    assert report["attestations"]["did_not_enter_residence"] is False
    assert report["failed_attestations"] == ["did_not_enter_residence", "no_cash_accepted"]
    (entry,) = ledger_entries("report.filed")
    assert entry["data"]["failed_attestations"] == report["failed_attestations"]
    assert entry["data"]["content"]["attestations"]["no_cash_accepted"] is False


# --- who may file, and when -----------------------------------------------------------------


def test_a_visit_nobody_arrived_at_cannot_be_reported(world: Any, phone_a: Any) -> None:
    planned = stops_of(world.route)[1].visit
    problem = assert_problem(file_report(phone_a, planned), 422, "visit_not_started")
    assert "arrived" in problem["detail"]
    assert VisitReport.objects.count() == 0


def test_only_an_agent_who_arrived_files(world: Any, phone_a: Any, phone_b: Any) -> None:
    stop = stops_of(world.route)[0]
    assert post(phone_a, body(world, CheckInKind.ARRIVE, stop)).status_code == 201
    assert_problem(file_report(phone_b, stop.visit), 422, "not_at_visit")
    # The one who arrived may file, even before the partner came (it is then not co-signable).
    assert file_report(phone_a, stop.visit).status_code == 201


def test_another_teams_agent_does_not_find_the_visit(world: Any, visit: Any) -> None:
    outsider = world.client(world.outsider, "outsider-phone")
    assert_problem(file_report(outsider, visit), 404, "not_found")
    assert_problem(file_report(outsider, uuid.uuid4()), 404, "not_found")


def test_people_who_see_the_visit_but_are_not_its_agents_are_refused(
    world: Any, visit: Any
) -> None:
    supervisor = world.client(world.supervisor, "desk")
    assert_problem(file_report(supervisor, visit), 403, "not_team_member")
    unqualified = factories.agent("agent_u", world.team, background_check_on=None)
    assert_problem(file_report(world.client(unqualified, "phone-u"), visit), 403, "not_team_member")
    assert VisitReport.objects.count() == 0


def test_anonymous_callers_are_refused(visit: Any, anon: Any) -> None:
    assert_problem(file_report(anon, visit), 401, "not_authenticated")


# --- corrections --------------------------------------------------------------------------


def test_a_second_report_must_name_the_current_one(visit: Any, phone_a: Any, phone_b: Any) -> None:
    first = file_report(phone_a, visit).json()

    problem = assert_problem(file_report(phone_b, visit), 409, "report_exists")
    assert first["id"] in problem["detail"]
    stale = report_body(corrects=str(uuid.uuid4()))
    assert_problem(file_report(phone_b, visit, stale), 409, "not_current_report")
    assert VisitReport.objects.count() == 1


def test_a_first_report_corrects_nothing(visit: Any, phone_a: Any) -> None:
    payload = report_body(corrects=str(uuid.uuid4()))
    problem = assert_problem(file_report(phone_a, visit, payload), 422, "validation_error")
    assert set(problem["errors"]) == {"corrects"}


def test_corrections_form_a_chain_and_never_edit(visit: Any, phone_a: Any, phone_b: Any) -> None:
    first = file_report(phone_a, visit, report_body(notes="First account.")).json()
    second = file_report(
        phone_b,
        visit,
        report_body(outcome="met_relation", notes="Second account.", corrects=first["id"]),
    )
    assert second.status_code == 201, second.content
    second = second.json()
    assert (second["corrects"], second["author"], second["status"]) == (
        first["id"],
        "agent_b",
        "awaiting_cosign",
    )

    # A correction of a superseded report is refused: it must name the current one.
    stale = report_body(corrects=first["id"])
    problem = assert_problem(file_report(phone_a, visit, stale), 409, "not_current_report")
    assert second["id"] in problem["detail"]

    third = file_report(phone_a, visit, report_body(notes="Third.", corrects=second["id"]))
    assert third.status_code == 201, third.content

    shown = phone_a.get(visit_url(visit.pk)).json()["report"]
    assert (shown["id"], shown["corrects"], shown["notes"]) == (
        third.json()["id"],
        second["id"],
        "Third.",
    )
    # The old reports are untouched and read as superseded.
    reports = {str(r.pk): r for r in VisitReport.objects.select_related("corrected_by")}
    assert reports[first["id"]].notes == "First account."
    assert reports[first["id"]].content_sha256 == first["content_sha256"]
    assert reports[first["id"]].status == "superseded"
    assert reports[second["id"]].status == "superseded"
    assert reports[third.json()["id"]].status == "awaiting_cosign"
    entries = ledger_entries("report.filed")
    assert [e["data"]["content"]["corrects"] for e in entries] == [
        None,
        first["id"],
        second["id"],
    ]


def test_the_visit_detail_costs_the_same_with_a_report_chain(
    world: Any, visit: Any, phone_a: Any, phone_b: Any, django_assert_max_num_queries: Any
) -> None:
    """The report and its compliance check share one query, however long the chain."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert phone_a.get(visit_url(visit.pk)).status_code == 200
        return len(captured.captured_queries)

    without = queries()
    first = file_report(phone_a, visit).json()
    second = file_report(phone_b, visit, report_body(corrects=first["id"])).json()
    file_report(phone_a, visit, report_body(corrects=second["id"]))
    with django_assert_max_num_queries(without):
        assert phone_a.get(visit_url(visit.pk)).json()["report"]["corrects"] == second["id"]
