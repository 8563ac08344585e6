"""Reading an uploaded case list (CSV or XLSX) within limits, before any row is looked at.

A spreadsheet says how big it is, and a reader that believes it can be made to allocate
without end: openpyxl's read-only mode pads every row to the sheet's declared
``<dimension>`` and fills the rows missing below it, so a 5 KB file claiming ``A1:XFD3000``
becomes 49 million cells (+394 MB); an XLSX is a zip whose members may inflate a
thousandfold; a CSV may hold a million lines, a million columns or one huge cell. So:

- the file: at most ``MAX_FILE_BYTES`` (checked on the form, before it is read);
- an XLSX: at most ``MAX_ZIP_MEMBERS`` members and ``MAX_UNCOMPRESSED_BYTES`` in all, from
  the zip's directory, before openpyxl opens it (Python's zipfile never inflates a member past
  the size the directory gives it: a member that lies fails its CRC check instead);
- an XLSX's parts, streamed from the zip and scanned as bytes before openpyxl opens it
  (openpyxl loads the shared strings and the stylesheet whole, even read-only: 3.7 million
  one-letter strings in a 154 KB file were 60 s and +350 MB before any row): each part
  within ``MAX_PART_BYTES`` (the sheet and the shared strings, by their usual names, within
  ``MAX_SHEET_BYTES`` and ``MAX_SHARED_STRINGS_BYTES``; a realistic 5000-row, 30-column sheet
  is 9.5 MB), at most ``MAX_SHARED_STRINGS`` shared strings and ``MAX_SHEET_ROWS`` row
  elements in any one part, whatever its name, at most ``MAX_STYLE_RECORDS`` formats in the
  stylesheet, no cell (even empty) right of column ``MAX_COLUMNS`` (openpyxl builds
  every such row 16384 cells wide), and every XML part in UTF-8 (the scan reads
  bytes; another encoding would hide the elements from it);
- the sheet is read by its real cells, never by its declared dimension; blank rows are
  skipped (as CSV blank lines are), and reading stops past Excel's last row (openpyxl
  yields an empty row for every row number skipped);
- at most ``MAX_ROWS`` data rows and ``MAX_COLUMNS`` columns, each cell at most
  ``MAX_CELL_CHARS`` characters, counted while reading: the reading stops at the first
  excess.

Each refusal is an ``ImportFileRefused`` whose message the admin shows on the form.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from typing import IO, Any

import openpyxl
import tablib
from django import forms
from django.urls import reverse
from django.utils.safestring import mark_safe
from import_export.formats import base_formats
from import_export.forms import ConfirmImportForm, ImportForm

from fieldvisit.choices import Datum
from fieldvisit.imports import COLUMN_GUIDE, template_rows
from fieldvisit.texts import _, format_lazy

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_ROWS = 5000
MAX_COLUMNS = 100
MAX_CELL_CHARS = 10_000
MAX_ZIP_MEMBERS = 1000
MAX_UNCOMPRESSED_BYTES = 64 * 1024 * 1024
# Per part of an XLSX, uncompressed. Measured: 5000 rows of 30 columns written by openpyxl
# (inline strings) make a 9.5 MB sheet; as shared strings (Excel) about 5 MB of strings.
MAX_SHEET_BYTES = 24 * 1024 * 1024
MAX_SHARED_STRINGS_BYTES = 16 * 1024 * 1024
MAX_PART_BYTES = 4 * 1024 * 1024  # any other part: styles, workbook, theme, media...
MAX_STYLES_BYTES = 1024 * 1024  # a real stylesheet is a few KB
# Counted in the parts' bytes. openpyxl turns each shared string into a Python string at
# about 30 us (500,000 took 16 s on the test machine), so the cap is what 5000 rows of
# 40 distinct strings need, not the 500,000 cells the row and column limits allow.
MAX_SHARED_STRINGS = 200_000
MAX_STYLE_RECORDS = 10_000  # formats, fonts, fills, borders; openpyxl: 70,000 took 5 s
MAX_SHEET_ROWS = 50_000  # row elements, blank ones included (each is read)
EXCEL_LAST_ROW = 1_048_576


class ImportFileRefused(ValueError):
    """The file is beyond a limit; the message says which, for the planner."""


def _mb(size: int) -> str:
    return f"{size // (1024 * 1024)} MB"


def check_file_size(size: int) -> None:
    if size > MAX_FILE_BYTES:
        raise ImportFileRefused(
            format_lazy(
                _(
                    "The file is {value:.1f} MB; a case list is at most {mb}. Split it into "
                    "several files."
                ),
                value=size / 2**20,
                mb=_mb(MAX_FILE_BYTES),
            )
        )


def _table(rows: Iterable[list[Any]], *, unheaded: str = "refuse") -> tablib.Dataset:
    """The first row as headers and the other non-blank rows as data, every row as wide as
    the header (short rows padded), within the row, column and cell limits. Cells past the
    header are refused (CSV, as tablib did) or dropped (``unheaded="drop"``: a spreadsheet's
    stray cell in a column without a header, which no field would read)."""
    dataset = tablib.Dataset()
    iterator = iter(rows)
    header = next(iterator, None)
    if header is None:
        return dataset
    header = _trimmed(header)
    _check_width(header, _("The header"))
    _check_cells(header, _("The header"))
    dataset.headers = header
    width = len(header)
    for row in iterator:
        row = _trimmed(row)
        if not row:
            continue
        if len(dataset) >= MAX_ROWS:
            raise ImportFileRefused(
                format_lazy(
                    _(
                        "The file has more than {MAX_ROWS} rows; import at most {MAX_ROWS2} "
                        "rows at a time (split the file)."
                    ),
                    MAX_ROWS=MAX_ROWS,
                    MAX_ROWS2=MAX_ROWS,
                )
            )
        number = len(dataset) + 1
        _check_width(row, format_lazy(_("Data row {number}"), number=number))
        _check_cells(row, format_lazy(_("Data row {number}"), number=number))
        if len(row) > width and unheaded == "drop":
            row = _trimmed(row[:width])
        if len(row) > width:
            raise ImportFileRefused(
                format_lazy(
                    _(
                        "Data row {number} has {count} cells but the header names only "
                        "{width} columns: give every column a header."
                    ),
                    number=number,
                    count=len(row),
                    width=width,
                )
            )
        dataset.append(row + [None] * (width - len(row)))
    return dataset


def _trimmed(row: list[Any]) -> list[Any]:
    """The row without its empty cells at the end (a formatted but empty cell is empty)."""
    end = len(row)
    while end and (row[end - 1] is None or row[end - 1] == ""):
        end -= 1
    return list(row[:end])


def _check_width(row: list[Any], what: str) -> None:
    if len(row) > MAX_COLUMNS:
        raise ImportFileRefused(
            format_lazy(
                _(
                    "{what} has data in column {count}; a case list has at most {MAX_COLUMNS}"
                    " columns."
                ),
                what=what,
                count=len(row),
                MAX_COLUMNS=MAX_COLUMNS,
            )
        )


def _check_cells(row: list[Any], what: str) -> None:
    for value in row:
        if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
            raise ImportFileRefused(
                format_lazy(
                    _("{what} has a cell longer than {MAX_CELL_CHARS} characters."),
                    what=what,
                    MAX_CELL_CHARS=MAX_CELL_CHARS,
                )
            )


class CSV(base_formats.CSV):
    """CSV read by the ``csv`` module row by row, within the limits."""

    def create_dataset(self, in_stream: Any, **kwargs: Any) -> tablib.Dataset:
        if isinstance(in_stream, bytes):
            check_file_size(len(in_stream))
            in_stream = in_stream.decode(self.encoding or "utf-8-sig")
        check_file_size(len(in_stream))
        return _table(self._rows(in_stream))

    @staticmethod
    def _rows(text: str) -> Iterator[list[Any]]:
        # A cell longer than the csv module's own limit (128 KiB) stops it; say so plainly.
        reader = csv.reader(io.StringIO(text, newline=""))
        line = 0
        try:
            for line, row in enumerate(reader, start=1):
                if len(row) > MAX_COLUMNS:
                    _check_width(
                        row,
                        _("The header") if line == 1 else format_lazy(_("Line {line}"), line=line),
                    )
                yield row
        except csv.Error as error:
            if "field larger than field limit" in str(error):
                raise ImportFileRefused(
                    format_lazy(
                        _("Line {value} has a cell longer than {MAX_CELL_CHARS} characters."),
                        value=line + 1,
                        MAX_CELL_CHARS=MAX_CELL_CHARS,
                    )
                ) from None
            raise ImportFileRefused(
                format_lazy(
                    _("Line {value} is not valid CSV ({error})."), value=line + 1, error=error
                )
            ) from None


class XLSX(base_formats.XLSX):
    """The first sheet of an XLSX, read by its real cells after the zip's sizes are checked."""

    def create_dataset(self, in_stream: bytes) -> tablib.Dataset:
        check_file_size(len(in_stream))
        check_zip(in_stream)
        # keep_links=False: external links carry cached copies of other workbooks' sheets.
        book = openpyxl.load_workbook(
            io.BytesIO(in_stream), read_only=True, data_only=True, keep_links=False
        )
        try:
            sheet = book.active
            # Ignore the declared <dimension>: rows end at their last real cell and missing
            # rows are empty, instead of every row padded to the claimed width.
            sheet.reset_dimensions()
            return _table(self._rows(sheet), unheaded="drop")
        finally:
            book.close()

    @staticmethod
    def _rows(sheet: Any) -> Iterator[list[Any]]:
        # openpyxl yields an empty row for every row number skipped: a row numbered in the
        # billions would be read for hours. A spreadsheet ends at row 1,048,576 (1.5 s).
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            if number > EXCEL_LAST_ROW:
                raise ImportFileRefused(
                    format_lazy(
                        _(
                            "The sheet has rows past row {EXCEL_LAST_ROW}, a spreadsheet's "
                            "last row."
                        ),
                        EXCEL_LAST_ROW=EXCEL_LAST_ROW,
                    )
                )
            # A row reaching far right (a cell at XFD) is at most 16384 cells; it is looked
            # at and refused, never kept.
            yield list(row)


