"""Mainland Chinese resident identity numbers (GB 11643-1999) and mobile numbers, checked and
written one way on entry (admin forms) and import.

An identity number is 18 characters: a 6-digit region code, the date of birth (YYYYMMDD), a
3-digit sequence (odd for men) and an ISO 7064 MOD 11-2 check character (0-9 or X). The old
15-digit form (before 1999: a 2-digit year, no check character) is converted to the
18-digit one, as the public security bureaus do: "19" before the year, the check character
computed. A mobile number is 11 digits starting 13-19; a +86, 0086 or 86 prefix, spaces, dashes,
dots and brackets are dropped. Both are read in half width: full-width digits and X typed with a
Chinese input method are the same number.

Plain functions: each returns the normal form or raises ``NumberRefused`` (a ``ValueError``)
with a sentence a planner understands and a stable ``code``; the models turn it into a form or
import row error with that code:

- ``id_number_format``: neither 18 characters (17 digits and a digit or X) nor 15 digits;
- ``id_number_birth_date``: the date of birth in it is not a date, before 1900 or after today;
- ``id_number_check``: the check character does not match (a digit was mistyped);
- ``mobile_number``: not a mainland mobile number.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from fieldvisit.texts import _, format_lazy

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"
# ASCII digits only: what a Chinese input method types in full width (digits, X, dashes,
# U+FF10...) is folded to ASCII first (NFKC); any other script's digits are refused.
ID_18 = re.compile(r"^\d{17}[\dX]$", re.ASCII)
ID_15 = re.compile(r"^\d{15}$", re.ASCII)
MOBILE = re.compile(r"^1[3-9]\d{9}$", re.ASCII)
SEPARATORS = re.compile(r"[\s\-.()]")


def _plain(value: str | None) -> str:
    """``value`` in half width (NFKC), without spaces, dashes, dots and brackets."""
    return SEPARATORS.sub("", unicodedata.normalize("NFKC", value or ""))


class NumberRefused(ValueError):
    """A number that cannot be right: ``str()`` says why, ``code`` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def check_character(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of the first 17 digits."""
    return CHECK[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def _birth(digits: str, today: dt.date) -> dt.date:
    try:
        born = dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise NumberRefused(
            "id_number_birth_date",
            format_lazy(_("The date of birth in it, {digits}, is not a date."), digits=digits),
        ) from None
    if born.year < 1900 or born > today:
        raise NumberRefused(
            "id_number_birth_date",
            format_lazy(
                _("The date of birth in it, {isoformat}, cannot be right."),
                isoformat=born.isoformat(),
            ),
        )
    return born


def normal_id_number(value: str, today: dt.date | None = None) -> str:
    """The 18-character form of a resident identity number (upper-case X), or NumberRefused."""
    today = today or dt.datetime.now(dt.UTC).date()
    number = _plain(value).upper()
    if ID_15.match(number):
        _birth("19" + number[6:12], today)
        first17 = number[:6] + "19" + number[6:]
        return first17 + check_character(first17)
    if not ID_18.match(number):
        raise NumberRefused(
            "id_number_format",
            _(
                "A resident identity number has 18 characters (17 digits and a digit or X), or 15 "
                "digits in the old form."
            ),
        )
    _birth(number[6:14], today)
    if check_character(number[:17]) != number[17]:
        raise NumberRefused(
            "id_number_check",
            format_lazy(
                _(
                    "The check character does not match (it should be {check_character}): a "
                    "digit was mistyped."
                ),
                check_character=check_character(number[:17]),
            ),
        )
    return number


def normal_mobile(value: str) -> str:
    """The 11-digit form of a mainland mobile number, or NumberRefused."""
    number = _plain(value)
    for prefix in ("+86", "0086"):
        if number.startswith(prefix):
            number = number[len(prefix) :]
    if len(number) == 13 and number.startswith("86"):  # the country code without + or 00
        number = number[2:]
    if not MOBILE.match(number):
        raise NumberRefused(
            "mobile_number",
            _("Give a mainland mobile number: 11 digits starting 13 to 19 (a +86 prefix is fine)."),
        )
    return number
