"""Case status everywhere (issue 20, item 1; seeds 外访流程 (1), 行为指引: a debtor the company
agreed not to contact, or a case on hold, disputed, paid or closed, is not visited): route
submission and approval refuse it, every arrival re-checks it (refused online, kept with a
flag and an alert when queued offline), and each change is a record with its reason and a
ledger entry."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.urls import reverse

from fieldvisit.actions.cases import change_case_status
from fieldvisit.choices import AlertKind, CaseStatus, CheckInKind
from fieldvisit.models import Alert, Case, CaseStatusChange, CheckIn, LedgerEntry, Visit
from fieldvisit.rules import RuleViolation
from fieldvisit.rules.cases import CaseState, check_case_visitable, check_cases_visitable
from tests import factories
from tests.helpers import approve, assert_problem, body, post, stops_of

pytestmark = pytest.mark.django_db

ARRIVE = CheckInKind.ARRIVE


def state(status: str = CaseStatus.OPEN, dnc: bool = False, reason: str = "") -> CaseState:
    return CaseState("C-1", status, reason, dnc)


# --- the rule --------------------------------------------------------------------------------


def test_only_an_open_case_may_be_visited() -> None:
    assert check_case_visitable(state()).ok
    for status in set(CaseStatus.values) - {CaseStatus.OPEN}:
        verdict = check_case_visitable(state(status, reason="the debtor paid in full"))
        assert (verdict.ok, verdict.code) == (False, "case_not_open"), status
        assert "the debtor paid in full" in str(verdict.detail)


def test_do_not_contact_comes_first_whatever_the_status() -> None:
    verdict = check_case_visitable(state(CaseStatus.ON_HOLD, dnc=True, reason="lawyer's letter"))
    assert verdict.code == "do_not_contact"
    both = check_cases_visitable([state(CaseStatus.DISPUTED), state(dnc=True)])
    assert both.code == "do_not_contact"
    assert str(both.detail).count("C-1") == 2


# --- the change ------------------------------------------------------------------------------


def hold(world, case: Case, reason: str = "the debtor disputes the amount", **changes) -> None:  # type: ignore[no-untyped-def]
    fields = {"status": CaseStatus.ON_HOLD, "do_not_contact": False, **changes}
    change_case_status(case.pk, reason=reason, by=world.planner, **fields)


def test_each_change_is_a_record_with_its_reason_and_a_ledger_entry(world) -> None:  # type: ignore[no-untyped-def]
    case = world.cases[0]
    hold(world, case)
    case.refresh_from_db()
    assert (case.status, case.status_reason) == (
        CaseStatus.ON_HOLD,
        "the debtor disputes the amount",
    )
    change = CaseStatusChange.objects.get(case=case)
    assert (change.previous_status, change.status, change.changed_by) == (
        CaseStatus.OPEN,
        CaseStatus.ON_HOLD,
        world.planner,
    )
    entry = LedgerEntry.objects.get(kind="case.status_changed")
    data = json.loads(bytes(entry.entry_bytes))["data"]
    assert entry.subject == f"case:{case.pk}"
    assert (data["previous_status"], data["status"], data["reason"]) == (
        "open",
        "on_hold",
        "the debtor disputes the amount",
    )
    # The same state again writes nothing; a change without a reason is refused.
    hold(world, case)
    assert CaseStatusChange.objects.count() == 1
    with pytest.raises(RuleViolation) as refused:
        change_case_status(
            case.pk, status="open", do_not_contact=False, reason=" ", by=world.planner
        )
    assert refused.value.code == "validation_error"


def test_the_admin_changes_a_status_only_with_a_reason(world, client) -> None:  # type: ignore[no-untyped-def]
    from django.test import Client

    case = world.cases[0]
    admin = Client()
    admin.force_login(world.planner)
    url = reverse("admin:fieldvisit_case_change", args=[case.pk])
    form = admin.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update({"status": "disputed", "do_not_contact": "", "status_reason": case.status_reason})
    data["debtor_id_number"] = ""  # the factory's made-up number is no valid one
    data.update(inline_management(admin.get(url)))
    refused = admin.post(url, data)
    assert refused.status_code == 200
    assert set(refused.context["adminform"].form.errors) == {"status_reason"}
    assert "Say why the status changes." in refused.content.decode()
    assert Case.objects.get(pk=case.pk).status == CaseStatus.OPEN
    data["status_reason"] = "the debtor says the loan was repaid"
    done = admin.post(url, data)
    assert done.status_code == 302, done.content.decode()[:2000]
    assert Case.objects.get(pk=case.pk).status == CaseStatus.DISPUTED
    assert CaseStatusChange.objects.get(case=case).reason == "the debtor says the loan was repaid"


def inline_management(page) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The inline formsets' management and row fields as the page rendered them."""
    data = {}
    for formset in page.context["inline_admin_formsets"]:
        management = formset.formset.management_form
        for name in management.fields:
            data[f"{management.prefix}-{name}"] = management[name].value()
        for form in formset.formset.forms:
            for name in form.fields:
                value = form[name].value()
                if value is not None and value is not False:
                    data[f"{form.prefix}-{name}"] = value
    return data


# --- route submission and approval ---------------------------------------------------------------


def test_a_route_is_not_approved_with_a_case_put_on_hold_since_it_was_submitted(world) -> None:  # type: ignore[no-untyped-def]
    day = world.route.date + dt.timedelta(days=2)
    route = factories.route(world.team, world.planner, day, [world.addresses[3]])
    hold(world, world.cases[3], do_not_contact=True, reason="a lawyer's letter")
    with pytest.raises(RuleViolation) as refused:
        approve(route, world.planner, world.supervisor)
    assert refused.value.code == "do_not_contact"
    assert world.cases[3].number in str(refused.value.detail)


# --- every arrival -----------------------------------------------------------------------------


def test_an_arrival_at_a_case_put_on_hold_after_approval_is_refused_online(world, phone_a) -> None:  # type: ignore[no-untyped-def]
    stop = stops_of(world.route)[0]
    hold(world, stop.case)
    problem = assert_problem(post(phone_a, body(world, ARRIVE, stop)), 422, "case_not_open")
    assert "the debtor disputes the amount" in problem["detail"]
    assert not CheckIn.objects.exists()
    assert Visit.objects.get(stop=stop).status == "planned"


def test_an_arrival_at_a_do_not_contact_debtor_is_refused_online(world, phone_a) -> None:  # type: ignore[no-untyped-def]
    stop = stops_of(world.route)[0]
    hold(world, stop.case, status=CaseStatus.OPEN, do_not_contact=True, reason="complaint")
    assert_problem(post(phone_a, body(world, ARRIVE, stop)), 422, "do_not_contact")


def test_an_arrival_queued_offline_is_kept_flagged_and_alerted(world, phone_a) -> None:  # type: ignore[no-untyped-def]
    stop = stops_of(world.route)[0]
    hold(world, stop.case, status=CaseStatus.PAID, reason="paid in full at the bank")
    answer = post(phone_a, body(world, ARRIVE, stop, ago=dt.timedelta(minutes=6)))
    assert answer.status_code == 201, answer.json()
    assert "case_not_open" in answer.json()["flags"]
    alert = Alert.objects.get(kind=AlertKind.RULE_BREAK)
    assert "case_not_open" in alert.detail
