"""Words people read, in their language: where a message becomes text.

Every message is written in English in the code and marked for translation with ``_``
(``gettext_lazy``); one that takes values is ``format_lazy(_("… {name} …"), name=value)``. It
stays lazy until one of two moments turns it into text:

- **Shown to a person** (an API problem's ``title`` and ``detail``, an admin page, a message, a
  mail to one person): in the language active for that request. ``LocaleMiddleware`` takes it
  from the browser (``Accept-Language``), ``fieldvisit.sign_in`` from the user's profile when set.
- **Written into a record** (an alert, a ledger entry, a review's verdict): in the deployment's
  language, ``settings.LANGUAGE_CODE``, whoever caused it and whatever their phone speaks, so a
  record reads the same for everyone and its ledger bytes never depend on a request's headers.
  ``for_records`` does it; ``fieldvisit.canonical`` calls it on anything lazy in a ledger entry.

So a message built from other messages is built lazily too (``format_lazy("{}: {}", name,
verdict.detail)``), never with an f-string, which would fix it in whatever language happens to
be active there. The rules (pure, no Django) import their marker from here: translation is the
one piece of Django they may use (``pyproject.toml``, contract ``pure-rules``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.functional import Promise
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import override, pgettext_lazy

__all__ = [
    "Promise",
    "_",
    "for_records",
    "format_lazy",
    "pgettext_lazy",
    "records_language",
]


def records_language() -> override:
    """``with records_language():`` text made inside is in the deployment's language."""
    return override(settings.LANGUAGE_CODE)


def for_records(value: Any) -> Any:
    """``value`` as it is written into a record: a lazy message as text in the deployment's
    language; anything else unchanged."""
    if isinstance(value, Promise):
        with records_language():
            return str(value)
    return value
