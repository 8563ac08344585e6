"""Request parsers that refuse oversized bodies before reading them whole."""

from __future__ import annotations

import io
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from fieldvisit.api.errors import Problem
from fieldvisit.texts import _, format_lazy


def _over(declared: str, limit: int) -> bool:
    try:
        return int(declared) > limit
    except ValueError:
        return False


class LimitedJSONParser(JSONParser):
    """DRF reads JSON from the raw stream, bypassing DATA_UPLOAD_MAX_MEMORY_SIZE; this
    parser applies the limit itself (413) and turns bad UTF-8 or JSON into a 400."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH", "") if request is not None else ""
        # Refuse on the declared length before reading; else read one byte past the limit.
        raw = b"" if stream is None or _over(declared, limit) else stream.read(limit + 1)
        if _over(declared, limit) or len(raw) > limit:
            raise Problem(
                "request_too_large",
                format_lazy(_("JSON bodies are limited to {limit} bytes."), limit=limit),
            )
        if not raw:
            return {}
        try:
            return super().parse(io.BytesIO(raw), media_type, parser_context)
        except ParseError as exc:
            raise ParseError(format_lazy(_("Malformed JSON: {detail}"), detail=exc.detail)) from exc
        except RecursionError:
            # json raises this (not a ValueError) for arrays or objects nested thousands deep.
            raise ParseError(_("Malformed JSON: nested too deeply.")) from None
