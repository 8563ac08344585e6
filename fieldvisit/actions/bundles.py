"""Exporting a bundle: decide its contents, record the download in the ledger, stream it.

The download entry goes under its own subject (``bundle:…``), never under the visit's, so a
download does not change what the next bundle of the same evidence contains.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import transaction

from fieldvisit.access_log import record_read
from fieldvisit.bundles import contents
from fieldvisit.bundles.zipping import zip_chunks
from fieldvisit.ledger import store as ledger
from fieldvisit.models import Case, Visit


def export(
    subject: Case | Visit, user: Any, device_id: str | None, consistent_with: int | None = None
) -> tuple[str, Iterator[bytes]]:
    """The bundle's file name and its bytes (a generator: nothing is built up front).

    ``consistent_with``: an older checkpoint's tree size the bundle must prove it extends."""
    if isinstance(subject, Case):
        bundle = contents.for_case(subject, consistent_with)
    else:
        bundle = contents.for_visit(subject, consistent_with)
    with transaction.atomic(durable=True):
        ledger.append(
            "bundle.downloaded",
            ledger.actor_for(user, device_id),
            f"bundle:{bundle.kind}:{bundle.subject_id}",
            {
                "kind": bundle.kind,
                "id": bundle.subject_id,
                "checkpoint": {
                    "tree_size": bundle.checkpoint.tree_size,
                    "root_hash": bytes(bundle.checkpoint.root_hash).hex(),
                },
                "files": len(bundle.members),
                "sha256sums": bundle.members[0].sha256,
            },
        )
        record_read(user, "bundle", f"{bundle.kind}:{bundle.subject_id}")
    return f"{bundle.name}.zip", zip_chunks(bundle)