def check_zip(data: bytes) -> None:
    """Refuse an XLSX whose zip would inflate beyond the limits, from its central directory."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        return  # not a zip: openpyxl says so in its own words
    with archive:
        members = archive.infolist()
        if len(members) > MAX_ZIP_MEMBERS:
            raise ImportFileRefused(
                format_lazy(
                    _(
                        "The workbook holds {count} parts; a case list needs far fewer (at "
                        "most {MAX_ZIP_MEMBERS}). Save the sheet alone in a new workbook."
                    ),
                    count=len(members),
                    MAX_ZIP_MEMBERS=MAX_ZIP_MEMBERS,
                )
            )
        total = sum(member.file_size for member in members)
        if total > MAX_UNCOMPRESSED_BYTES:
            raise ImportFileRefused(
                format_lazy(
                    _(
                        "The workbook is {mb} uncompressed; a case list is at most {mb2} "
                        "uncompressed. Save the sheet alone in a new workbook, or split it."
                    ),
                    mb=_mb(total),
                    mb2=_mb(MAX_UNCOMPRESSED_BYTES),
                )
            )
        for member in members:
            _check_part(archive, member)


_PREFIX = rb"<(?:[A-Za-z_][\w.-]*:)?"
_SHARED_STRING = re.compile(_PREFIX + rb"si[\s/>]")
_ROW = re.compile(_PREFIX + rb"row[\s/>]")
_STYLE_RECORD = re.compile(_PREFIX + rb"(?:xf|numFmt|font|fill|border|dxf|cellStyle)[\s/>]")
# A cell (even empty) right of column CV (100).
_FAR_RIGHT_CELL = re.compile(
    _PREFIX + rb"c\s(?:[^<>]{0,512}?\s)?r\s*=\s*[\"'](?:[D-Z][A-Z]|C[W-Z]|[A-Z]{3,})[0-9]"
)
# Cheap first passes (C speed, no match in a normal sheet) before the exact patterns.
_MAYBE_FAR_RIGHT = re.compile(rb"[\"'](?:[D-Z][A-Z]|C[W-Z]|[A-Z]{3,})[0-9]")
_DECLARED_ENCODING = re.compile(rb"\s*<\?xml[^>]{0,200}?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)")
_UTF8 = {b"utf-8", b"utf8", b"us-ascii", b"ascii"}
_CHUNK = 1024 * 1024


def _part_limit(name: str) -> int:
    if name == "xl/styles.xml":
        return MAX_STYLES_BYTES
    if name.startswith("xl/worksheets/") and name.endswith(".xml"):
        return MAX_SHEET_BYTES
    if name == "xl/sharedStrings.xml":
        return MAX_SHARED_STRINGS_BYTES
    return MAX_PART_BYTES


def _check_part(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> None:
    """One part within its size (from the directory) and, streamed in 1 MB chunks, within
    the element counts; whatever its name, since the content types may rename any part."""
    limit = _part_limit(member.filename)
    if member.file_size > limit:
        raise ImportFileRefused(
            format_lazy(
                _(
                    "The workbook's part {filename} is {value:.1f} MB uncompressed; a case "
                    "list's is at most {value2:.0f} MB. Save the sheet alone in a new "
                    "workbook, or split it."
                ),
                filename=member.filename,
                value=member.file_size / 2**20,
                value2=limit / 2**20,
            )
        )
    styles = member.filename == "xl/styles.xml"
    shared_strings = rows = styles_seen = 0
    try:
        with archive.open(member) as stream:
            for part in _tag_aligned_parts(member.filename, stream):
                # A cheap substring test first: the patterns run only on chunks that may
                # hold such elements (C speed either way: a few ms a MB).
                if b"si" in part:
                    shared_strings += len(_SHARED_STRING.findall(part))
                if b"row" in part:
                    rows += len(_ROW.findall(part))
                if styles:
                    styles_seen += len(_STYLE_RECORD.findall(part))
                _check_counts(member.filename, shared_strings, rows, styles_seen)
                if _MAYBE_FAR_RIGHT.search(part) and _FAR_RIGHT_CELL.search(part):
                    raise ImportFileRefused(
                        format_lazy(
                            _(
                                "The sheet has cells right of column {MAX_COLUMNS} (even "
                                "empty or only formatted); a case list has at most "
                                "{MAX_COLUMNS2} columns. Delete those columns, or copy the "
                                "data alone into a new workbook."
                            ),
                            MAX_COLUMNS=MAX_COLUMNS,
                            MAX_COLUMNS2=MAX_COLUMNS,
                        )
                    )
    except ImportFileRefused:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError) as error:
        raise ImportFileRefused(
            format_lazy(
                _("The workbook's part {filename} is damaged ({error}); save it again."),
                filename=member.filename,
                error=error,
            )
        ) from None


def _tag_aligned_parts(name: str, stream: IO[bytes]) -> Iterator[bytes]:
    """The part's bytes, read 1 MB at a time and each chunk cut before the last tag opening
    in its tail (the rest carried over), so that no pattern is cut in two; the last piece
    follows the end of the stream. The first chunk's declared encoding is checked."""
    carry = b""
    first = True
    while True:
        chunk = stream.read(_CHUNK)
        if first:
            _check_encoding(name, chunk)
            first = False
        buffer = carry + chunk
        if chunk:
            # Scan up to the last tag opening in the tail; every pattern lies within
            # one tag, so none is cut in two.
            cut = buffer.rfind(b"<", max(0, len(buffer) - 4096))
            cut = len(buffer) if cut < 0 else cut
        else:
            cut = len(buffer)
        part, carry = buffer[:cut], buffer[cut:]
        yield part
        if not chunk:
            return


