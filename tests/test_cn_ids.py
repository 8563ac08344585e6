"""Chinese identity and phone numbers (issue 19, item 4): an 18-character resident identity
number is checked (GB 11643-1999: ISO 7064 MOD 11-2 check character, a real date of birth),
the old 15-digit form is converted to 18, and a mainland mobile number is 11 digits starting
13-19; on entry in admin and on import, each stored in one form, masking unchanged."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from fieldvisit.cn_ids import check_character, normal_id_number, normal_mobile
from fieldvisit.models import Case, Relation
from tests.helpers import World

TODAY = dt.date(2026, 12, 5)


@pytest.mark.parametrize(
    ("given", "normal"),
    [
        ("310101198203154511", "310101198203154511"),
        ("31010119800101123x", "31010119800101123X"),  # the check character X, any case
        (" 3101 0119 8001 0112 3X ", "31010119800101123X"),  # as copied off a card
        ("310101820315451", "310101198203154511"),  # the old 15-digit form, converted
    ],
)
def test_valid_identity_numbers_in_one_form(given: str, normal: str) -> None:
    assert normal_id_number(given, TODAY) == normal


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("310101198203154512", "check character does not match (it should be 1)"),
        ("310101198202304511", "is not a date"),  # 30 February
        ("310101203001014511", "cannot be right"),  # born after today
        ("31010119820315451", "18 characters"),
        ("3101011982031545XX", "18 characters"),
        ("310101821315451", "is not a date"),  # old form, month 13
    ],
)
def test_invalid_identity_numbers_say_why(given: str, says: str) -> None:
    with pytest.raises(ValueError, match=says.replace("(", r"\(").replace(")", r"\)")):
        normal_id_number(given, TODAY)


def test_the_check_character_is_iso_7064_mod_11_2() -> None:
    # 11010519491231002X: the standard's own example (Beijing, born 1949-12-31).
    assert check_character("11010519491231002") == "X"
    assert check_character("44052418800101001") == "4"


@pytest.mark.parametrize(
    ("given", "normal"),
    [("13800138000", "13800138000"), ("+86 138-0013-8000", "13800138000"),
     ("0086 199 0000 1111", "19900001111"), ("(138) 0013.8000", "13800138000")],
)  # fmt: skip
def test_mobile_numbers_in_one_form(given: str, normal: str) -> None:
    assert normal_mobile(given) == normal


@pytest.mark.parametrize("given", ["12800138000", "1380013800", "021-6321-1234", "+1 415 555 0100"])
def test_other_numbers_are_refused(given: str) -> None:
    with pytest.raises(ValueError, match="mainland mobile number"):
        normal_mobile(given)


# --- on entry ----------------------------------------------------------------------------


@pytest.fixture
def planner(world: World, client: Client) -> Any:
    client.force_login(world.planner)
    return world.planner


def case_form(world: World, **changes: str) -> dict[str, Any]:
    form = {
        "number": "CN-1",
        "creditor": world.creditor.pk,
        "team": world.team.pk,
        "debtor_name": "王建国",
        "debtor_id_number": "310101820315451",
        "debtor_phone": "+86 138 0013 8000",
        "amount_due": "100",
        "currency": "CNY",
        "status": "open",
        "reachable": "on",
    }
    for prefix in ("addresses", "relations"):
        form.update(
            {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0",
             f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000"}
        )  # fmt: skip
    form.update(changes)
    return form


@pytest.mark.django_db
def test_admin_stores_the_numbers_in_their_one_form(
    world: World, client: Client, planner: Any
) -> None:
    answer = client.post(reverse("admin:fieldvisit_case_add"), case_form(world))
    assert answer.status_code == 302, answer.content[:1500]
    case = Case.objects.get(number="CN-1")
    assert (case.debtor_id_number, case.debtor_phone) == ("310101198203154511", "13800138000")
    assert case.debtor_id_masked == "310***********4511"


@pytest.mark.django_db
def test_admin_refuses_a_mistyped_identity_number_and_a_landline(
    world: World, client: Client, planner: Any
) -> None:
    form = case_form(world, debtor_id_number="310101198203154512", debtor_phone="021-63211234")
    answer = client.post(reverse("admin:fieldvisit_case_add"), form)
    assert answer.status_code == 200
    errors = answer.context["adminform"].form.errors
    assert "check character does not match" in errors["debtor_id_number"][0]
    assert "mainland mobile number" in errors["debtor_phone"][0]
    assert not Case.objects.filter(number="CN-1").exists()


@pytest.mark.django_db
def test_a_relations_phone_is_checked_too(world: World) -> None:
    relation = Relation(case=world.cases[0], name="李秀英", kind="family", phone="138 0013 8000")
    relation.full_clean()
    assert relation.phone == "13800138000"
    relation.phone = "12345"
    with pytest.raises(Exception, match="mainland mobile number"):
        relation.full_clean()
