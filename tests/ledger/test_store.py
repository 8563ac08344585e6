"""The stored ledger: gapless appends, roots and proofs equal to the RFC 9162 reference."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import transaction

from fieldvisit.canonical import canonical_json
from fieldvisit.ledger import merkle, store
from fieldvisit.models import LedgerEntry, LedgerHead, LedgerNode
from tests.ledger.helpers import SYSTEM, append_many
from tests.ledger.reference import ref_mth, ref_path, ref_proof, ref_verify_inclusion

pytestmark = pytest.mark.django_db


@pytest.mark.django_db(transaction=True)
def test_append_outside_a_transaction_is_refused() -> None:
    with pytest.raises(RuntimeError, match="inside the writer's transaction"):
        store.append("test.event", SYSTEM, "test:0", {})
    append_many(2)  # leaves rows behind: the flush after this test must still empty them


def test_entries_are_canonical_json_with_the_six_fields() -> None:
    with transaction.atomic():
        entry = store.append(
            "route.approved",
            {"type": "user", "id": 7, "username": "sup"},
            "route:abc",
            {"amount": "12.50", "z": 1, "a": [True, None]},
        )
    raw = bytes(entry.entry_bytes)
    content = json.loads(raw)
    assert set(content) == {"index", "kind", "at", "actor", "subject", "data"}
    assert content["index"] == entry.index == 0
    assert content["at"].endswith("Z")
    assert canonical_json(content) == raw
    assert raw.startswith(b'{"actor":{"id":7,')  # RFC 8785: keys sorted
    assert bytes(entry.leaf_hash) == merkle.leaf_hash(raw)


def test_indexes_are_gapless_and_roots_match_the_reference() -> None:
    entries = append_many(37)
    assert list(LedgerEntry.objects.values_list("index", flat=True)) == list(range(37))
    size, root = store.current_root()
    assert size == 37
    assert root == ref_mth(entries)
    for m in range(1, 38):
        assert store.root_at(m) == ref_mth(entries[:m]), m


def test_about_one_node_row_per_entry() -> None:
    append_many(64)
    # 32 + 16 + 8 + 4 + 2 + 1 complete subtrees above the leaves.
    assert LedgerNode.objects.count() == 63


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13, 16, 31])
def test_inclusion_proofs_match_the_reference(size: int) -> None:
    entries = append_many(size)
    for index in range(size):
        proof = store.inclusion_proof(index, size)
        assert bytes(proof.entry.entry_bytes) == entries[index]
        assert proof.path == ref_path(index, entries[:size])
        assert proof.root_hash == ref_mth(entries[:size])
        leaf = merkle.leaf_hash(entries[index])
        assert ref_verify_inclusion(index, size, leaf, proof.path, proof.root_hash)


def test_inclusion_proofs_at_earlier_sizes() -> None:
    entries = append_many(21)
    for size in range(1, 22):
        for index in range(size):
            proof = store.inclusion_proof(index, size)
            assert proof.path == ref_path(index, entries[:size])


def test_consistency_proofs_match_the_reference() -> None:
    entries = append_many(19)
    for second in range(1, 20):
        for first in range(1, second + 1):
            proof = store.consistency_proof(first, second)
            assert proof.path == (ref_proof(first, entries[:second]) if first < second else [])
            assert proof.first_root == ref_mth(entries[:first])
            assert proof.second_root == ref_mth(entries[:second])
            merkle.verify_consistency(
                first, second, proof.path, proof.first_root, proof.second_root
            )


def test_proofs_cost_a_fixed_number_of_queries(django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    append_many(300)
    # 1 head size, 1 leaf hashes, 1 subtree hashes, 1 the entry itself.
    with django_assert_max_num_queries(4):
        store.inclusion_proof(123, 300)
    # 1 head size, 1 leaf hashes, 1 subtree hashes.
    with django_assert_max_num_queries(3):
        store.consistency_proof(77, 300)


@pytest.mark.parametrize(("index", "size"), [(5, 5), (-1, 3), (0, 0), (0, 11), (99, 100)], ids=str)
def test_inclusion_outside_the_tree_is_refused(index: int, size: int) -> None:
    append_many(10)
    with pytest.raises(store.LedgerRangeError):
        store.inclusion_proof(index, size)


@pytest.mark.parametrize(("first", "second"), [(0, 5), (6, 5), (3, 11), (-2, 4)], ids=str)
def test_consistency_outside_the_tree_is_refused(first: int, second: int) -> None:
    append_many(10)
    with pytest.raises(store.LedgerRangeError):
        store.consistency_proof(first, second)


def test_a_rolled_back_append_leaves_no_trace_and_no_gap() -> None:
    append_many(3)

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        store.append("test.event", SYSTEM, "test:x", {})
        raise Boom
    assert LedgerEntry.objects.count() == 3
    assert LedgerHead.objects.get().size == 3
    with transaction.atomic():
        assert store.append("test.event", SYSTEM, "test:y", {}).index == 3


def test_head_is_recreated_when_missing() -> None:
    LedgerHead.objects.all().delete()
    entries = append_many(2)
    assert store.current_root() == (2, ref_mth(entries))


def test_a_head_whose_peaks_do_not_match_its_size_is_refused() -> None:
    """Five entries have two peaks (4 + 1); a head holding one is not built on."""
    append_many(5)
    head = LedgerHead.objects.get()
    LedgerHead.objects.update(peaks=bytes(head.peaks)[: merkle.HASH_SIZE])
    with pytest.raises(AssertionError, match="peaks do not match"), transaction.atomic():
        store.append("test.event", SYSTEM, "test:x", {})
    assert LedgerEntry.objects.count() == 5


@pytest.mark.parametrize("microsecond", [0, 1, 999_999])
def test_an_entry_s_time_column_is_what_django_writes(microsecond: int) -> None:
    """The append writes ``at`` as its column's text itself (from the entry's own time
    stamp): the very value Django's adapter gives, a zero fraction left out as it does."""
    from django.db import connection

    from fieldvisit.canonical import iso

    at = dt.datetime(2026, 12, 6, 4, 5, 6, microsecond, tzinfo=dt.UTC)
    expected = connection.ops.adapt_datetimefield_value(at)
    assert store._at_column(connection, at, iso(at)) == expected