def _check_encoding(name: str, head: bytes) -> None:
    start = head[:4]
    utf16_or_32 = start.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")) or (
        b"\x00" in start and b"<" in start
    )
    declared = _DECLARED_ENCODING.match(head.removeprefix(b"\xef\xbb\xbf"))
    if utf16_or_32 or (declared and declared.group(1).lower() not in _UTF8):
        raise ImportFileRefused(
            format_lazy(
                _(
                    "The workbook's part {name} is not in UTF-8; save the file again as an "
                    "Excel workbook (.xlsx)."
                ),
                name=name,
            )
        )


def _check_counts(name: str, shared_strings: int, rows: int, styles: int) -> None:
    if shared_strings > MAX_SHARED_STRINGS:
        raise ImportFileRefused(
            format_lazy(
                _(
                    "The workbook holds more than {MAX_SHARED_STRINGS} shared strings (part "
                    "{name}); a case list of 5000 rows needs fewer. Save the sheet alone in a"
                    " new workbook, or split it."
                ),
                MAX_SHARED_STRINGS=MAX_SHARED_STRINGS,
                name=name,
            )
        )
    if rows > MAX_SHEET_ROWS:
        raise ImportFileRefused(
            format_lazy(
                _(
                    "The sheet has more than {MAX_SHEET_ROWS} rows, blank or formatted ones "
                    "included; a case list is at most {MAX_ROWS} rows. Delete the empty rows "
                    "below the data, or copy the data alone into a new workbook."
                ),
                MAX_SHEET_ROWS=MAX_SHEET_ROWS,
                MAX_ROWS=MAX_ROWS,
            )
        )
    if styles > MAX_STYLE_RECORDS:
        raise ImportFileRefused(
            format_lazy(
                _(
                    "The workbook's styles (xl/styles.xml) hold more than {MAX_STYLE_RECORDS} "
                    "cell formats; copy the data alone into a new workbook."
                ),
                MAX_STYLE_RECORDS=MAX_STYLE_RECORDS,
            )
        )


