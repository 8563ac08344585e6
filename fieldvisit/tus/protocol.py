"""The tus headers: parsing what clients send, with a clear error for anything malformed."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from email.utils import format_datetime

from fieldvisit.rules import RuleViolation
from fieldvisit.texts import _, format_lazy
from fieldvisit.tus import CHECKSUMS

METADATA_KEY = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
DIGITS = re.compile(r"^[0-9]{1,19}$")


def malformed(detail: str, header: str) -> RuleViolation:
    return RuleViolation("malformed_request", detail, {header: [detail]})


def parse_int(value: str | None, header: str) -> int | None:
    """A non-negative decimal header (Upload-Length, Upload-Offset); None when absent."""
    if value is None:
        return None
    value = value.strip()
    if not DIGITS.match(value) or int(value) > 2**63 - 1:
        raise malformed(
            format_lazy(_("{header} must be a non-negative integer."), header=header), header
        )
    return int(value)


def parse_metadata(value: str | None) -> dict[str, str]:
    """``Upload-Metadata``: comma-separated ``key base64value`` pairs (the value optional)."""
    if not value or not value.strip():
        return {}
    found: dict[str, str] = {}
    for pair in value.split(","):
        parts = pair.strip().split(" ")
        key = parts[0]
        if not METADATA_KEY.match(key) or len(parts) > 2 or key in found:
            raise malformed(
                format_lazy(_("Upload-Metadata has an invalid or repeated key {key!r}."), key=key),
                "Upload-Metadata",
            )
        encoded = parts[1] if len(parts) == 2 else ""
        try:
            found[key] = base64.b64decode(encoded, validate=True).decode("utf-8")
            if any(not ch.isprintable() for ch in found[key]):
                raise UnicodeDecodeError("utf-8", b"", 0, 1, "control character")
        except (binascii.Error, UnicodeDecodeError):
            raise malformed(
                format_lazy(
                    _("Upload-Metadata value of {key!r} is not base64 of printable UTF-8 text."),
                    key=key,
                ),
                "Upload-Metadata",
            ) from None
    return found


def format_metadata(metadata: dict[str, str]) -> str:
    return ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}" if value else key
        for key, value in metadata.items()
    )


@dataclass(frozen=True)
class Checksum:
    algorithm: str
    digest: bytes

    def hasher(self) -> hashlib._Hash:
        return hashlib.new(self.algorithm)


def parse_checksum(value: str | None) -> Checksum | None:
    """``Upload-Checksum: <algorithm> <base64 digest>`` of the PATCH body."""
    if value is None:
        return None
    parts = value.strip().split(" ")
    if len(parts) != 2:
        raise malformed(_("Upload-Checksum is '<algorithm> <base64 digest>'."), "Upload-Checksum")
    algorithm, encoded = parts[0].lower(), parts[1]
    if algorithm not in CHECKSUMS:
        raise RuleViolation(
            "checksum_unsupported",
            format_lazy(
                _("Checksum algorithm {algorithm!r} is not supported; use one of {join}."),
                algorithm=algorithm,
                join=", ".join(CHECKSUMS),
            ),
        )
    try:
        digest = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise malformed(_("Upload-Checksum's digest is not base64."), "Upload-Checksum") from None
    if len(digest) != hashlib.new(algorithm).digest_size:
        raise malformed(
            format_lazy(
                _("A {algorithm} digest has {digest_size} bytes."),
                algorithm=algorithm,
                digest_size=hashlib.new(algorithm).digest_size,
            ),
            "Upload-Checksum",
        )
    return Checksum(algorithm, digest)


def http_date(moment: dt.datetime) -> str:
    """RFC 9110 date, as ``Upload-Expires`` wants it."""
    return format_datetime(moment.astimezone(dt.UTC), usegmt=True)
