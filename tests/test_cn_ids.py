"""Chinese identity and phone numbers (issue 19, item 4): an 18-character resident identity
number is checked (GB 11643-1999: ISO 7064 MOD 11-2 check character, a real date of birth),
the old 15-digit form is converted to 18, and a mainland mobile number is 11 digits starting
13-19; on entry in admin and on import, each stored in one form, masking unchanged."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from fieldvisit.cn_ids import NumberRefused, check_character, normal_id_number, normal_mobile
from fieldvisit.models import Case, Relation
from tests.helpers import World

TODAY = dt.date(2026, 12, 5)
# 310101198203154511 in Arabic-Indic digits, which Python's int() reads as digits too.
ARABIC_INDIC = "".join(chr(0x0660 + int(d)) for d in "310101198203154511")


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
    ("given", "code", "says"),
    [
        ("310101198203154512", "id_number_check", "does not match (it should be 1)"),
        ("310101198202304511", "id_number_birth_date", "is not a date"),  # 30 February
        ("310101203001014511", "id_number_birth_date", "cannot be right"),  # born after today
        ("310101189912314513", "id_number_birth_date", "cannot be right"),  # born before 1900
        ("31010119820315451", "id_number_format", "18 characters"),
        ("3101011982031545XX", "id_number_format", "18 characters"),
        ("31010119820315451Y", "id_number_format", "18 characters"),
        (ARABIC_INDIC, "id_number_format", "18 characters"),  # other digits: not ASCII
        ("310101821315451", "id_number_birth_date", "is not a date"),  # old form, month 13
        ("", "id_number_format", "18 characters"),
    ],
)  # fmt: skip
def test_invalid_identity_numbers_say_why(given: str, code: str, says: str) -> None:
    with pytest.raises(NumberRefused, match=re.escape(says)) as refused:
        normal_id_number(given, TODAY)
    assert refused.value.code == code
    assert isinstance(refused.value, ValueError)


def full_width(text: str) -> str:
    """``text`` as a Chinese input method types it in full-width mode (U+FF01-U+FF5E, U+3000)."""
    return "".join("\u3000" if c == " " else chr(ord(c) + 0xFEE0) for c in text)


def test_a_number_typed_in_full_width_is_the_same_number() -> None:
    assert normal_id_number(full_width("31010119800101123x"), TODAY) == "31010119800101123X"
    assert normal_mobile(full_width("+86 138-0013-8000")) == "13800138000"


def test_check_characters_computed_here() -> None:
    """Examples made up for these tests (no real person's number): the check character is
    what makes the 18th position, for every remainder including 10 (X)."""
    made_up = {
        "11010519491231002": "X",
        "31010119820315451": "1",
        "31010419791108222": "6",
        "31011519900502331": "0",
        "31011019850719342": "8",
    }
    for first17, check in made_up.items():
        assert check_character(first17) == check
        assert normal_id_number(first17 + check, TODAY) == first17 + check
        wrong = "0" if check != "0" else "1"
        with pytest.raises(NumberRefused, match=f"it should be {check}"):
            normal_id_number(first17 + wrong, TODAY)
    # Every digit's weight counts: changing any single one of the 17 changes the check.
    first17 = "31010119820315451"
    for position in range(17):
        changed = (
            first17[:position] + str((int(first17[position]) + 1) % 10) + first17[position + 1 :]
        )
        assert check_character(changed) != check_character(first17), position


def test_the_check_character_is_iso_7064_mod_11_2() -> None:
    # 11010519491231002X: the standard's own example (Beijing, born 1949-12-31).
    assert check_character("11010519491231002") == "X"
    assert check_character("44052418800101001") == "4"


@pytest.mark.parametrize(
    ("given", "normal"),
    [("13800138000", "13800138000"), ("+86 138-0013-8000", "13800138000"),
     ("0086 199 0000 1111", "19900001111"), ("(138) 0013.8000", "13800138000"),
     ("8613800138000", "13800138000"), ("+8615912345678", "15912345678")],
)  # fmt: skip
def test_mobile_numbers_in_one_form(given: str, normal: str) -> None:
    assert normal_mobile(given) == normal


@pytest.mark.parametrize(
    "given",
    ["12800138000", "1380013800", "138001380001", "021-6321-1234", "+1 415 555 0100",
     "+852 6123 4567", "1380013800O"],
)  # fmt: skip
def test_other_numbers_are_refused(given: str) -> None:
    with pytest.raises(NumberRefused, match="mainland mobile number") as refused:
        normal_mobile(given)
    assert refused.value.code == "mobile_number"


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
    codes = {field: [e.code for e in found] for field, found in errors.as_data().items()}
    assert codes == {"debtor_id_number": ["id_number_check"], "debtor_phone": ["mobile_number"]}
    assert not Case.objects.filter(number="CN-1").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("given", "code"),
    [("310101198202304511", "id_number_birth_date"), ("3101011982", "id_number_format")],
)
def test_admin_says_which_part_of_an_identity_number_is_wrong(
    world: World, client: Client, planner: Any, given: str, code: str
) -> None:
    answer = client.post(
        reverse("admin:fieldvisit_case_add"), case_form(world, debtor_id_number=given)
    )
    assert answer.status_code == 200
    [error] = answer.context["adminform"].form.errors.as_data()["debtor_id_number"]
    assert error.code == code


@pytest.mark.django_db
def test_admin_checks_a_relations_phone_in_the_case_form(
    world: World, client: Client, planner: Any
) -> None:
    relation = {"relations-TOTAL_FORMS": "1", "relations-0-name": "李秀英",
                "relations-0-kind": "family", "relations-0-phone": "021-63211234"}  # fmt: skip
    answer = client.post(reverse("admin:fieldvisit_case_add"), case_form(world, **relation))
    assert answer.status_code == 200
    [inline] = [
        f for f in answer.context["inline_admin_formsets"] if f.formset.prefix == "relations"
    ]
    [error] = inline.formset.forms[0].errors.as_data()["phone"]
    assert error.code == "mobile_number" and "mainland mobile number" in error.messages[0]
    assert not Case.objects.filter(number="CN-1").exists()

    relation["relations-0-phone"] = "+86 139 1234 5678"
    answer = client.post(reverse("admin:fieldvisit_case_add"), case_form(world, **relation))
    assert answer.status_code == 302, answer.content[:1500]
    assert Case.objects.get(number="CN-1").relations.get().phone == "13912345678"


@pytest.mark.django_db
def test_a_relations_phone_is_checked_too(world: World) -> None:
    relation = Relation(case=world.cases[0], name="李秀英", kind="family", phone="138 0013 8000")
    relation.full_clean()
    assert relation.phone == "13800138000"
    relation.phone = "12345"
    with pytest.raises(Exception, match="mainland mobile number"):
        relation.full_clean()


# --- on import ---------------------------------------------------------------------------


def import_rows(world: World, *changes: dict[str, Any]) -> list[list[Any]]:
    """The import test's three rows, each changed by its dict (column: value)."""
    from tests.admin.test_case_import import HEADER, rows

    table = rows(world)
    for line, change in zip(table, changes, strict=False):
        for column, value in change.items():
            line[HEADER.index(column)] = value
    return table


@pytest.mark.django_db
def test_an_import_stores_the_numbers_in_their_one_form_and_again_skips_them(
    world: World, client: Client, planner: Any
) -> None:
    from tests.admin.test_case_import import confirm, csv_file, fates, preview

    table = import_rows(
        world,
        {"debtor_id_number": "310101800101123", "debtor_phone": "+86 138-0000-0001"},
        {"debtor_id_number": " 3101 0119 8202 0212 31 ", "debtor_phone": "0086 13900000002"},
    )
    assert confirm(client, preview(client, csv_file(table), "csv")).status_code == 302
    numbers = dict(Case.objects.values_list("number", "debtor_id_number"))
    phones = dict(Case.objects.values_list("number", "debtor_phone"))
    assert numbers["IMP-001"] == "31010119800101123X"  # 15 digits made 18
    assert numbers["IMP-002"] == "310101198202021231"
    assert (phones["IMP-001"], phones["IMP-002"]) == ("13800000001", "13900000002")
    assert Case.objects.get(number="IMP-001").debtor_id_masked == "310***********123X"
    # The same file again: the numbers as written then are the numbers stored now.
    assert fates(preview(client, csv_file(table), "csv")) == ["skip", "skip", "skip"]


@pytest.mark.django_db
def test_wrong_numbers_are_row_errors_in_their_columns_and_nothing_is_imported(
    world: World, client: Client, planner: Any
) -> None:
    from tests.admin.test_case_import import csv_file, preview

    table = import_rows(
        world,
        {"debtor_id_number": "310101198001011235", "debtor_phone": "021-63211234"},
        {"debtor_id_number": "310101198202301231"},  # 30 February
    )
    before = Case.objects.count()
    response = preview(client, csv_file(table), "csv")
    invalid = {
        row.number: row.field_specific_errors for row in response.context["result"].invalid_rows
    }
    assert set(invalid) == {1, 2}
    assert set(invalid[1]) == {"debtor_id_number", "debtor_phone"}
    assert "check character does not match (it should be X)" in invalid[1]["debtor_id_number"][0]
    assert "mainland mobile number" in invalid[1]["debtor_phone"][0]
    assert "is not a date" in invalid[2]["debtor_id_number"][0]
    assert response.context.get("confirm_form") is None
    page = response.content.decode()
    assert "check character does not match" in page and "debtor_phone" in page
    assert Case.objects.count() == before


@pytest.mark.django_db
def test_an_identity_number_excel_kept_as_a_number_is_a_row_error_that_says_so(
    world: World, client: Client, planner: Any
) -> None:
    """Excel keeps 15 significant digits of a number: an 18-digit identity number typed into
    a number cell has lost its last digits, which is not the planner mistyping one."""
    from tests.admin.test_case_import import HEADER, csv_file, preview, xlsx_file

    table = import_rows(world, {"debtor_id_number": 3.10101198001011e17})
    table[1][HEADER.index("debtor_id_number")] = "3.10101198202021E+17"  # as a CSV export has it
    response = preview(client, xlsx_file(table), "xlsx")
    invalid = {
        row.number: row.field_specific_errors for row in response.context["result"].invalid_rows
    }
    assert set(invalid) == {1, 2}
    for errors in invalid.values():
        assert "stored as a number in the spreadsheet" in errors["debtor_id_number"][0]
    response = preview(client, csv_file(table[1:2]), "csv")
    [row] = response.context["result"].invalid_rows
    assert "format the column as text" in row.field_specific_errors["debtor_id_number"][0]
