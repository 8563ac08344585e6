"""Case import through the admin's import pages, with CSV and XLSX files made here.

The planner uploads a file, reads the dry-run preview (every row new, changed, skipped or
invalid, with its row number and the column at fault), confirms, and importing the same file
again changes nothing. A file with a bad row imports nothing at all.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import time
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from fieldvisit.choices import AddressKind, CaseStatus
from fieldvisit.models import Address, Case, Creditor
from tests import factories
from tests.helpers import World, approve, today

pytestmark = pytest.mark.django_db

IMPORT_URL = reverse("admin:fieldvisit_case_import")
PROCESS_URL = reverse("admin:fieldvisit_case_process_import")
FORMAT = {"csv": "0", "xlsx": "1"}  # positions in CaseAdmin.import_formats

HEADER = [
    "number",
    "creditor",
    "team",
    "debtor_name",
    "debtor_id_number",
    "debtor_phone",
    "amount_due",
    "currency",
    "overdue_since",
    "reachable",
    "status",
    "notes",
    "home_address",
    "home_lat",
    "home_lon",
    "work_address",
    "work_lat",
    "work_lon",
    "timezone",
]


def rows(world: World) -> list[list[Any]]:
    """Three new cases of the fixture world's creditor and team, one with two addresses."""
    return [
        [
            "IMP-001",
            "acme",
            "Huangpu",
            "Wang Lei",
            "31010119800101123x",
            "13800000001",
            "52000.50",
            "cny",
            "2026-08-01",
            "yes",
            "open",
            "",
            "18 Fuzhou Road, Shanghai",
            "31.2350",
            "121.4800",
            "100 Century Avenue, Shanghai",
            "31.2380",
            "121.5060",
            "Asia/Shanghai",
        ],
        [
            "IMP-002",
            "acme",
            "Huangpu",
            "Li Na",
            "310101198202021231",
            "",
            "800",
            "CNY",
            "",
            "no",
            "open",
            "Met a relation last time.",
            "5 Henan Road, Shanghai",
            "31.2320",
            "121.4850",
            "",
            "",
            "",
            "",
        ],
        [
            "IMP-003",
            "acme",
            "",
            "Zhang Wei",
            "",
            "",
            "1200",
            "CNY",
            "",
            "",
            "on_hold",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ],
    ]


def csv_file(table: list[list[Any]], name: str = "cases.csv") -> SimpleUploadedFile:
    out = io.StringIO()
    csv.writer(out).writerows([HEADER, *table])
    return SimpleUploadedFile(name, out.getvalue().encode("utf-8"), content_type="text/csv")


