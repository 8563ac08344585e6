"""Finding English left on a page rendered in Chinese.

A page's readable text (text nodes, and the ``title``, ``alt``, ``placeholder``,
``aria-label`` and button ``value`` attributes; never scripts, styles, code or form values)
is searched for English: a run of two or more English words, or a single word that is one of
our own messages. What a page may show in English is the data it is about (names, addresses
and other values typed in; collected from the database) and a short list of proper names,
units and codes (``ALLOWED``).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from django.apps import apps
from django.db import models

# Proper names, standards, units and codes that stay as they are in Chinese text.
ALLOWED = [
    "SHA-256",
    "SHA256SUMS",
    "Ed25519",
    "RFC 6962",
    "RFC 9162",
    "RFC 3161",
    "RFC 9457",
    "C2SP",
    "tlog-proof",
    "tlog-checkpoint",
    "OpenSSL",
    "openssl",
    "EXIF",
    "GPS",
    "WGS-84",
    "GCJ-02",
    "BD-09",
    "AMap",
    "Baidu",
    "Tencent",
    "OpenStreetMap",
    "Leaflet",
    "JSON",
    "CSV",
    "XLSX",
    "xlsx",
    "csv",
    "API",
    "URL",
    "HTTP",
    "HTTPS",
    "SMS",
    "DingTalk",
    "WeCom",
    "webhook",
    "Webhook",
    "Django",
    "UTC",
    "CST",
    "CNY",
    "ID",
    "PDF",
    "HEIC",
    "JPEG",
    "PNG",
    "M4A",
    "AAC",
    "Opus",
    "WebM",
    "MP3",
    "WAV",
    "FLAC",
    "Android",
    "iOS",
    "Chromium",
    "English",
    "YYYY-MM-DD",
    "Asia/Shanghai",
    "Asia/Urumqi",
    "Europe/London",
    "America/New_York",
    "km",
]

# Django's own admin words that its zh_Hans catalogue does not have yet (the visually hidden
# headers of the navigation sidebar's model table): Django's, not ours.
ALLOWED += ["Add link", "Change or view list link", "Model name"]

SKIPPED_TAGS = {"script", "style", "code", "pre", "textarea", "select", "option", "noscript"}
READ_ATTRIBUTES = {"title", "alt", "placeholder", "aria-label"}
WORD = "[A-Za-z][A-Za-z'\u2019]*[A-Za-z]"
PHRASE = re.compile(rf"\b{WORD}(?:[ \-,]+{WORD})+\b")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIPPED_TAGS:
            self.skipping += 1
        values = dict(attrs)
        for name in READ_ATTRIBUTES:
            if values.get(name):
                self.parts.append(values[name] or "")
        if tag == "input" and values.get("type") in {"submit", "button"} and values.get("value"):
            self.parts.append(values["value"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED_TAGS and self.skipping:
            self.skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self.skipping and data.strip():
            self.parts.append(data.strip())


def readable_text(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    return parser.parts


def data_values() -> set[str]:
    """Every text typed into the database (names, addresses, notes, usernames, ...)."""
    values: set[str] = set()
    for model in apps.get_models():
        fields = [
            f.name
            for f in model._meta.concrete_fields
            if isinstance(f, models.CharField | models.TextField) and not f.choices
        ]
        if not fields:
            continue
        for row in model._default_manager.values_list(*fields):
            values.update(v for v in row if isinstance(v, str) and len(v) > 1)
    return values


def english_left(html: str, ours: set[str], data: set[str]) -> list[str]:
    """The English phrases left on the page, once the data and ``ALLOWED`` are taken out."""
    removable = sorted(data | set(ALLOWED), key=len, reverse=True)
    found = []
    for part in readable_text(html):
        text = part
        for value in removable:
            if value in text:  # whole words only: "auth" in "authority" stays
                text = re.sub(rf"(?<![A-Za-z]){re.escape(value)}(?![A-Za-z])", " ", text)
        phrases = PHRASE.findall(text)
        words = re.findall(WORD, text)
        found += phrases
        found += [w for w in words if w in ours and not any(w in p for p in phrases)]
    return found
