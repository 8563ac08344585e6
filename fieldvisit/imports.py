"""Case import from the risk department's CSV or XLSX lists (django-import-export).

One row per case, keyed on the case ``number``, so importing the same file again changes
nothing (every row is reported as skipped). The creditor is named by its ``code`` and the team
by its ``name``; neither is created by an import, since a creditor carries the contract's rule
settings and a team its agents. Addresses come in per-kind columns (``home_address``,
``home_lat``, ``home_lon``, ``work_address``, ...), one ``timezone`` column and one ``datum``
column (``wgs84``, ``gcj02`` for AMap/高德 or Tencent, ``bd09`` for Baidu; empty: the import's
default, chosen on the import form): coordinates are stored in WGS-84, converted on the way
in, with what the row gave kept beside them. An address is found again by its case, kind and
text. Nothing is deleted, and an address an approved route
visits keeps its location (the model refuses the move; the row reports it). The identity
number and phone are checked and written in one form by ``Case.clean`` (``fieldvisit.cn_ids``:
GB 11643-1999, the 15-digit form converted; mainland mobiles): a wrong one is the row's error
in its column.

Case changes are not ledger events (the ledger records routes from their submission, with
each stop's case and address), so the import writes through the models' own validation.
Cases are only imported here, never exported: the file would carry full ID numbers.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from import_export import fields, resources, widgets
from import_export.instance_loaders import CachedInstanceLoader

from fieldvisit.access import staff_scope, team_in_scope
from fieldvisit.choices import AddressKind, CaseStatus, Datum
from fieldvisit.cn_ids import NumberRefused, normal_id_number, normal_mobile
from fieldvisit.models import Address, Case, Creditor, Team
from fieldvisit.texts import Promise, _, format_lazy

ADDRESS_KINDS = [kind.value for kind in AddressKind]
ADDRESS_COLUMNS = [
    *(f"{kind}_{part}" for kind in ADDRESS_KINDS for part in ("address", "lat", "lon")),
    "timezone",
    "datum",
]
DATUMS = {datum.value for datum in Datum}


class NamedForeignKeyWidget(widgets.ForeignKeyWidget):
    """A foreign key by a natural key, with a row error (not a traceback) when unknown."""

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> Any:
        value = "" if value is None else str(value).strip()
        if not value:
            return None
        try:
            return super().clean(value, row, **kwargs)
        except ObjectDoesNotExist as exc:
            name = self.model._meta.verbose_name
            raise ValueError(
                format_lazy(
                    _("No {name} with {field} {value!r}."),
                    name=name,
                    field=self.field,
                    value=value,
                )
            ) from exc


class TrimmedCharWidget(widgets.CharWidget):
    """Spreadsheet cells arrive padded, and numbers-as-text as numbers: one spelling each."""

    def __init__(self, upper: bool = False, **kwargs: Any) -> None:
        super().__init__(allow_blank=True, **kwargs)
        self.upper = upper

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> Any:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        text = "" if value is None else str(value).strip()
        return text.upper() if self.upper else text


SCIENTIFIC = re.compile(r"^\d(\.\d+)?E\+\d+$", re.IGNORECASE)  # 3.10101198203154E+17


class NumberWidget(TrimmedCharWidget):
    """A number written in its one form (``fieldvisit.cn_ids``) as the row is read, so a file
    that spells it otherwise ("+86 138-0013-8000", the 15-digit identity number) is unchanged
    when imported again. A wrong number is left as given: ``Case.clean`` refuses it, with
    its code, in its column."""

    def __init__(self, normal: Callable[[str], str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.normal = normal

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> Any:
        text = super().clean(value, row, **kwargs)
        try:
            return self.normal(text) if text else text
        except NumberRefused:
            return text


class IdNumberWidget(NumberWidget):
    """An identity number typed into a spreadsheet cell that holds numbers: Excel keeps 15
    significant digits, so an 18-digit number arrives with its last digits lost (or in
    scientific notation). Say so, rather than that a digit was mistyped."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(normal_id_number, **kwargs)

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> Any:
        if (isinstance(value, float) and abs(value) >= 1e15) or (
            isinstance(value, str) and SCIENTIFIC.match(value.strip())
        ):
            raise ValueError(
                _(
                    "The identity number is stored as a number in the spreadsheet, which keeps "
                    "only 15 digits: format the column as text and enter the number again."
                )
            )
        return super().clean(value, row, **kwargs)


