"""Who signs a notice for the debtor (seeds: 外访流程 (5), the relation who answers the door
co-signs; 电话催收管理制度 第十一条, a 第三方 is one of the debtor's contacts, family,
colleagues or friends; 行为指引 6, notices go to the debtor or a relation, mainly family)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from fieldvisit.choices import AlertKind
from fieldvisit.models import Alert, Receipt, Relation
from tests.helpers import assert_problem, iso, ledger_entries, post_form, receipts_url, signed

pytestmark = pytest.mark.django_db(transaction=True)


def by_relation(visit: Any, **fields: Any) -> dict[str, Any]:
    return signed(visit, "signed_by_relation", **fields)


def test_a_notice_signed_by_relation_is_signed_by_one_of_the_cases_relations(
    agent: Any, visit: Any
) -> None:
    """外访流程 (5): the relation is chosen from the case's relations, the relation recorded."""
    wife = Relation.objects.create(case=visit.stop.case, name="Wang Fang", kind="family")
    form = by_relation(visit, relation=str(wife.pk), signer_name=None)
    response = post_form(agent, receipts_url(visit), form)
    assert response.status_code == 201, response.content
    answer = response.json()
    assert (answer["relation"], answer["signer_name"], answer["signer_relation"]) == (
        str(wife.pk),
        "Wang Fang",
        "family",
    )
    assert answer["flags"] == []
    (entry,) = ledger_entries("receipt.recorded")
    assert entry["data"]["relation"] == str(wife.pk)
    assert not Alert.objects.exists()


def test_a_neighbour_signing_by_relation_is_an_unlisted_third_party_allowed_only_with_a_reason(
    agent: Any, visit: Any
) -> None:
    """The issue's case: a neighbour (邻居) signed "by relation". Refused without a reason;
    with one, kept, flagged and the supervisor alerted."""
    Relation.objects.create(case=visit.stop.case, name="Wang Fang", kind="family")
    neighbour = {"signer_name": "Zhao Liu", "signer_relation": "邻居"}
    problem = assert_problem(
        post_form(agent, receipts_url(visit), by_relation(visit, **neighbour)),
        422,
        "third_party_reason_required",
    )
    assert "third_party_reason" in problem["errors"]
    assert not Receipt.objects.exists() and not Alert.objects.exists()

    reason = "Nobody home; the neighbour keeps the family's post and agreed to pass it on."
    form = by_relation(visit, third_party_reason=reason, **neighbour)
    response = post_form(agent, receipts_url(visit), form)
    assert response.status_code == 201, response.content
    answer = response.json()
    assert (answer["relation"], answer["third_party_reason"]) == (None, reason)
    assert answer["flags"] == ["unlisted_third_party"]
    alert = Alert.objects.get()
    assert alert.kind == AlertKind.THIRD_PARTY and alert.visit_id == visit.pk
    assert reason in alert.detail and "Zhao Liu" not in alert.detail
    (entry,) = ledger_entries("receipt.recorded")
    assert entry["data"]["third_party_reason"] == reason
    notice = agent.get(f"/api/v1/visits/{visit.pk}/").json()["compliance"]["checks"]
    assert notice["notice_outcome"]["ok"] and reason in notice["notice_outcome"]["detail"]


def test_another_cases_relation_is_not_listed(agent: Any, visit: Any, world: Any) -> None:
    stranger = Relation.objects.create(case=world.cases[3], name="Qian Qi", kind="friend")
    problem = assert_problem(
        post_form(agent, receipts_url(visit), by_relation(visit, relation=str(stranger.pk))),
        422,
        "relation_not_listed",
    )
    assert "relation" in problem["errors"]
    assert not Receipt.objects.exists()


def test_a_third_party_receipt_queued_offline_is_kept_flagged_and_alerted(
    agent: Any, visit: Any, clock: Any
) -> None:
    """Like a check-in queued offline: the signature was already given, so it is kept."""
    clock.shift(dt.timedelta(minutes=10))
    captured = timezone.now() - dt.timedelta(minutes=6)
    form = by_relation(visit, signer_name="Zhao Liu", signer_relation="邻居")
    form["captured_at"] = iso(captured)
    response = post_form(agent, receipts_url(visit), form)
    assert response.status_code == 201, response.content
    assert response.json()["flags"] == ["unlisted_third_party", "no_third_party_reason"]
    assert Alert.objects.get().kind == AlertKind.THIRD_PARTY


def test_a_relation_not_to_be_contacted_who_signed_is_kept_and_alerted(
    agent: Any, visit: Any
) -> None:
    """电话催收管理制度: a third party who asked not to be contacted is not contacted."""
    brother = Relation.objects.create(
        case=visit.stop.case, name="Li Wu", kind="family", do_not_contact=True
    )
    response = post_form(agent, receipts_url(visit), by_relation(visit, relation=str(brother.pk)))
    assert response.status_code == 201, response.content
    assert response.json()["flags"] == ["relation_do_not_contact"]
    assert "may not be contacted" in Alert.objects.get(kind=AlertKind.THIRD_PARTY).detail
    notice = agent.get(f"/api/v1/visits/{visit.pk}/").json()["compliance"]["checks"]
    assert notice["notice_outcome"]["ok"] is False


def test_the_debtors_own_signature_names_no_relation(agent: Any, visit: Any) -> None:
    wife = Relation.objects.create(case=visit.stop.case, name="Wang Fang", kind="family")
    problem = assert_problem(
        post_form(agent, receipts_url(visit), signed(visit, relation=str(wife.pk))),
        422,
        "validation_error",
    )
    assert "relation" in problem["errors"]
