"""Ledger benchmark, run by hand; every figure is a ratio against a baseline of the same run.

    .venv/bin/python bench/ledger.py [--db sqlite|postgres] [--entries 1000000]

1. Appends: a record plus its ledger entry per transaction, vs the same record insert alone
   (goal >= 0.5).
2. Inclusion proofs at N entries vs at 1,000 entries (goal <= 3x: O(log n)).
3. ``verify_ledger`` over N entries vs reading the same rows and hashing their bytes with
   hashlib (goal >= 0.5, issue 23); the ratio against hashing bytes already in memory is
   printed too.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _django import setup


def rate(fn, count: int) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    for n in range(count):
        fn(n)
    return count / (time.perf_counter() - started)


def bench_appends(rounds: int = 3, count: int = 1000) -> None:
    from django.db import transaction

    from fieldvisit.ledger import store
    from fieldvisit.models import Case, Creditor, Relation

    creditor = Creditor.objects.create(name="bench", code="bench")
    case = Case.objects.create(number="BENCH-1", creditor=creditor, debtor_name="x", amount_due=1)
    actor = {"type": "system", "name": "bench"}

    def plain(n: int) -> None:
        with transaction.atomic(durable=True):
            Relation.objects.create(case=case, name=f"r{n}", kind="family")

    def ledgered(n: int) -> None:
        with transaction.atomic(durable=True):
            relation = Relation.objects.create(case=case, name=f"l{n}", kind="family")
            store.append(
                "bench.relation", actor, f"relation:{relation.pk}", {"name": relation.name}
            )

    plain_rates, ledger_rates = [], []
    for _ in range(rounds):  # interleaved, so machine noise hits both alike
        plain_rates.append(rate(plain, count))
        ledger_rates.append(rate(ledgered, count))
    p, l_ = max(plain_rates), max(ledger_rates)
    print(f"appends: plain insert {p:,.0f}/s, insert + ledger entry {l_:,.0f}/s")
    print(f"  RATIO appends with ledger / without = {l_ / p:.2f}  (goal >= 0.5)")


def populate(target: int, batch: int = 20000) -> None:
    """Grow the ledger to ``target`` entries fast: the same bytes and nodes as appends make."""
    import datetime as dt

    from django.db import transaction

    from fieldvisit.canonical import canonical_json, iso
    from fieldvisit.ledger import merkle, store
    from fieldvisit.models import LedgerEntry, LedgerHead, LedgerNode

    head = LedgerHead.objects.filter(pk=1).first()
    size = head.size if head else 0
    stack = list(
        zip(
            merkle.root_nodes(size),
            store.split_peaks(bytes(head.peaks) if head else b""),
            strict=True,
        )
    )
    at = dt.datetime.now(dt.UTC)
    while size < target:
        entries, nodes = [], []
        for index in range(size, min(target, size + batch)):
            raw = canonical_json(
                {
                    "index": index,
                    "kind": "bench.event",
                    "at": iso(at),
                    "actor": {"type": "system", "name": "bench"},
                    "subject": f"bench:{index}",
                    "data": {"n": index, "note": "a typical small payload of an event"},
                }
            )
            leaf = merkle.leaf_hash(raw)
            entries.append(
                LedgerEntry(
                    index=index,
                    kind="bench.event",
                    subject=f"bench:{index}",
                    at=at,
                    entry_bytes=raw,
                    leaf_hash=leaf,
                )
            )
            stack.append(((0, index), leaf))
            for level, idx in merkle.nodes_completed_by_append(index):
                (_, right), (_, left) = stack.pop(), stack.pop()
                value = merkle.node_hash(left, right)
                nodes.append(LedgerNode(level=level, idx=idx, hash=value))
                stack.append(((level, idx), value))
        with transaction.atomic():
            LedgerEntry.objects.bulk_create(entries, batch_size=5000)
            LedgerNode.objects.bulk_create(nodes, batch_size=5000)
            size += len(entries)
            LedgerHead.objects.update_or_create(
                pk=1, defaults={"size": size, "peaks": b"".join(v for _, v in stack)}
            )
        print(f"  ... {size:,} entries", end="\r", flush=True)
    print()


def proof_time(size: int, samples: int = 300) -> float:
    from fieldvisit.ledger import store

    rng = random.Random(size)
    indexes = [rng.randrange(size) for _ in range(samples)]
    started = time.perf_counter()
    for index in indexes:
        store.inclusion_proof(index, size)
    return (time.perf_counter() - started) / samples


def bench_verification(size: int) -> None:
    from fieldvisit.ledger.audit import audit

    started = time.perf_counter()
    report = audit()
    verify_s = time.perf_counter() - started
    assert report.ok, report.problems[:3]

    # Baseline: the fastest honest reader, a streaming cursor over the same rows, hashing each.
    from django.db import connection

    started = time.perf_counter()
    blobs = []
    with connection.chunked_cursor() as cursor:
        cursor.execute('SELECT entry_bytes FROM fieldvisit_ledgerentry ORDER BY "index"')
        while rows := cursor.fetchmany(5000):
            for (raw,) in rows:
                raw = bytes(raw)
                hashlib.sha256(b"\x00" + raw).digest()
                blobs.append(raw)
    read_hash_s = time.perf_counter() - started
    started = time.perf_counter()
    for raw in blobs:
        hashlib.sha256(b"\x00" + raw).digest()
    hash_only_s = time.perf_counter() - started
    print(
        f"verify_ledger over {size:,} entries: {verify_s:.1f}s; "
        f"read+hash {read_hash_s:.1f}s; hash in memory {hash_only_s:.2f}s"
    )
    print(f"  RATIO verification / (read + hashlib) = {read_hash_s / verify_s:.2f}  (goal >= 0.5)")
    print(f"  ratio verification / (hashlib on bytes in memory) = {hash_only_s / verify_s:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--database", help="PostgreSQL database (dropped!; default bench_ledger)")
    args = parser.parse_args()
    print("database:", setup(args.db, "ledger", args.database))

    bench_appends()

    populate(1000)
    small = proof_time(1000)
    populate(args.entries)
    large = proof_time(args.entries)
    print(
        f"inclusion proof: {small * 1e3:.2f} ms at 1,000 entries, "
        f"{large * 1e3:.2f} ms at {args.entries:,}"
    )
    print(f"  RATIO proof time at {args.entries:,} / at 1,000 = {large / small:.2f}  (goal <= 3)")

    bench_verification(args.entries)


if __name__ == "__main__":
    main()