class FlexibleBooleanWidget(widgets.BooleanWidget):
    TRUE_VALUES = [*widgets.BooleanWidget.TRUE_VALUES, "yes", "Yes", "YES", "是"]
    FALSE_VALUES = [*widgets.BooleanWidget.FALSE_VALUES, "no", "No", "NO", "否"]

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
        if value in (None, ""):
            return True  # the model's default: the account is reachable
        if value not in self.TRUE_VALUES and value not in self.FALSE_VALUES:
            raise ValueError(format_lazy(_("{value!r} is not yes or no."), value=value))
        return super().clean(value, row, **kwargs)


ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class DayWidget(widgets.DateWidget):
    """A spreadsheet date cell is a datetime at midnight: the day is what counts. Text is
    read as ISO 8601 (YYYY-MM-DD) only: "01/09/2026" is 1 September in Shanghai and 9 January
    in Django's default formats, so any other form is a row error rather than a guess."""

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> Any:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        text = "" if value is None else str(value).strip()
        if not text:
            return None
        if not ISO_DAY.match(text):
            raise ValueError(
                format_lazy(
                    _(
                        "Give the date as YYYY-MM-DD (ISO 8601): {text!r} could be read more "
                        "than one way."
                    ),
                    text=text,
                )
            )
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise ValueError(format_lazy(_("{text!r} is not a date."), text=text)) from None


class AddressesField(fields.Field):
    """Shown in the preview's diff: the case's addresses before and after the row."""

    def get_value(self, instance: Any) -> str:
        if instance is None or instance._state.adding:
            return ""
        return "; ".join(
            f"{a.kind}: {a.text} ({a.lat}, {a.lon})"
            for a in Address.objects.filter(case_id=instance.pk).order_by("kind", "text")
        )


@dataclass
class AddressRow:
    kind: str
    text: str
    lat: float | None  # as the row gives it, in ``datum``
    lon: float | None
    timezone: str | None  # None: keep what is stored (or none for a new address)
    datum: str = Datum.WGS84
    existing: Address | None = None

    def placed(self, address: Address) -> Address:
        address.place(self.lat, self.lon, self.datum)
        return address

    def differs(self) -> bool:
        stored = self.existing
        if stored is None:
            return True
        wanted = self.placed(Address())
        return (stored.lat, stored.lon, stored.source_datum) != (
            wanted.lat,
            wanted.lon,
            self.datum,
        ) or (self.timezone is not None and stored.timezone != self.timezone)


def _cell(row: Any, column: str) -> str:
    value = row.get(column)
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and not column.endswith(("lat", "lon")):
        value = int(value)
    return str(value).strip()


def _coordinate(row: Any, column: str, errors: dict[str, list[str]]) -> float | None:
    raw = _cell(row, column)
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        errors.setdefault(column, []).append(format_lazy(_("{raw!r} is not a number."), raw=raw))
        return None


