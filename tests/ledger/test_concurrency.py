"""Concurrent writers on PostgreSQL never share or skip an index (issue: 8 writers, 2,000)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction
from django.db.models import Count

from fieldvisit.ledger import store
from fieldvisit.ledger.audit import audit
from fieldvisit.models import LedgerEntry
from tests.ledger.helpers import SYSTEM
from tests.ledger.reference import ref_mth

WRITERS = 8
APPENDS_EACH = 250


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_are_gapless_and_unique() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks between connections are a PostgreSQL test (set DATABASE_URL)")
    errors: list[BaseException] = []
    start = threading.Barrier(WRITERS)

    def writer(number: int) -> None:
        try:
            start.wait()
            for n in range(APPENDS_EACH):
                with transaction.atomic(durable=True):
                    store.append("test.concurrent", SYSTEM, f"writer:{number}", {"n": n})
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors

    total = WRITERS * APPENDS_EACH
    indexes = list(LedgerEntry.objects.order_by("index").values_list("index", flat=True))
    assert indexes == list(range(total))
    per_writer = dict(
        LedgerEntry.objects.values_list("subject").order_by().annotate(count=Count("index"))
    )
    assert set(per_writer.values()) == {APPENDS_EACH}
    entries = [
        bytes(raw)
        for raw in LedgerEntry.objects.order_by("index").values_list("entry_bytes", flat=True)
    ]
    assert store.current_root() == (total, ref_mth(entries))
    report = audit()
    assert report.ok, report.problems
