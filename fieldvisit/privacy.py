"""Personal data kept out of sight: ID numbers masked for agents (DESIGN rule 12) and in logs.

No model imports here: the logging filter is loaded while Django configures logging, before
the apps are ready.
"""

from __future__ import annotations

import logging
import re

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


class MaskIdNumbers(logging.Filter):
    """A handler filter: the message, its arguments and any traceback leave with ID numbers
    masked, whichever logger wrote them (a 404's path, a query string, an exception)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the formatter's own handling
            return True
        masked = mask_id_numbers_in(message)
        if masked != message:
            record.msg, record.args = masked, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_id_numbers_in(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_id_numbers_in(record.stack_info)
        return True
