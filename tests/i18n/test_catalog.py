"""The Chinese catalogues are complete: every entry translated, none fuzzy, every placeholder
kept, and the compiled ``.mo`` files are those of the ``.po`` files (``python3 dev.py
messages`` remakes both)."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import polib
import pytest

LOCALE = Path(__file__).resolve().parents[2] / "locale" / "zh_Hans" / "LC_MESSAGES"
DOMAINS = ["django", "djangojs"]
PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|\{\w*(?::[^}]*)?\}|%[sd]")


def catalogue(domain: str) -> polib.POFile:
    return polib.pofile(str(LOCALE / f"{domain}.po"))


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_entry_is_translated_and_none_is_fuzzy(domain: str) -> None:
    po = catalogue(domain)
    assert len(po) > 0
    # A fuzzy header makes gettext tools (msgfmt --use-fuzzy aside) treat the file as a draft.
    assert not po.metadata_is_fuzzy, f"{domain}.po: the header is marked fuzzy"
    empty = [e.msgid for e in po if not e.obsolete and not e.translated() and not e.fuzzy]
    fuzzy = [e.msgid for e in po if e.fuzzy and not e.obsolete]
    assert not empty, f"{len(empty)} untranslated in {domain}.po, e.g. {empty[:5]}"
    assert not fuzzy, f"{len(fuzzy)} fuzzy in {domain}.po, e.g. {fuzzy[:5]}"


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_placeholder_is_kept(domain: str) -> None:
    wrong = []
    for entry in catalogue(domain):
        if entry.obsolete:
            continue
        wanted = sorted(PLACEHOLDER.findall(entry.msgid))
        given = [entry.msgstr] if entry.msgstr else list(entry.msgstr_plural.values())
        for text in given:
            if sorted(PLACEHOLDER.findall(text)) != wanted:
                wrong.append((entry.msgid, text))
    assert not wrong, wrong[:10]


@pytest.mark.parametrize("domain", DOMAINS)
def test_the_compiled_catalogue_is_the_current_one(domain: str) -> None:
    with (LOCALE / f"{domain}.mo").open("rb") as compiled:
        mo = gettext.GNUTranslations(compiled)
    stale = []
    for entry in catalogue(domain):
        if entry.obsolete or not entry.msgstr:
            continue
        key = f"{entry.msgctxt}\x04{entry.msgid}" if entry.msgctxt else entry.msgid
        if mo._catalog.get(key) != entry.msgstr:  # type: ignore[attr-defined]
            stale.append(entry.msgid)
    assert not stale, f"run python3 dev.py messages: {stale[:5]}"
