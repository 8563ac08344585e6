"""Logging filters that need nothing of Django's apps (the logging configuration loads them
before the apps are ready)."""

from __future__ import annotations

import logging


class OneLineRefusals(logging.Filter):
    """A refused request (403) is logged as one line with who and where; its traceback tells
    nothing a reader needs, and hundreds of them bury the errors that matter."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403:
            record.exc_info = None
            record.exc_text = None
        return True