class CaseResource(resources.ModelResource):
    number = fields.Field("number", "number", TrimmedCharWidget())
    creditor = fields.Field("creditor", "creditor", NamedForeignKeyWidget(Creditor, "code"))
    team = fields.Field("team", "team", NamedForeignKeyWidget(Team, "name"))
    debtor_name = fields.Field("debtor_name", "debtor_name", TrimmedCharWidget())
    debtor_id_number = fields.Field(
        "debtor_id_number", "debtor_id_number", IdNumberWidget(upper=True)
    )
    debtor_phone = fields.Field("debtor_phone", "debtor_phone", NumberWidget(normal_mobile))
    currency = fields.Field("currency", "currency", TrimmedCharWidget(upper=True))
    reachable = fields.Field("reachable", "reachable", FlexibleBooleanWidget())
    status = fields.Field("status", "status", TrimmedCharWidget())
    notes = fields.Field("notes", "notes", TrimmedCharWidget())
    overdue_since = fields.Field("overdue_since", "overdue_since", DayWidget())
    addresses = AddressesField(column_name="addresses", readonly=True)

    def __init__(self, datum: str = Datum.WGS84, **kwargs: Any) -> None:
        """``datum``: what rows without a ``datum`` value give their coordinates in."""
        super().__init__(**kwargs)
        self.default_datum = datum

    class Meta:
        model = Case
        import_id_fields = ["number"]
        fields = [
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
            "addresses",
        ]
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True
        use_transactions = True
        instance_loader_class = CachedInstanceLoader

    def get_user_visible_fields(self) -> list[fields.Field]:
        case_fields = [f for f in super().get_user_visible_fields() if f.column_name != "addresses"]
        return case_fields + [fields.Field(column_name=c) for c in ADDRESS_COLUMNS]

    def import_field(self, field: fields.Field, instance: Case, row: Any, *args: Any, **kw: Any):  # type: ignore[no-untyped-def]
        # An existing case's status changes only with a reason, a record and a ledger entry
        # (``actions.cases``): an import sets the status of new cases alone.
        if field.attribute == "status" and not instance._state.adding:
            return None
        # Cells that do not parse are the row's errors, named by their column.
        try:
            return super().import_field(field, instance, row, *args, **kw)
        except (ArithmeticError, TypeError, ValueError) as exc:
            # A message of ours stays lazy; any other is the library's text.
            message = (
                exc.args[0] if len(exc.args) == 1 and isinstance(exc.args[0], Promise) else str(exc)
            )
            if isinstance(exc, decimal.DecimalException):
                message = format_lazy(
                    _("{get!r} is not an amount."), get=row.get(field.column_name)
                )
            raise ValueError(
                message or format_lazy(_("{get!r} is not valid."), get=row.get(field.column_name))
            ) from exc

    def import_instance(self, instance: Case, row: Any, **kwargs: Any) -> None:
        errors: dict[str, list[str]] = {}
        before = None if instance._state.adding else instance.team_id
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as exc:
            errors = exc.message_dict
        if kwargs.get("user") is None:
            # No importer, no scope to check against: fail closed.
            errors.setdefault("team", []).append(_("No importer: the team cannot be checked."))
        else:
            # The importer's scope (planners: every team; anyone else: the teams they
            # oversee), for the case's team now and the team the row gives it.
            scope = staff_scope(kwargs["user"], "")
            if before is not None and not team_in_scope(scope, before):
                errors.setdefault("number", []).append(_("A case of a team you do not plan for."))
            elif not team_in_scope(scope, instance.team_id):
                errors.setdefault("team", []).append(_("Not a team you plan for."))
        instance._import_addresses = self._addresses(instance, row, errors)  # type: ignore[attr-defined]
        if errors:
            raise ValidationError(errors)

    def _addresses(self, case: Case, row: Any, errors: dict[str, list[str]]) -> list[AddressRow]:
        zone = _cell(row, "timezone") or None
        datum = _cell(row, "datum").lower() or self.default_datum
        if datum not in DATUMS:
            errors.setdefault("datum", []).append(
                format_lazy(
                    _(
                        "Unknown datum {datum!r}: give wgs84, gcj02 (AMap/高德, Tencent) or bd09 "
                        "(Baidu)."
                    ),
                    datum=datum,
                )
            )
            datum = Datum.WGS84
        stored = [] if case._state.adding else list(Address.objects.filter(case_id=case.pk))
        found = []
        for kind in ADDRESS_KINDS:
            text = _cell(row, f"{kind}_address")
            lat = _coordinate(row, f"{kind}_lat", errors)
            lon = _coordinate(row, f"{kind}_lon", errors)
            if not text:
                if lat is not None or lon is not None:
                    errors.setdefault(f"{kind}_address", []).append(
                        _("Coordinates without an address.")
                    )
                continue
            item = AddressRow(kind, text, lat, lon, zone, datum)
            item.existing = next((a for a in stored if (a.kind, a.text) == (kind, text)), None)
            candidate = item.existing or Address(kind=kind, text=text)
            if item.differs():
                item.placed(candidate)
                if zone is not None:
                    candidate.timezone = zone
                try:
                    candidate.full_clean(exclude=["case"])
                except ValidationError as exc:
                    for name, messages in exc.message_dict.items():
                        column = f"{kind}_{'address' if name in ('text', '__all__') else name}"
                        if name == "timezone":
                            column = "timezone"
                        errors.setdefault(column, []).extend(messages)
            found.append(item)
        return found

    def skip_row(
        self, instance: Case, original: Case, row: Any, import_validation_errors: Any = None
    ) -> bool:  # type: ignore[override]
        if not super().skip_row(instance, original, row, import_validation_errors):
            return False
        return not any(item.differs() for item in getattr(instance, "_import_addresses", []))

    def after_save_instance(self, instance: Case, row: Any, **kwargs: Any) -> None:
        for item in getattr(instance, "_import_addresses", []):
            if not item.differs():
                continue
            address = item.placed(
                item.existing or Address(case=instance, kind=item.kind, text=item.text)
            )
            if item.timezone is not None:
                address.timezone = item.timezone
            address.save()


