"""Phones retry freely: a record created with a client UUID is created once.

The same ``id`` with the same content answers 200 with the existing record; the same ``id``
with other content (or from someone else) is ``409 id_conflict``. Content is compared by a
SHA-256 fingerprint of the validated input, stored on the record.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from django.db import IntegrityError, models
from rest_framework import status
from rest_framework.response import Response

from fieldvisit.actions.common import Recorded
from fieldvisit.api.errors import Problem
from fieldvisit.canonical import canonical_json, jsonable
from fieldvisit.db import rows
from fieldvisit.texts import _, format_lazy

T = TypeVar("T", bound=models.Model)


def _plain(value: Any) -> Any:
    if isinstance(value, models.Model):
        return str(value.pk)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return jsonable(value)


def fingerprint(user_id: int, payload: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json({"by": user_id, "payload": _plain(payload)})).hexdigest()


def id_conflict(record_id: uuid.UUID) -> Problem:
    return Problem(
        "id_conflict",
        format_lazy(
            _("The id {record_id} was already used for a different record."), record_id=record_id
        ),
    )


def create_once(
    model: type[T],
    record_id: uuid.UUID,
    digest: str,
    create: Callable[[], T],
    field: str = "request_sha256",
    look_first: bool = True,
) -> tuple[T, bool]:
    """Return ``(record, created)``; raise ``id_conflict`` when the id holds other content.

    ``look_first=False``: ``create`` itself finds an existing record under its lock and
    raises ``actions.common.Recorded`` (one query fewer on every first request)."""

    def existing() -> T | None:
        found = rows.by_pk(model, record_id)
        if found is not None and getattr(found, field) != digest:
            raise id_conflict(record_id)
        return found

    if look_first:
        found = existing()
        if found is not None:
            return found, False
    try:
        return create(), True
    except (IntegrityError, Recorded):
        # A concurrent retry of the same request won the race: answer with its record.
        found = existing()
        if found is None:
            raise
        return found, False


def answer(data: Any, created: bool) -> Response:
    """201 for a new record, 200 for a retry that found the same record."""
    return Response(data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
