"""Personal data kept out of sight: ID numbers masked for agents (DESIGN rule 12), and ID
numbers, phone numbers, names and search terms masked in logs.

No model imports here: the logging filter is loaded while Django configures logging, before
the apps are ready.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote_plus

# Resident identity numbers: 18 characters (17 digits and a check digit or X) or the older
# 15 digits, standing alone (not inside a longer number, hash or word).
ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(?:\d{17}[0-9Xx]|\d{15})(?![0-9A-Za-z])")


def mask_id_number(value: str) -> str:
    """Show only what identifies the document to the holder: the first 3 and last 4 characters.

    Agents see masked numbers (privacy rule 12); short values keep only their last 2.
    """
    value = value or ""
    if len(value) >= 10:
        return value[:3] + "*" * (len(value) - 7) + value[-4:]
    if len(value) > 2:
        return "*" * (len(value) - 2) + value[-2:]
    return "*" * len(value)


def mask_id_numbers_in(text: str) -> str:
    """``text`` with every ID number in it masked."""
    return ID_NUMBER.sub(lambda match: mask_id_number(match.group()), text)


# Mainland mobile numbers (11 digits from 13x to 19x, with an optional +86 and the usual
# 3-4-4 separators), standing alone.
PHONE_NUMBER = re.compile(
    r"(?<![0-9A-Za-z+])(?:\+?86[- ]?)?(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?![0-9A-Za-z])"
)
# Chinese script: debtors' and relations' names, addresses. The application logs in English,
# so Han characters in a log line are personal data (a 404's path, a search). Non-ASCII text
# percent-encoded in a request line, or escaped by Django's request log (``\u738b``), is the
# same text, encoded.
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+")
ENCODED_NON_ASCII = re.compile(
    r"(?:%[89A-Fa-f][0-9A-Fa-f]|\\x[89a-fA-F][0-9a-fA-F]|\\u[0-9a-fA-F]{4}|\\U[0-9a-fA-F]{8})+"
)
# A URL's query string in a request line, an access log's referrer, a message: after a path
# character, up to whitespace or a quote.
QUERY = re.compile(r"(?<=[\w/.~-])\?(?P<query>[^\s\"'<>#?]*=[^\s\"'<>#]*)")
# Query parameters whose values are never personal: pages, days, ledger positions, admin
# sorting; and values shaped like nothing personal (numbers of at most five digits, which no
# phone or account number is; dates, UUIDs, hashes).
SAFE_PARAMETERS = frozenset(
    {"page", "page_size", "date", "entry", "tree_size", "first", "second", "key_id", "format",
     "o", "p", "e", "all", "status", "kind", "_popup", "_to_field"}
)  # fmt: skip
SAFE_VALUE = re.compile(
    r"\d{1,5}|\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?"
    r"|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|[0-9a-fA-F]{32,}|true|false"
)
MASKED = "***"


def mask_phone_number(match: re.Match[str]) -> str:
    return f"{match[1]}****{match[3]}"


def _masked_value(value: str) -> str:
    """A query value that may be a search term: an ID or phone number keeps the few
    characters that identify it to its holder; anything else is hidden entirely."""
    text = unquote_plus(value).strip()
    if ID_NUMBER.fullmatch(text):
        return mask_id_number(text)
    phone = PHONE_NUMBER.fullmatch(text)
    if phone:
        return mask_phone_number(phone)
    return MASKED if value else value


def _masked_query(match: re.Match[str]) -> str:
    parts = []
    for part in match["query"].split("&"):
        key, equals, value = part.partition("=")
        if not equals:
            parts.append(_masked_value(key))
        elif key.lower() in SAFE_PARAMETERS or SAFE_VALUE.fullmatch(unquote_plus(value)):
            parts.append(part)
        else:
            parts.append(f"{key}={_masked_value(value)}")
    return "?" + "&".join(parts)


def mask_personal_data_in(text: str) -> str:
    """``text`` as it may be logged: query-string values that may be search terms hidden
    (ID and phone numbers masked), and ID numbers, phone numbers and Chinese text masked
    wherever they stand (a path, a message, a traceback)."""
    text = QUERY.sub(_masked_query, text)
    text = mask_id_numbers_in(text)
    text = PHONE_NUMBER.sub(mask_phone_number, text)
    text = HAN.sub(MASKED, text)
    return ENCODED_NON_ASCII.sub(MASKED, text)


class MaskPersonalData(logging.Filter):
    """A handler filter: the message, its arguments and any traceback leave with personal
    data masked (``mask_personal_data_in``), whichever logger wrote them: the development
    server's and gunicorn's request lines with their query strings, a 404's path, an
    exception."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the formatter's own handling
            return True
        masked = mask_personal_data_in(message)
        if masked != message:
            record.msg, record.args = masked, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_personal_data_in(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_personal_data_in(record.stack_info)
        return True
