"""A case import a planner can prepare (issue 22, item 6): a downloadable template (CSV and
XLSX) with every column, what goes in it and an example that imports as it is; dates in ISO
8601 only (``01/09/2026`` is refused, not guessed)."""

from __future__ import annotations

import csv
import io
from typing import Any

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from fieldvisit.imports import CaseResource
from fieldvisit.models import Case
from tests.helpers import World

pytestmark = pytest.mark.django_db

IMPORT_URL = reverse("admin:fieldvisit_case_import")


def template(client: Client, kind: str) -> Any:
    return client.get(reverse("admin:fieldvisit_case_import_template", args=[kind]))


def preview(client: Client, name: str, data: bytes, fmt: str) -> Any:
    upload = SimpleUploadedFile(name, data)
    return client.post(IMPORT_URL, {"import_file": upload, "format": fmt})


def test_the_csv_template_has_every_column_and_its_example_imports(
    world: World, client: Client
) -> None:
    client.force_login(world.planner)
    page = client.get(IMPORT_URL).content.decode()
    assert reverse("admin:fieldvisit_case_import_template", args=["xlsx"]) in page
    answer = template(client, "csv")
    assert answer.status_code == 200 and answer["Content-Type"].startswith("text/csv")
    assert "case-import-template.csv" in answer["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    columns = [f.column_name for f in CaseResource().get_user_visible_fields()]
    assert rows[0] == columns
    shown = preview(client, "template.csv", answer.content, "0")
    assert shown.context.get("confirm_form") is not None, shown.content.decode()[-2000:]
    client.post(
        reverse("admin:fieldvisit_case_process_import"), shown.context["confirm_form"].initial
    )
    case = Case.objects.get(number=rows[1][0])
    assert (case.debtor_name, case.debtor_id_number) == ("王建国", "310101198203154511")


def test_the_xlsx_template_explains_each_column(world: World, client: Client) -> None:
    client.force_login(world.planner)
    answer = template(client, "xlsx")
    assert answer.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(answer.content))
    assert book.sheetnames == ["cases", "columns"]
    guide = {row[0]: row[1:] for row in book["columns"].iter_rows(min_row=2, values_only=True)}
    assert guide["number"][0] == "yes" and "YYYY-MM-DD" in guide["overdue_since"][1]
    assert "gcj02" in guide["datum"][1]
    header = [c.value for c in book["cases"][1]]
    assert header == list(guide)


def test_only_importers_get_the_template(world: World, client: Client) -> None:
    client.force_login(world.legal)
    assert template(client, "csv").status_code == 403
    client.force_login(world.planner)
    assert template(client, "pdf").status_code == 404


@pytest.mark.parametrize(
    ("day", "error"),
    [("2026-09-01", None), ("01/09/2026", "YYYY-MM-DD"), ("2026-02-30", "is not a date")],
)
def test_dates_are_iso_8601_only(world: World, client: Client, day: str, error: str | None) -> None:
    client.force_login(world.planner)
    out = io.StringIO()
    csv.writer(out).writerows(
        [["number", "creditor", "debtor_name", "amount_due", "overdue_since"],
         ["D-1", "acme", "Li", "100", day]]
    )  # fmt: skip
    shown = preview(client, "cases.csv", out.getvalue().encode(), "0")
    if error is None:
        assert shown.context.get("confirm_form") is not None
    else:
        assert shown.context.get("confirm_form") is None
        assert error in shown.content.decode()