def xlsx_file(table: list[list[Any]], name: str = "cases.xlsx") -> SimpleUploadedFile:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for line in table:
        # Spreadsheet cells keep their types: numbers as numbers, dates as dates.
        cells = list(line)
        for i in (HEADER.index("home_lat"), HEADER.index("home_lon")):
            cells[i] = float(cells[i]) if cells[i] else None
        cells[HEADER.index("amount_due")] = float(cells[HEADER.index("amount_due")])
        day = cells[HEADER.index("overdue_since")]
        cells[HEADER.index("overdue_since")] = dt.datetime.fromisoformat(day) if day else None
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return SimpleUploadedFile(
        name,
        out.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


def preview(client: Client, upload: SimpleUploadedFile, kind: str) -> Any:
    response = client.post(IMPORT_URL, {"import_file": upload, "format": FORMAT[kind]})
    assert response.status_code == 200
    return response


def confirm(client: Client, response: Any) -> Any:
    form = response.context["confirm_form"]
    assert form is not None, "the preview offers no confirmation"
    return client.post(PROCESS_URL, form.initial)


def fates(response: Any) -> list[str]:
    return [row.import_type for row in response.context["result"].rows]


@pytest.fixture
def planner(world: World, client: Client) -> User:
    client.force_login(world.planner)
    return world.planner


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_preview_confirm_and_reimport_changes_nothing(
    world: World, client: Client, planner: User, kind: str
) -> None:
    make = csv_file if kind == "csv" else xlsx_file
    before = Case.objects.count()

    first = preview(client, make(rows(world)), kind)
    assert fates(first) == ["new", "new", "new"]
    assert Case.objects.count() == before  # the preview is a dry run
    page = first.content.decode()
    assert "IMP-001" in page and "Wang Lei" in page

    done = confirm(client, first)
    assert done.status_code == 302
    assert Case.objects.count() == before + 3
    wang = Case.objects.get(number="IMP-001")
    assert wang.creditor == world.creditor and wang.team == world.team
    assert wang.amount_due == Decimal("52000.50") and wang.currency == "CNY"
    assert wang.debtor_id_number == "31010119800101123X"  # one spelling for the cap
    assert wang.overdue_since == dt.date(2026, 8, 1) and wang.reachable
    places = {a.kind: a for a in wang.addresses.all()}
    assert set(places) == {AddressKind.HOME, AddressKind.WORK}
    assert (places["home"].lat, places["home"].lon) == (31.235, 121.48)
    assert places["work"].timezone == "Asia/Shanghai"
    assert not Case.objects.get(number="IMP-002").reachable
    zhang = Case.objects.get(number="IMP-003")
    assert zhang.team is None and zhang.status == CaseStatus.ON_HOLD and zhang.reachable
    stamps = dict(Case.objects.values_list("number", "updated_at"))
    addresses = Address.objects.count()

    again = preview(client, make(rows(world)), kind)
    assert fates(again) == ["skip", "skip", "skip"]
    confirm(client, again)
    assert dict(Case.objects.values_list("number", "updated_at")) == stamps
    assert Address.objects.count() == addresses


def test_a_changed_row_is_an_update_and_only_it_changes(
    world: World, client: Client, planner: User
) -> None:
    confirm(client, preview(client, csv_file(rows(world)), "csv"))
    table = rows(world)
    table[1][HEADER.index("amount_due")] = "650"
    table[1][HEADER.index("work_address")] = "9 Jiujiang Road, Shanghai"
    table[1][HEADER.index("work_lat")] = "31.2360"
    table[1][HEADER.index("work_lon")] = "121.4810"
    response = preview(client, csv_file(table), "csv")
    assert fates(response) == ["skip", "update", "skip"]
    assert "9 Jiujiang Road" in response.content.decode()  # the diff shows the new address
    confirm(client, response)
    li = Case.objects.get(number="IMP-002")
    assert li.amount_due == Decimal("650")
    assert sorted(li.addresses.values_list("kind", flat=True)) == ["home", "work"]


def test_bad_rows_are_reported_by_row_and_column_and_nothing_is_imported(
    world: World, client: Client, planner: User
) -> None:
    table = rows(world)
    table[0][HEADER.index("creditor")] = "nobody"
    table[0][HEADER.index("amount_due")] = "lots"
    table[2][HEADER.index("home_address")] = "1 Nowhere Lane"
    table[2][HEADER.index("home_lat")] = "95"
    table[2][HEADER.index("home_lon")] = "121.4"
    table[2][HEADER.index("status")] = "settled"
    before = Case.objects.count()
    response = preview(client, csv_file(table), "csv")
    result = response.context["result"]
    invalid = {row.number: row.field_specific_errors for row in result.invalid_rows}
    assert set(invalid) == {1, 3}  # data rows 1 and 3; row 2 is fine
    assert set(invalid[1]) == {"creditor", "amount_due"}
    assert "No creditor with code 'nobody'." in invalid[1]["creditor"]
    assert "'lots' is not an amount." in invalid[1]["amount_due"]
    assert set(invalid[3]) == {"home_lat", "status"}
    assert response.context.get("confirm_form") is None  # no way to confirm a broken file
    page = response.content.decode()
    assert "No creditor with code" in page and "home_lat" in page
    assert Case.objects.count() == before


def test_a_file_that_broke_after_its_preview_imports_nothing(
    world: World, client: Client, planner: User
) -> None:
    response = preview(client, csv_file(rows(world)), "csv")
    Creditor.objects.filter(code="acme").update(code="acme-renamed")  # meanwhile
    before = Case.objects.count()
    done = confirm(client, response)
    assert done.status_code == 302 and done.url == IMPORT_URL
    assert Case.objects.count() == before


def test_an_address_an_approved_route_visits_does_not_move(
    world: World, client: Client, planner: User
) -> None:
    confirm(client, preview(client, csv_file(rows(world)), "csv"))
    home = Address.objects.get(case__number="IMP-002", kind="home")
    route = factories.route(world.team, world.planner, today() + dt.timedelta(days=1), [home])
    approve(route, world.planner, world.supervisor)
    table = rows(world)
    table[1][HEADER.index("home_lat")] = "31.2400"
    response = preview(client, csv_file(table), "csv")
    errors = {
        row.number: row.field_specific_errors for row in response.context["result"].invalid_rows
    }
    assert list(errors) == [2]
    assert "approved route" in " ".join(errors[2]["home_address"])
    home.refresh_from_db()
    assert home.lat == 31.232


def test_unreadable_and_headerless_files_are_form_errors_not_500s(
    world: World, client: Client, planner: User
) -> None:
    garbage = SimpleUploadedFile("cases.xlsx", b"PK\x03\x04 not really a workbook")
    response = preview(client, garbage, "xlsx")
    assert response.context["form"].errors
    no_number = SimpleUploadedFile("cases.csv", b"creditor,debtor_name\nacme,X\n")
    response = preview(client, no_number, "csv")
    assert response.context["result"].has_errors()
    assert Case.objects.filter(debtor_name="X").count() == 0


@pytest.mark.parametrize(
    "forged",
    [
        {"import_file_name": "no-such-file", "original_file_name": "x.csv", "format": "0"},
        {"format": "7"},
        {"format": "csv"},
        {"import_file_name": "../../etc/passwd", "format": "0"},
        {"import_file_name": ""},
    ],
)
def test_stale_or_forged_confirmations_are_messages_not_500s(
    world: World, client: Client, planner: User, forged: dict[str, str]
) -> None:
    form = preview(client, csv_file(rows(world)), "csv").context["confirm_form"]
    before = Case.objects.count()
    response = client.post(PROCESS_URL, {**form.initial, **forged})
    assert response.status_code in (200, 302)
    assert Case.objects.count() == before


def test_a_gbk_csv_is_a_form_error(world: World, client: Client, planner: User) -> None:
    out = io.StringIO()
    csv.writer(out).writerows([HEADER, rows(world)[0]])
    text = out.getvalue().replace("Wang Lei", "王磊")
    upload = SimpleUploadedFile("cases.csv", text.encode("gbk"), content_type="text/csv")
    response = preview(client, upload, "csv")
    assert "UnicodeDecodeError" in str(response.context["form"].errors)
    assert not Case.objects.filter(number="IMP-001").exists()


def test_only_planners_import_and_nobody_exports(world: World, client: Client) -> None:
    for user in (world.supervisor, world.legal, world.auditor):
        client.force_login(user)
        assert client.get(IMPORT_URL).status_code == 403
        assert client.post(PROCESS_URL, {}).status_code == 403
    client.force_login(world.planner)
    changelist = client.get(reverse("admin:fieldvisit_case_changelist"))
    assert IMPORT_URL in changelist.content.decode()
    assert "/export/" not in changelist.content.decode()
    client.force_login(world.supervisor)
    changelist = client.get(reverse("admin:fieldvisit_case_changelist"))
    assert IMPORT_URL not in changelist.content.decode()


# The import page: session, user, and the user's permissions (fetched for the import check
# and the admin context: user and group permissions, then cached).
IMPORT_PAGE_QUERIES = 4
# A preview of n rows: those 4, the instance loader's one query for every case number, and
# the savepoints around the file; then per row its lookups (creditor, team), the model's
# uniqueness and constraint checks, the case's insert or update, each address's checks and
# write, and the diff's read of the addresses: at most 40 for a row with two addresses.
PREVIEW_BASE_QUERIES = 9
PREVIEW_ROW_QUERIES = 40


def test_import_pages_query_counts(
    world: World, client: Client, planner: User, django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(IMPORT_PAGE_QUERIES):
        assert client.get(IMPORT_URL).status_code == 200
    small = rows(world)
    big = [[f"IMP-{n:03d}", *line[1:]] for n, line in enumerate(small * 10, start=1)]
    with django_assert_max_num_queries(PREVIEW_BASE_QUERIES + 3 * PREVIEW_ROW_QUERIES) as few:
        preview(client, csv_file(small), "csv")
    with django_assert_max_num_queries(PREVIEW_BASE_QUERIES + 30 * PREVIEW_ROW_QUERIES) as many:
        response = preview(client, csv_file(big), "csv")
    assert fates(response) == ["new"] * 30
    # Ten times the rows, ten times the per-row queries: nothing else grows with the file.
    per_file = len(few.captured_queries) - PREVIEW_BASE_QUERIES
    assert len(many.captured_queries) <= PREVIEW_BASE_QUERIES + 10 * per_file


# --- hostile files: limits checked before (and while) parsing ---------------------------------


def rewrite_xlsx(upload: SimpleUploadedFile, sheet: Any = None, extra: Any = None) -> bytes:
    """The workbook's bytes with its first sheet's XML passed through ``sheet`` and, with
    ``extra``, a member of that (name, size in bytes of spaces) added."""
    import re
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(upload.read()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml" and sheet is not None:
                data = sheet(data, re)
            target.writestr(info, data)
        if extra is not None:
            name, size = extra
            with target.open(name, "w") as member:
                block = b" " * (1024 * 1024)
                for _ in range(size // len(block)):
                    member.write(block)
    return out.getvalue()


def sheet_xml(data: bytes) -> bytes:
    import zipfile

    return zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")


def xlsx_bytes(data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(
        "cases.xlsx",
        data,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


def measured_preview(client: Client, upload: SimpleUploadedFile, kind: str) -> tuple[Any, int]:
    """The preview and its peak of Python memory in bytes (traced: slower)."""
    import tracemalloc

    tracemalloc.start()
    try:
        response = preview(client, upload, kind)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return response, peak


def form_errors(response: Any) -> str:
    return " ".join(response.context["form"].errors.get("import_file", []))


def test_an_xlsx_claiming_a_huge_sheet_is_read_by_its_real_cells(
    world: World, client: Client, planner: User
) -> None:
    """The assessment's 5 KB file: ``<dimension ref="A1:XFD3000"/>`` and one row at 3000.
    openpyxl's read-only mode pads every row to the claimed 16384 columns and fills the 2998
    missing rows: 49 million cells, +394 MB. Read by its real cells it is one case."""
    table = rows(world)[:1]
    made = xlsx_file(table)

    def at_row_3000(data: bytes, re: Any) -> bytes:
        data = re.sub(rb'<dimension ref="[^"]*" ?/>', b'<dimension ref="A1:XFD3000"/>', data)
        return data.replace(b'<row r="2"', b'<row r="3000"').replace(b'r="A2"', b'r="A3000"')

    data = rewrite_xlsx(made, sheet=at_row_3000)
    assert len(data) < 8 * 1024
    assert b'<dimension ref="A1:XFD3000"/>' in sheet_xml(data)

    response, peak = measured_preview(client, xlsx_bytes(data), "xlsx")

    assert not response.context["form"].errors
    assert fates(response) == ["new"]
    assert peak < 40 * 1024 * 1024, f"{peak / 2**20:.0f} MB"


def test_data_beyond_the_column_limit_is_a_form_error(
    world: World, client: Client, planner: User
) -> None:
    def far_right_cell(data: bytes, re: Any) -> bytes:
        return data.replace(b"</row></sheetData>", b'<c r="XFD2"><v>1</v></c></row></sheetData>')

    data = rewrite_xlsx(xlsx_file(rows(world)[:1]), sheet=far_right_cell)
    assert b'r="XFD2"' in sheet_xml(data)

    response, peak = measured_preview(client, xlsx_bytes(data), "xlsx")

    assert "at most 100 columns" in form_errors(response)
    assert response.context.get("result") is None
    assert peak < 40 * 1024 * 1024


def test_a_zip_bomb_in_an_xlsx_is_refused_before_it_is_opened(
    world: World, client: Client, planner: User
) -> None:
    """An XLSX is a zip: 80 MB of spaces in one member compress to under 100 KB."""
    data = rewrite_xlsx(xlsx_file(rows(world)[:1]), extra=("xl/media/padding.xml", 80 * 2**20))
    assert len(data) < 200 * 1024

    response, peak = measured_preview(client, xlsx_bytes(data), "xlsx")

    assert "uncompressed" in form_errors(response)
    assert peak < 40 * 1024 * 1024


def test_a_file_over_the_size_limit_is_a_form_error(
    world: World, client: Client, planner: User
) -> None:
    out = io.StringIO()
    csv.writer(out).writerows([HEADER, rows(world)[0]])
    text = out.getvalue() + "\n" * (10 * 2**20)  # blank lines: padding a parser would skip
    upload = SimpleUploadedFile("cases.csv", text.encode(), content_type="text/csv")

    response = preview(client, upload, "csv")

    assert "10 MB" in form_errors(response)
    assert response.context.get("result") is None


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_more_rows_than_the_limit_is_a_form_error(
    world: World, client: Client, planner: User, kind: str
) -> None:
    first = rows(world)[0]
    table = [[f"MANY-{n:05d}", *first[1:]] for n in range(5001)]
    make = csv_file if kind == "csv" else xlsx_file

    upload = make(table)
    started = time.monotonic()
    response = preview(client, upload, kind)
    took = time.monotonic() - started

    assert "at most 5000 rows" in form_errors(response)
    assert response.context.get("result") is None  # refused before any row was looked up
    assert took < 20


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("number,notes\nA-1," + "x" * 200_000 + "\n", "longer than 10000 characters"),
        ('number,notes\nA-1,"' + "x" * 20_000 + '"\n', "longer than 10000 characters"),
        ("number," + ",".join(f"c{n}" for n in range(5000)) + "\nA-1\n", "at most 100 columns"),
        ("number,notes\nA-1,a,b,c\n", "row 1 has 4 cells"),
    ],
    ids=["over-csv-field-limit", "long-field", "wide-header", "ragged-row"],
)
def test_csv_cells_and_columns_are_limited_with_messages_a_planner_understands(
    world: World, client: Client, planner: User, text: str, expected: str
) -> None:
    upload = SimpleUploadedFile("cases.csv", text.encode(), content_type="text/csv")

    response = preview(client, upload, "csv")

    assert expected in form_errors(response), form_errors(response)
    assert "encountered while trying to read file" not in form_errors(response)


def test_a_stray_xlsx_cell_in_a_column_without_a_header_is_ignored_as_before(
    world: World, client: Client, planner: User
) -> None:
    def stray_cell(data: bytes, re: Any) -> bytes:
        return data.replace(b"</row></sheetData>", b'<c r="Z2"><v>7</v></c></row></sheetData>')

    data = rewrite_xlsx(xlsx_file(rows(world)[:1]), sheet=stray_cell)

    response = preview(client, xlsx_bytes(data), "xlsx")

    assert not response.context["form"].errors
    assert fates(response) == ["new"]


def test_an_import_without_an_importer_refuses_every_row(world: World) -> None:
    """The team-scope check needs the importer: the resource used without one (a shell, a
    script, a future caller) fails closed instead of importing into any team."""
    import tablib

    from fieldvisit.imports import CaseResource

    dataset = tablib.Dataset(*rows(world), headers=HEADER)
    result = CaseResource().import_data(dataset, dry_run=False)
    assert result.has_validation_errors()
    assert len(result.invalid_rows) == len(rows(world))
    assert not Case.objects.filter(number__startswith="IMP-").exists()


def with_part(data: bytes, name: str, content_type: str, chunks: Any) -> bytes:
    """The workbook's bytes with a part ``name`` written from ``chunks`` (streamed into the
    zip, never held whole) and declared in ``[Content_Types].xml``."""
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    override = f'<Override PartName="/{name}" ContentType="{content_type}"/></Types>'.encode()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename == name:
                continue
            part = source.read(info)
            if info.filename == "[Content_Types].xml" and override[:30] not in part:
                part = part.replace(b"</Types>", override)
            target.writestr(info, part)
        with target.open(name, "w") as member:
            for chunk in chunks:
                member.write(chunk)
    return out.getvalue()


SHARED_STRINGS = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
STYLES = "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"
MAIN_NS = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def repeated(head: bytes, item: bytes, count: int, tail: bytes) -> Any:
    yield head
    block = item * 10_000
    for _ in range(count // 10_000):
        yield block
    yield tail


def timed_preview(client: Client, upload: SimpleUploadedFile) -> tuple[Any, float, int]:
    started = time.monotonic()
    response, peak = measured_preview(client, upload, "xlsx")
    return response, time.monotonic() - started, peak


@pytest.mark.parametrize(
    ("name", "item", "count"),
    [
        ("xl/sharedStrings.xml", b"<si><t>a</t></si>", 3_700_000),  # the review's file
        ("xl/strings.bin", b"<si><t>a</t></si>", 3_700_000),  # renamed in the content types
        ("xl/sharedStrings.xml", b"<x:si/>", 2_000_000),  # 14 MB: under the part's size cap
    ],
    ids=["review", "renamed", "counted"],
)
def test_millions_of_shared_strings_are_refused_before_openpyxl_loads_them(
    world: World, client: Client, planner: User, name: str, item: bytes, count: int
) -> None:
    """The review's 154 KB file: 3.7 million ``<si><t>a</t></si>`` (63 MB, under the zip's
    64 MB) that openpyxl loads whole, even read-only: 60 s and +350 MB before any row. Under
    another part name (the content types say where the strings are) it is the same."""
    strings = repeated(
        b"<sst " + MAIN_NS + b" xmlns:x=" + MAIN_NS[6:] + b"><si><t>number</t></si>",
        item,
        count,
        b"</sst>",
    )
    data = with_part(xlsx_file(rows(world)[:1]).read(), name, SHARED_STRINGS, strings)
    assert len(data) < 400 * 1024

    response, took, peak = timed_preview(client, xlsx_bytes(data))

    assert "shared strings" in form_errors(response) or "uncompressed" in form_errors(response)
    assert response.context.get("result") is None
    assert took < 10, f"{took:.1f} s"
    assert peak < 40 * 1024 * 1024, f"{peak / 2**20:.0f} MB"


def test_a_stylesheet_of_a_million_formats_is_refused_before_it_is_parsed(
    world: World, client: Client, planner: User
) -> None:
    """openpyxl parses styles.xml whole into objects: 70,000 formats are 5 s and +60 MB."""
    styles = repeated(
        b"<styleSheet " + MAIN_NS + b'><cellXfs count="1">',
        b'<xf numFmtId="14"/>',
        1_000_000,
        b"</cellXfs></styleSheet>",
    )
    data = with_part(xlsx_file(rows(world)[:1]).read(), "xl/styles.xml", STYLES, styles)

    response, took, peak = timed_preview(client, xlsx_bytes(data))

    assert "styles" in form_errors(response) or "formats" in form_errors(response), form_errors(
        response
    )
    assert took < 10, f"{took:.1f} s"
    assert peak < 40 * 1024 * 1024, f"{peak / 2**20:.0f} MB"


@pytest.mark.parametrize(
    "row",
    [b'<row r="%d"><c r="XFD%d"/></row>', b'<row r="%d"><c r="A%d"/></row>'],
    ids=["empty-cells-far-right", "empty-rows"],
)
def test_many_empty_or_far_right_cells_are_refused_quickly(
    world: World, client: Client, planner: User, row: bytes
) -> None:
    """Each row reaching column XFD, even with an empty cell, made openpyxl build a
    16384-cell row: 3 ms a row, so a sheet of such rows ran for minutes."""

    def sheet(data: bytes, re: Any) -> bytes:
        rows_xml = b"".join(row % (n, n) for n in range(3, 300_003))
        return data.replace(b"</sheetData>", rows_xml + b"</sheetData>")

    data = rewrite_xlsx(xlsx_file(rows(world)[:1]), sheet=sheet)

    response, took, peak = timed_preview(client, xlsx_bytes(data))

    assert "column 100" in form_errors(response) or "rows" in form_errors(response)
    assert took < 10, f"{took:.1f} s"
    assert peak < 40 * 1024 * 1024, f"{peak / 2**20:.0f} MB"


def test_a_realistic_5000_row_xlsx_passes_the_checks_cheaply() -> None:
    """5000 rows of 30 columns as a spreadsheet program writes them (shared strings): the
    checks before openpyxl take a small part of the reading."""
    from fieldvisit import import_files

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([f"column_{c}" for c in range(30)])
    for n in range(5000):
        sheet.append([f"CASE-{n:05d} {c} 福州路 Road" if c % 3 else n * 1.5 for c in range(30)])
    out = io.BytesIO()
    book.save(out)
    data = out.getvalue()

    started = time.monotonic()
    import_files.check_zip(data)
    took = time.monotonic() - started

    assert took < 2.0, f"{took:.2f} s"  # measured 0.4 s; reading the rows takes 8 s


def test_a_row_numbered_past_a_spreadsheets_last_row_is_refused(
    world: World, client: Client, planner: User
) -> None:
    """openpyxl yields an empty row for every skipped row number: row 3,000,000 was 4 s of
    empty rows, a row numbered in the billions hours."""

    def far_row(data: bytes, re: Any) -> bytes:
        return data.replace(b'<row r="2"', b'<row r="3000000"').replace(b'r="A2"', b'r="A3000000"')

    data = rewrite_xlsx(xlsx_file(rows(world)[:1]), sheet=far_row)
    assert b'r="3000000"' in sheet_xml(data)

    started = time.monotonic()  # untraced: tracing slows the million empty rows tenfold
    response = preview(client, xlsx_bytes(data), "xlsx")
    took = time.monotonic() - started

    assert "last row" in form_errors(response), form_errors(response)
    assert took < 10, f"{took:.1f} s"


def test_an_import_does_not_change_an_existing_cases_status(
    world: World, client: Client, planner: User
) -> None:
    """A case put on hold (or paid) with its reason stays so when the list is imported again:
    its status changes only through actions.cases, with a record and a ledger entry."""
    from fieldvisit.actions.cases import change_case_status
    from fieldvisit.models import CaseStatusChange

    confirm(client, preview(client, csv_file(rows(world)), "csv"))
    wang = Case.objects.get(number="IMP-001")
    change_case_status(
        wang.pk, status="paid", do_not_contact=False, reason="paid in full", by=planner
    )
    response = preview(client, csv_file(rows(world)), "csv")
    assert fates(response) == ["skip", "skip", "skip"]
    confirm(client, response)
    wang.refresh_from_db()
    assert (wang.status, wang.status_reason) == ("paid", "paid in full")
    assert CaseStatusChange.objects.count() == 1