# The file a planner fills in: every column, whether it is needed, and what goes in it. The
# template (``template_rows``) and the import form's help are made from this one list.
COLUMN_GUIDE: list[tuple[str, bool, str]] = [
    (
        "number",
        True,
        _("The case number: unique; importing the same number again updates the case."),
    ),
    ("creditor", True, _("The creditor's code, as set up in admin (e.g. acme).")),
    ("team", False, _("The field team's name, as in admin; empty: not assigned yet.")),
    ("debtor_name", True, _("The debtor's full name.")),
    (
        "debtor_id_number",
        False,
        _(
            "18-character resident ID number (15-digit old form converted); a text cell, not a "
            "number, in a spreadsheet."
        ),
    ),
    ("debtor_phone", False, _("Mainland mobile number, 11 digits (+86 allowed).")),
    ("amount_due", True, _("Amount due, a number with at most 2 decimals (e.g. 52000.50).")),
    ("currency", False, _("ISO 4217 code; empty: CNY.")),
    ("overdue_since", False, _("Date as YYYY-MM-DD (ISO 8601); no other form is read.")),
    ("reachable", False, _("yes / no (是 / 否); empty: yes.")),
    (
        "status",
        False,
        format_lazy(_("One of: {join}; empty: open."), join=", ".join(CaseStatus.values)),
    ),
    ("notes", False, _("Free text.")),
    *(
        (f"{kind}_{part}", False, text)
        for kind in ADDRESS_KINDS
        for part, text in (
            (
                "address",
                format_lazy(
                    _("The {replace} address, as written on the letter."),
                    replace=kind.replace("_", " "),
                ),
            ),
            ("lat", _("Latitude in decimal degrees, in the row's datum.")),
            ("lon", _("Longitude in decimal degrees, in the row's datum.")),
        )
    ),
    ("timezone", False, _("IANA zone of the addresses (e.g. Asia/Shanghai); empty: from the map.")),
    (
        "datum",
        False,
        _("wgs84 (GPS), gcj02 (AMap/高德, Tencent) or bd09 (Baidu); empty: the form's."),
    ),
]
EXAMPLE = {
    "number": "C-2026-0001",
    "creditor": "acme",
    "team": "Huangpu",
    "debtor_name": "王建国",
    "debtor_id_number": "310101198203154511",
    "debtor_phone": "13800138000",
    "amount_due": "52000.50",
    "currency": "CNY",
    "overdue_since": "2026-08-01",
    "reachable": "yes",
    "status": "open",
    "home_address": "上海市黄浦区南京东路 300 号 5 楼",
    "home_lat": "31.23590",
    "home_lon": "121.48430",
    "timezone": "Asia/Shanghai",
    "datum": "wgs84",
}


def template_rows() -> list[list[str]]:
    """The template: the header, then one example row."""
    header = [column for column, _, _ in COLUMN_GUIDE]
    return [header, [EXAMPLE.get(column, "") for column in header]]
