"""Keeping received files as evidence: stage, record in the caller's transaction, promote.

"Nothing lost, nothing half-stored": bytes are staged before the transaction; the
``EvidenceFile`` rows are written inside it; the bytes reach their final, content-addressed
key only after it commits, and a failure anywhere removes the staged bytes (but for a lost
database connection, when nobody can tell whether the commit happened: the sweep decides).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.core.files import File
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from fieldvisit.evidence import storage, thumbnails
from fieldvisit.models import EvidenceFile
from fieldvisit.rules import RuleViolation
from fieldvisit.texts import _, format_lazy

log = logging.getLogger(__name__)


class LocalFile(File):
    """A file already on local disk; a file-system storage moves it instead of copying."""

    def __init__(self, path: str) -> None:
        super().__init__(open(path, "rb"), name=path)  # noqa: SIM115 - closed by the caller
        self.path = path

    def temporary_file_path(self) -> str:
        return self.path


@dataclass
class Received:
    """Bytes that passed their checks, about to become evidence."""

    sha256: str
    size: int
    crc32: int
    media_type: str
    content: File
    staged: str = ""
    # Made by the decode that checked the bytes; kept only once they are evidence.
    thumbnail: bytes | None = None


def check_declared_hash(actual: str, declared: str, field: str) -> None:
    if actual != declared.lower():
        raise RuleViolation(
            "hash_mismatch",
            format_lazy(
                _(
                    "The {field} received has SHA-256 {actual}, not the declared {declared}; "
                    "nothing was kept."
                ),
                field=field,
                actual=actual,
                declared=declared,
            ),
            errors={field: [_("SHA-256 mismatch")]},
        )


def _stage(received: Received) -> None:
    try:
        received.staged = storage.stage(received.content, received.sha256)
    except Exception as error:
        log.exception("staging evidence failed")
        raise RuleViolation(
            "storage_unavailable",
            _("The evidence storage could not take the file; nothing was kept. Retry later."),
        ) from error


def file_entry(row: EvidenceFile) -> dict[str, Any]:
    """How a ledger entry cites a file."""
    return {"sha256": row.sha256, "size": row.size, "media_type": row.media_type}


@contextmanager
def storing(*files: Received | None) -> Iterator[Callable[[], list[EvidenceFile]]]:
    """Stage the files, then let the caller record them in its transaction.

    Yields a function that writes the ``EvidenceFile`` rows (one per distinct hash) inside
    the caller's transaction, in the order given, and arranges each promotion for after the
    commit. On any failure the staged bytes are removed.
    """
    present = [f for f in files if f is not None]
    try:
        for received in present:
            _stage(received)

        def record() -> list[EvidenceFile]:
            rows = []
            for received in present:
                row, _created = EvidenceFile.objects.get_or_create(
                    sha256=received.sha256,
                    defaults={
                        "size": received.size,
                        "crc32": received.crc32,
                        "media_type": received.media_type,
                        "stored_at": timezone.now(),
                    },
                )
                rows.append(row)
                transaction.on_commit(
                    lambda r=received, m=row.media_type: storage.promote(r.staged, r.sha256, m),
                    robust=True,
                )
                if received.thumbnail is not None:
                    # After the commit: a refused or failed upload leaves no thumbnail.
                    transaction.on_commit(
                        lambda r=received: thumbnails.keep(r.sha256, r.thumbnail), robust=True
                    )
            return rows

        yield record
    except (OperationalError, InterfaceError):
        # The database went away, perhaps while committing: a row may cite the staged bytes
        # after all. They stay for ``sweep_staging``, which promotes them if a row cites
        # them and removes them if none does, once it can ask the database.
        log.warning("database unavailable; staged evidence left to the sweep")
        raise
    except BaseException:
        for received in present:
            if received.staged:
                storage.discard(received.staged)
        raise
