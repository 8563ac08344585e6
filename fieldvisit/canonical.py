"""Canonical JSON (RFC 8785): the exact bytes hashed for ledger entries, checkpoints, a
report's content and a request's idempotency key.

A hash is taken over exact bytes, so the same value must always serialize to the same bytes.
RFC 8785 fixes key order, number and string forms; ``rfc8785`` refuses integers beyond 2**53,
so money, identifiers and fine-grained times are turned into strings here first.
"""

from __future__ import annotations

import datetime as dt
import decimal
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
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, Promise):  # a lazy message: in the deployment's language
        return for_records(value)
    if isinstance(value, int):
        return value if abs(value) <= 2**53 else str(value)
    if isinstance(value, float):
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
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [jsonable(item) for item in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    raise TypeError(f"cannot put {type(value).__name__} in a ledger entry")


def canonical_json(value: Any) -> bytes:
    return rfc8785.dumps(jsonable(value))
