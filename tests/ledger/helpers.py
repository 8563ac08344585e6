from __future__ import annotations

from django.db import transaction

from fieldvisit.ledger import store

SYSTEM = {"type": "system", "name": "test"}


def append_many(count: int, kind: str = "test.event") -> list[bytes]:
    """Append ``count`` entries in one transaction; return their exact bytes."""
    with transaction.atomic():
        return [
            bytes(store.append(kind, SYSTEM, f"test:{n}", {"n": n}).entry_bytes)
            for n in range(count)
        ]