DATUM_HELP = _(
    "What the file's coordinates are in, for rows whose datum column is empty: WGS-84 from "
    "GPS, GCJ-02 from AMap/高德 or Tencent, BD-09 from Baidu. They are stored in WGS-84."
)


class CaseImportForm(ImportForm):
    """The admin's import form, refusing a file over the size limit before it is read, with
    the file's coordinate datum."""

    datum = forms.ChoiceField(
        choices=Datum.choices,
        initial=Datum.WGS84,
        required=False,  # left out: WGS-84
        label=_("Coordinate datum"),
        help_text=DATUM_HELP,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        links = " · ".join(
            f'<a href="{reverse("admin:fieldvisit_case_import_template", args=[kind])}">'
            f"{kind.upper()}</a>"
            for kind in ("csv", "xlsx")
        )
        self.fields["import_file"].help_text = mark_safe(  # noqa: S308 (our own links)
            format_lazy(
                _(
                    "One row per case. Template with every column, what goes in it and an "
                    "example: {links}. Dates as YYYY-MM-DD only."
                ),
                links=links,
            )
        )

    def clean_import_file(self) -> Any:
        upload = self.cleaned_data["import_file"]
        try:
            check_file_size(upload.size)
        except ImportFileRefused as refused:
            raise forms.ValidationError(str(refused)) from None
        return upload


class CaseConfirmImportForm(ConfirmImportForm):
    """The confirmation carries the datum chosen with the file."""

    datum = forms.ChoiceField(choices=Datum.choices, required=False, widget=forms.HiddenInput)


def template_csv() -> bytes:
    """The case import template as CSV (UTF-8 with a byte order mark, so Excel reads the
    Chinese example as UTF-8)."""
    out = io.StringIO()
    csv.writer(out).writerows(template_rows())
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def template_xlsx() -> bytes:
    """The template as XLSX: the sheet to fill in, and one that says what each column is."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "cases"
    for row in template_rows():
        sheet.append(row)
    guide = book.create_sheet("columns")
    guide.append([str(_("column")), str(_("required")), str(_("what goes in it"))])
    for column, required, text in COLUMN_GUIDE:
        guide.append([column, str(_("yes") if required else _("no")), str(text)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
