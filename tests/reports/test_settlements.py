"""Settlements (issue 20, item 6; seeds 电话催收管理制度: 未有明确银行授权不得擅自承诺减免款项):
a promise to pay records its amount, date, method and payer; one that settles the debt for
less needs the creditor's written authorisation, within the creditor's limit, or it is
refused (``reduction_not_authorised``); a relation pays only of their own free will."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from fieldvisit.choices import PromiseTerms
from fieldvisit.models import LedgerEntry, VisitReport
from fieldvisit.rules.reports import check_promise_terms
from tests.helpers import assert_problem, file_report, report_body

pytestmark = pytest.mark.django_db

D = Decimal


def test_the_promise_rules() -> None:
    due = D("10000.00")
    assert check_promise_terms(due, due, PromiseTerms.FULL, "", D(0)).ok
    short = check_promise_terms(D("9000"), due, PromiseTerms.FULL, "", D(0))
    assert short.code == "reduction_not_authorised"
    assert check_promise_terms(D("500"), due, PromiseTerms.INSTALMENT, "", D(0)).ok
    assert check_promise_terms(D("10001"), due, PromiseTerms.INSTALMENT, "", D(0)).code == (
        "validation_error"
    )
    unauthorised = check_promise_terms(D("9000"), due, PromiseTerms.SETTLEMENT, " ", D(20))
    assert unauthorised.code == "reduction_not_authorised"
    beyond = check_promise_terms(D("7000"), due, PromiseTerms.SETTLEMENT, "REF-1", D(20))
    assert beyond.code == "reduction_not_authorised"
    assert "30.00%" in str(beyond.detail) and "20.00%" in str(beyond.detail)
    assert check_promise_terms(D("8000"), due, PromiseTerms.SETTLEMENT, "REF-1", D(20)).ok


def promise(visit: Any, **fields: Any) -> dict[str, Any]:
    return {"date": visit.stop.route.date.isoformat(), **fields}


def test_a_settlement_without_authorisation_is_refused(visit: Any, phone_a: Any) -> None:
    due = visit.stop.case.amount_due
    body = report_body(
        promise_to_pay=promise(visit, amount=str(due - 1), terms="settlement"),
    )
    assert_problem(file_report(phone_a, visit, body), 422, "reduction_not_authorised")
    assert not VisitReport.objects.exists()
    assert not LedgerEntry.objects.filter(kind="report.filed").exists()


def test_a_settlement_within_the_creditors_limit_is_recorded(visit: Any, phone_a: Any) -> None:
    creditor = visit.stop.case.creditor
    creditor.max_reduction_pct = D("25")
    creditor.save()
    due = visit.stop.case.amount_due
    amount = (due * D("0.8")).quantize(D("0.01"))
    body = report_body(
        outcome="met_relation",
        promise_to_pay=promise(
            visit,
            amount=str(amount),
            terms="settlement",
            method="bank_counter",
            payer="Wang Wu (guarantor)",
            payer_voluntary=True,
            authorisation="ACME-2026-1187",
        ),
    )
    response = file_report(phone_a, visit, body)
    assert response.status_code == 201, response.content
    kept = response.json()["promise_to_pay"]
    assert (kept["terms"], kept["method"], kept["payer"], kept["payer_voluntary"]) == (
        "settlement",
        "bank_counter",
        "Wang Wu (guarantor)",
        True,
    )
    assert kept["authorisation"] == "ACME-2026-1187"
    # The co-signer signs the terms too: they are in the hashed content and the ledger.
    report = VisitReport.objects.get()
    assert report.content()["promise_to_pay"]["authorisation"] == "ACME-2026-1187"
    # Beyond the limit, the same settlement is refused.
    creditor.max_reduction_pct = D("10")
    creditor.save()
    again = report_body(
        outcome="met_relation",
        promise_to_pay=promise(visit, amount=str(amount), terms="settlement", authorisation="X"),
        corrects=str(report.pk),
    )
    assert_problem(file_report(phone_a, visit, again), 422, "reduction_not_authorised")


def test_paying_in_full_means_the_whole_amount(visit: Any, phone_a: Any) -> None:
    due = visit.stop.case.amount_due
    body = report_body(promise_to_pay=promise(visit, amount=str(due - 100), terms="full"))
    assert_problem(file_report(phone_a, visit, body), 422, "reduction_not_authorised")


def test_a_relation_pays_only_of_their_own_free_will(visit: Any, phone_a: Any) -> None:
    body = report_body(
        outcome="met_relation",
        promise_to_pay=promise(visit, amount="100.00", payer="Li Si (brother)"),
    )
    problem = assert_problem(file_report(phone_a, visit, body), 422, "payment_not_voluntary")
    assert "payer_voluntary" in problem["errors"]


def test_a_payment_by_a_relation_is_voluntary_as_a_rule() -> None:
    """电话催收管理制度: a contact may pay for the debtor, but only of their own will."""
    from fieldvisit.rules.reports import check_payer_voluntary

    assert check_payer_voluntary("", None).ok  # the debtor pays
    assert check_payer_voluntary("Li Si (brother)", True).ok
    for unsaid in (None, False):
        verdict = check_payer_voluntary("Li Si (brother)", unsaid)
        assert verdict.code == "payment_not_voluntary"
