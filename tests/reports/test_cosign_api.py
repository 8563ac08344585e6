"""POST /api/v1/visits/{id}/report/cosign/: the other agent signs the report's exact content,
and the visit's ``report_cosigned`` compliance check reads the result."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import pytest
from django.db import connection, transaction

from fieldvisit.compliance import judge
from fieldvisit.db.append_only import install_sql, uninstall_sql
from fieldvisit.models import LedgerEntry, ReportCosignature, Visit, VisitReport
from fieldvisit.queries.visits import visit_records
from tests.helpers import (
    assert_problem,
    cosign,
    file_report,
    leave_pair,
    ledger_entries,
    report_body,
    visit_url,
)

pytestmark = pytest.mark.django_db


def report_check(client: Any, visit: Any) -> dict[str, Any]:
    return client.get(visit_url(visit.pk)).json()["compliance"]["checks"]["report_cosigned"]


def test_the_partner_cosigns_and_the_visit_is_reported(
    world: Any, closed_visit: Any, phone_a: Any, phone_b: Any
) -> None:
    report = file_report(phone_a, closed_visit).json()
    assert Visit.objects.get(pk=closed_visit.pk).status == "closed"

    response = cosign(phone_b, closed_visit, {"report": report["id"]})

    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["status"] == "cosigned"
    assert answer["report"] == report["id"]
    assert answer["cosigned_by"] == "agent_b"
    assert answer["report_sha256"] == report["content_sha256"]
    assert Visit.objects.get(pk=closed_visit.pk).status == "reported"

    signature = ReportCosignature.objects.get()
    assert (signature.report_id, signature.agent_id, signature.device_id) == (
        uuid.UUID(report["id"]),
        world.agent_b.pk,
        "phone-b",
    )
    assert signature.report_sha256 == report["content_sha256"]

    (entry,) = ledger_entries("report.cosigned")
    assert entry["subject"] == f"visit:{closed_visit.pk}"
    assert entry["actor"]["username"] == "agent_b"
    assert entry["data"]["report"] == report["id"]
    assert entry["data"]["report_sha256"] == report["content_sha256"]
    assert entry["data"]["visit_status"] == {"from": "closed", "to": "reported"}

    shown = phone_a.get(visit_url(closed_visit.pk)).json()
    assert shown["status"] == "reported"
    assert (shown["report"]["status"], shown["report"]["cosigned_by"]) == ("cosigned", "agent_b")
    assert shown["report"]["cosigned_at"] == answer["cosigned_at"]
    check = shown["compliance"]["checks"]["report_cosigned"]
    assert check["ok"] is True, check
    assert "agent_a" in check["detail"]
    assert "agent_b" in check["detail"]


def test_cosigning_twice_is_idempotent(closed_visit: Any, phone_a: Any, phone_b: Any) -> None:
    file_report(phone_a, closed_visit)
    first = cosign(phone_b, closed_visit)
    again = cosign(phone_b, closed_visit)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    assert ReportCosignature.objects.count() == 1
    assert LedgerEntry.objects.filter(kind="report.cosigned").count() == 1


def test_the_author_cannot_cosign(closed_visit: Any, phone_a: Any) -> None:
    file_report(phone_a, closed_visit)
    problem = assert_problem(cosign(phone_a, closed_visit), 422, "cosign_by_author")
    assert "author" in problem["detail"]
    assert ReportCosignature.objects.count() == 0
    assert Visit.objects.get(pk=closed_visit.pk).status == "closed"


def test_the_author_on_another_device_cannot_cosign(
    world: Any, closed_visit: Any, phone_a: Any
) -> None:
    file_report(phone_a, closed_visit)
    tablet = world.client(world.agent_a, "tablet-a")
    assert_problem(cosign(tablet, closed_visit), 422, "cosign_by_author")


def test_cosigning_waits_for_the_visit_to_close(
    world: Any, visit: Any, phone_a: Any, phone_b: Any
) -> None:
    file_report(phone_a, visit)
    problem = assert_problem(cosign(phone_b, visit), 422, "visit_not_closed")
    assert "left" in problem["detail"]
    leave_pair(world, visit.stop)
    assert cosign(phone_b, visit).status_code == 200
    assert Visit.objects.get(pk=visit.pk).status == "reported"


def test_nothing_to_cosign(closed_visit: Any, phone_b: Any) -> None:
    assert_problem(cosign(phone_b, closed_visit), 422, "report_missing")


def test_a_named_report_must_be_the_current_one(
    closed_visit: Any, phone_a: Any, phone_b: Any
) -> None:
    first = file_report(phone_a, closed_visit).json()
    second = file_report(phone_a, closed_visit, report_body(corrects=first["id"])).json()
    problem = assert_problem(
        cosign(phone_b, closed_visit, {"report": first["id"]}), 409, "not_current_report"
    )
    assert second["id"] in problem["detail"]
    assert_problem(cosign(phone_b, closed_visit, {"report": "x"}), 422, "validation_error")
    assert cosign(phone_b, closed_visit, {"report": second["id"]}).status_code == 200


def test_only_an_agent_who_was_there_cosigns(
    closed_visit: Any, phone_a: Any, phone_b: Any, phone_c: Any
) -> None:
    file_report(phone_a, closed_visit)
    assert_problem(cosign(phone_c, closed_visit), 422, "not_at_visit")
    assert cosign(phone_b, closed_visit).status_code == 200
    # Once co-signed, a third agent meets the existing signature.
    problem = assert_problem(cosign(phone_c, closed_visit), 409, "already_cosigned")
    assert "agent_b" in problem["detail"]


def test_outsiders_and_non_agents_cannot_cosign(
    world: Any, closed_visit: Any, phone_a: Any
) -> None:
    file_report(phone_a, closed_visit)
    outsider = world.client(world.outsider, "outsider-phone")
    assert_problem(cosign(outsider, closed_visit), 404, "not_found")
    assert_problem(
        cosign(world.client(world.supervisor, "desk"), closed_visit), 403, "not_team_member"
    )
    assert ReportCosignature.objects.count() == 0


def test_a_correction_needs_its_own_cosignature(
    world: Any, cosigned: dict[str, Any], closed_visit: Any, phone_a: Any, phone_b: Any
) -> None:
    assert Visit.objects.get(pk=closed_visit.pk).status == "reported"

    # B corrects A's co-signed report: the visit waits again for a co-signature...
    correction = file_report(
        phone_b, closed_visit, report_body(notes="Corrected by B.", corrects=cosigned["id"])
    )
    assert correction.status_code == 201, correction.content
    assert Visit.objects.get(pk=closed_visit.pk).status == "closed"
    (_, entry) = ledger_entries("report.filed")
    assert entry["data"]["visit_status"] == {"from": "reported", "to": "closed"}
    check = report_check(phone_a, closed_visit)
    assert check["ok"] is False
    assert "awaits the second agent's co-signature" in check["detail"]

    # ...which B, its author, cannot give, and A can.
    assert_problem(cosign(phone_b, closed_visit), 422, "cosign_by_author")
    signed = cosign(phone_a, closed_visit)
    assert signed.status_code == 200, signed.content
    assert signed.json()["report"] == correction.json()["id"]
    assert Visit.objects.get(pk=closed_visit.pk).status == "reported"
    assert report_check(phone_a, closed_visit)["ok"] is True
    # The first co-signature stays, on the report it signed.
    assert ReportCosignature.objects.count() == 2
    assert VisitReport.objects.get(pk=cosigned["id"]).cosignature.agent == world.agent_b


# --- the compliance check -------------------------------------------------------------------


def test_no_report_fails_the_check(visit: Any, phone_a: Any) -> None:
    assert report_check(phone_a, visit) == {"ok": False, "detail": "No visit report filed."}


def test_false_attestations_fail_the_check_naming_them(
    closed_visit: Any, phone_a: Any, phone_b: Any
) -> None:
    payload = report_body(
        attestations={"identity_shown": False, "closing_statement_recorded": False}
    )
    file_report(phone_a, closed_visit, payload)
    assert cosign(phone_b, closed_visit).status_code == 200

    shown = phone_a.get(visit_url(closed_visit.pk)).json()
    check = shown["compliance"]["checks"]["report_cosigned"]
    assert check["ok"] is False
    assert "identity_shown" in check["detail"]
    assert "closing_statement_recorded" in check["detail"]
    assert "did_not_enter_residence" not in check["detail"]
    assert shown["compliance"]["ok"] is False
    # Co-signed all the same: the statement stands as given.
    assert shown["report"]["status"] == "cosigned"
    assert shown["status"] == "reported"


def test_a_report_changed_behind_the_databases_back_fails_the_check(
    cosigned: dict[str, Any], closed_visit: Any, phone_a: Any
) -> None:
    """Only someone who drops the triggers can change a report; the hashes still tell."""
    table = VisitReport._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        for sql in uninstall_sql(connection.vendor, table):
            cursor.execute(sql)
        # Through the ORM's SQL, so the id is spelled the way each engine stores it.
        VisitReport.objects.filter(pk=cosigned["id"]).update(notes="Nothing happened.")
        for sql in install_sql(connection.vendor, table):
            cursor.execute(sql)
    assert VisitReport.objects.get().notes == "Nothing happened."

    check = report_check(phone_a, closed_visit)
    assert check["ok"] is False
    assert "does not match its recorded SHA-256" in check["detail"]
    assert "co-signature does not sign this content" in check["detail"]


def test_the_check_reads_the_current_report_without_the_api(
    cosigned: dict[str, Any], closed_visit: Any
) -> None:
    visit = Visit.objects.select_related("stop__route", "stop__address").get(pk=closed_visit.pk)
    records = visit_records(visit)
    assert judge(records).checks["report_cosigned"].ok is True
    without = dataclasses.replace(records, report=None)
    assert judge(without).checks["report_cosigned"].ok is False
