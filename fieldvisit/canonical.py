"""Canonical JSON (RFC 8785): the exact bytes hashed for ledger entries, checkpoints, a
report's content and a request's idempotency key.

A hash is taken over exact bytes, so the same value must always serialize to the same bytes.
RFC 8785 fixes key order, number and string forms; ``rfc8785`` refuses integers from 2**53 on,
so money, identifiers and fine-grained times are turned into strings here first.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid
from collections.abc import Mapping
from typing import Any

import rfc8785

from fieldvisit.texts import Promise, for_records


def iso(moment: dt.datetime) -> str:
    """An aware datetime as ISO 8601 in UTC with microseconds and ``Z``."""
    if moment.tzinfo is None:
        raise ValueError("ledger times must be timezone-aware")
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def jsonable(value: Any) -> Any:
    """Turn domain values into the JSON types RFC 8785 can encode without loss."""
    return _jsonable(value, [])


def _jsonable(value: Any, odd: list[bool]) -> Any:
    """``jsonable``, noting in ``odd`` a float written otherwise by ECMAScript than by Python
    or a non-ASCII key: without either, the standard library writes the very bytes RFC 8785
    asks for (sorted keys, no whitespace, the same escapes), several times faster; those
    floats (ECMAScript number forms) and non-ASCII keys (sorted by UTF-16 code units) go
    through ``rfc8785``."""
    # The common types first, by exact type (an entry is mostly these): the same results as
    # the general rules below, a fraction of their cost.
    kind = type(value)
    if kind is str:
        return value
    if kind is dict:
        out = {
            (key if type(key) is str else str(key)): _jsonable(item, odd)
            for key, item in value.items()
        }
        if not all(map(str.isascii, out)):
            odd.append(True)
        return out
    if kind is int:
        return value if -_SAFE < value < _SAFE else str(value)
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, Promise):  # a lazy message: in the deployment's language
        return for_records(value)
    if isinstance(value, int):
        return value if abs(value) < _SAFE else str(value)  # rfc8785: |n| <= 2**53 - 1
    if isinstance(value, float):
        # ECMAScript writes a whole number without ".0" (8.0 -> 8, -0.0 -> 0), and any other
        # number from 1e-4 up to 1e16 exactly as Python's repr does (the shortest digits that
        # read back the same, in fixed notation): positions, accuracies and distances take
        # the fast path; other exponents, NaN and infinities go through rfc8785.
        if value.is_integer() and abs(value) < _SAFE:
            return int(value)
        if value.is_integer() or not 1e-4 <= abs(value) < 1e16:
            odd.append(True)
        return value
    if isinstance(value, dt.datetime):
        return iso(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Mapping):
        out = {str(key): _jsonable(item, odd) for key, item in value.items()}
        if not all(key.isascii() for key in out):
            odd.append(True)
        return out
    if isinstance(value, list | tuple | set | frozenset):
        items = [_jsonable(item, odd) for item in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    raise TypeError(f"cannot put {type(value).__name__} in a ledger entry")


_SAFE = 2**53
# What ``json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))`` builds
# on every call, built once.
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


_STRING = json.encoder.encode_basestring  # as _ENCODER writes a string (no ASCII escapes)


def entry_json(
    index: int,
    kind: str,
    at: str,
    actor: Any,
    subject: str,
    data: Any,
    chain: Any = None,
) -> bytes:
    """``canonical_json`` of a ledger entry's content, {"index", "kind", "at", "actor",
    "subject", "data"} and "chain" unless None: the same bytes, its own fields written here
    in their key order (ASCII keys: sorted the same by RFC 8785) and only the nested values
    through ``canonical_json`` (RFC 8785 writes a member's value alone as within its object),
    which spares the general walk over the content (a tenth of an append's Python)."""
    if (
        type(index) is int
        and 0 <= index < _SAFE
        and type(kind) is str
        and type(subject) is str
        and type(at) is str
    ):
        try:
            return b"".join(
                (
                    b'{"actor":',
                    canonical_json(actor),
                    b',"at":',
                    _STRING(at).encode(),
                    b"" if chain is None else b',"chain":' + canonical_json(chain),
                    b',"data":',
                    canonical_json(data),
                    b',"index":%d,"kind":' % index,
                    _STRING(kind).encode(),
                    b',"subject":',
                    _STRING(subject).encode(),
                    b"}",
                )
            )
        except UnicodeEncodeError:  # a lone surrogate: the whole goes where it always went
            pass
    content = {"index": index, "kind": kind, "at": at, "actor": actor, "subject": subject}
    content["data"] = data
    if chain is not None:
        content["chain"] = chain
    return canonical_json(content)


def canonical_json(value: Any) -> bytes:
    odd: list[bool] = []
    data = _jsonable(value, odd)
    if not odd:
        text = _ENCODER.encode(data)
        try:
            return text.encode()
        except UnicodeEncodeError:  # a lone surrogate: rfc8785 decides, as it always did
            pass
    return rfc8785.dumps(data)
