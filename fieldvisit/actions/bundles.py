"""Exporting a bundle: make sure a signed checkpoint covers the evidence, plan and build the
bundle, record the download in the ledger, stream it.

The download entry goes under its own subject (``bundle:…``), never under the visit's, so a
download does not change what the next bundle of the same evidence contains.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import transaction

from fieldvisit.access_log import record_read
from fieldvisit.bundles import contents, plan
from fieldvisit.bundles.zipping import zip_chunks
from fieldvisit.ledger import store as ledger
from fieldvisit.ledger.checkpoints import first_checkpoint_covering, make_checkpoint
from fieldvisit.models import Case, Visit


def prepare(
    subject: Case | Visit, consistent_with: int | None = None, language: str | None = None
) -> contents.Bundle:
    """The bundle of a case or a visit. Its one write comes first: when no checkpoint covers
    the evidence yet, the current tree head is signed, so planning only reads and the same
    evidence keeps citing that first checkpoint.

    ``consistent_with``: an older checkpoint's tree size the bundle must prove it extends.
    ``language``: of report.html and README.txt (default: the language active now, i.e. the
    downloader's)."""
    what = plan.of_case(subject) if isinstance(subject, Case) else plan.of_visit(subject)
    size = plan.covering_size(what, consistent_with)
    if first_checkpoint_covering(size) is None:
        make_checkpoint()
    return contents.build(plan.plan(what, size, consistent_with), language)


def export(
    subject: Case | Visit,
    user: Any,
    device_id: str | None,
    consistent_with: int | None = None,
    language: str | None = None,
) -> tuple[str, Iterator[bytes]]:
    """The bundle's file name and its bytes (a generator: nothing is built up front)."""
    bundle = prepare(subject, consistent_with, language)
    what, checkpoint = bundle.plan.subject, bundle.plan.checkpoint
    with transaction.atomic(durable=True):
        ledger.append(
            "bundle.downloaded",
            ledger.actor_for(user, device_id),
            f"bundle:{what.kind}:{what.subject_id}",
            {
                "kind": what.kind,
                "id": what.subject_id,
                "checkpoint": {
                    "tree_size": checkpoint.tree_size,
                    "root_hash": bytes(checkpoint.root_hash).hex(),
                },
                "files": len(bundle.members),
                "language": bundle.language,
                "sha256sums": bundle.members[0].sha256,
            },
        )
        record_read(user, "bundle", f"{what.kind}:{what.subject_id}")
    return f"{what.name}.zip", zip_chunks(bundle)
