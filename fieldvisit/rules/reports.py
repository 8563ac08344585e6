"""Who may file and co-sign a visit's report (DESIGN rules 9 and 11).

A report attests what the agents saw at the door, so only an agent who arrived at the visit
writes or co-signs one; the co-signature also attests the closing statement, so it waits for
the visit to close.
"""

from __future__ import annotations

from collections.abc import Collection
from decimal import Decimal

from fieldvisit.choices import PromiseTerms
from fieldvisit.rules import Verdict
from fieldvisit.texts import _, format_lazy


def check_may_file(arrived: Collection[int], agent_id: int) -> Verdict:
    """A report is filed once the visit has begun (``arrived`` holds whoever arrived at it),
    by one of the agents who arrived."""
    if not arrived:
        return Verdict.failed(
            "visit_not_started",
            _("Nobody has arrived at this visit yet: there is nothing to report."),
        )
    if agent_id not in arrived:
        return Verdict.failed(
            "not_at_visit", _("Only an agent who arrived at the visit files its report.")
        )
    return Verdict.passed()


def check_may_cosign(arrived: Collection[int], agent_id: int, visit_closed: bool) -> Verdict:
    """The co-signer arrived at the visit, and signs once both agents have left."""
    if agent_id not in arrived:
        return Verdict.failed(
            "not_at_visit", _("Only an agent who arrived at the visit co-signs its report.")
        )
    if not visit_closed:
        return Verdict.failed(
            "visit_not_closed",
            _(
                "The report is co-signed once both agents have left: it attests the "
                "closing statement."
            ),
        )
    return Verdict.passed()


def check_payer_voluntary(payer: str, voluntary: bool | None) -> Verdict:
    """A relation who pays for the debtor does so of their own free will, and the report
    records that they confirmed it (电话催收管理制度: 联系人在法律上虽然可以代还,但一切要遵循其
    自身的意愿,不得威胁或强迫; 严禁在第三方无代偿意愿的情况下胁迫第三方代偿). The debtor
    paying (``payer`` empty) needs no such word."""
    if payer.strip() and voluntary is not True:
        return Verdict.failed(
            "payment_not_voluntary",
            _("A relation pays only of their own free will: confirm it."),
        )
    return Verdict.passed()


def check_promise_terms(
    amount: Decimal,
    amount_due: Decimal,
    terms: str,
    authorisation: str,
    max_reduction_pct: Decimal,
) -> Verdict:
    """A promise to pay settles the debt for less only with the creditor's written
    authorisation, and within the creditor's limit (seeds, 电话催收管理制度: 未有明确银行授权
    不得擅自承诺减免款项). Paying in full means the whole amount due; an instalment leaves the
    rest due and reduces nothing."""
    if terms == PromiseTerms.FULL and amount < amount_due:
        return Verdict.failed(
            "reduction_not_authorised",
            format_lazy(
                _(
                    "{amount} is less than the {due} due: paying in full means the whole "
                    "amount; a settlement for less needs the creditor's authorisation."
                ),
                amount=amount,
                due=amount_due,
            ),
        )
    if terms == PromiseTerms.INSTALMENT and amount > amount_due:
        return Verdict.failed(
            "validation_error",
            format_lazy(
                _("An instalment of {amount} is more than the {due} due."),
                amount=amount,
                due=amount_due,
            ),
        )
    if terms != PromiseTerms.SETTLEMENT or amount >= amount_due:
        return Verdict.passed()
    if not authorisation.strip():
        return Verdict.failed(
            "reduction_not_authorised",
            _(
                "A settlement for less than the amount due needs the creditor's written "
                "authorisation: give its reference."
            ),
        )
    reduction = (amount_due - amount) * 100 / amount_due if amount_due else Decimal(0)
    if reduction > max_reduction_pct:
        return Verdict.failed(
            "reduction_not_authorised",
            format_lazy(
                _("A reduction of {reduction}% is more than the creditor authorises ({limit}%)."),
                reduction=f"{reduction:.2f}",
                limit=f"{max_reduction_pct:.2f}",
            ),
        )
    return Verdict.passed()
