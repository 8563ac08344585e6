"""Each visit's own chain in the ledger (``ledger.chains``): numbered, linked by leaf hash,
sealed on close and sealed again after every later addition, whatever the entry's subject."""

from __future__ import annotations

import json
import uuid

import pytest
from django.db import IntegrityError, connection, transaction

from fieldvisit.canonical import canonical_json
from fieldvisit.ledger import chains, merkle, store
from fieldvisit.models import LedgerEntry
from tests.ledger.helpers import SYSTEM

pytestmark = pytest.mark.django_db

VISIT = "0b6c3c38-5a52-4a52-9d0e-6a3c6a1f2b10"


def content(entry: LedgerEntry) -> dict:
    return json.loads(bytes(entry.entry_bytes))


def chain_of(visit: str) -> list[LedgerEntry]:
    return list(LedgerEntry.objects.filter(chain_visit=visit).order_by("chain_seq"))


def segment(recording: str, index: int, sha: str) -> dict:
    return {"recording": recording, "segment": index, "file": {"sha256": sha}}


def test_entries_about_a_visit_are_numbered_and_linked_whatever_their_subject() -> None:
    alert = uuid.uuid4()
    with transaction.atomic():
        first = store.append("checkin.arrive", SYSTEM, f"visit:{VISIT}", {"n": 1})
        store.append("route.submitted", SYSTEM, "route:r1", {"visit": VISIT})  # not a visit's
        raised = store.append("alert.raised", SYSTEM, f"alert:{alert}", {"visit": uuid.UUID(VISIT)})
        store.append("alert.raised", SYSTEM, f"alert:{uuid.uuid4()}", {"visit": None})
        photo = store.append("photo.added", SYSTEM, f"visit:{VISIT}", {"n": 2})
    assert [e.index for e in chain_of(VISIT)] == [first.index, raised.index, photo.index]
    links = [content(e)["chain"] for e in chain_of(VISIT)]
    assert links == [
        {"visit": VISIT, "seq": 1, "prev": None},
        {"visit": VISIT, "seq": 2, "prev": bytes(first.leaf_hash).hex()},
        {"visit": VISIT, "seq": 3, "prev": bytes(raised.leaf_hash).hex()},
    ]
    # The chain is in the bytes the leaf hash covers, and the columns say the same.
    for entry in chain_of(VISIT):
        raw = bytes(LedgerEntry.objects.get(index=entry.index).entry_bytes)
        assert merkle.leaf_hash(raw) == bytes(entry.leaf_hash)
        assert canonical_json(json.loads(raw)) == raw
        assert json.loads(raw)["chain"]["seq"] == entry.chain_seq
    unchained = LedgerEntry.objects.exclude(chain_visit__isnull=False)
    assert unchained.count() == 2
    assert all("chain" not in content(e) for e in unchained)


def test_the_seal_commits_to_the_count_the_head_and_each_segment_chain() -> None:
    rec = str(uuid.uuid4())
    with transaction.atomic():
        store.append("visit.opened", SYSTEM, f"visit:{VISIT}", {})
        for index, sha in enumerate(["aa" * 32, "bb" * 32, "cc" * 32]):
            store.append(chains.SEGMENT, SYSTEM, f"visit:{VISIT}", segment(rec, index, sha))
        last = store.append("visit.closed", SYSTEM, f"visit:{VISIT}", {})
        seal = store.seal_visit(uuid.UUID(VISIT))
    body = content(seal)
    assert body["kind"] == "visit.sealed" and body["subject"] == f"visit:{VISIT}"
    assert body["chain"] == {"visit": VISIT, "seq": 6, "prev": bytes(last.leaf_hash).hex()}
    assert body["data"] == {
        "entries": 5,
        "head": bytes(last.leaf_hash).hex(),
        "segments": [{"recording": rec, "count": 3, "last": 2, "last_sha256": "cc" * 32}],
    }


def test_anything_added_after_the_seal_is_followed_by_a_new_seal() -> None:
    with transaction.atomic():
        store.append("visit.closed", SYSTEM, f"visit:{VISIT}", {})
        store.seal_visit(VISIT)
    with transaction.atomic():
        late = store.append("photo.added", SYSTEM, f"visit:{VISIT}", {"late": True})
    kinds = [(e.chain_seq, e.kind) for e in chain_of(VISIT)]
    assert kinds == [
        (1, "visit.closed"),
        (2, "visit.sealed"),
        (3, "photo.added"),
        (4, "visit.sealed"),
    ]
    reseal = chain_of(VISIT)[-1]
    assert reseal.index == late.index + 1
    assert content(reseal)["data"]["entries"] == 3
    assert content(reseal)["data"]["head"] == bytes(late.leaf_hash).hex()
    assert content(reseal)["actor"] == chains.SEALER
    # Another visit's chain is its own and stays unsealed.
    other = str(uuid.uuid4())
    with transaction.atomic():
        store.append("checkin.arrive", SYSTEM, f"visit:{other}", {})
    assert [e.kind for e in chain_of(other)] == ["checkin.arrive"]


def test_a_visit_with_nothing_recorded_cannot_be_sealed() -> None:
    with transaction.atomic(), pytest.raises(ValueError, match="no ledger entries"):
        store.seal_visit(VISIT)


def test_the_database_refuses_two_entries_with_one_number_in_a_chain() -> None:
    with transaction.atomic():
        store.append("visit.opened", SYSTEM, f"visit:{VISIT}", {})
    table = LedgerEntry._meta.db_table
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{table}" ("index", kind, subject, at, entry_bytes, leaf_hash, '
            "chain_visit, chain_seq) VALUES (99, 'x', 'x', CURRENT_TIMESTAMP, %s, %s, %s, 1)",
            [b"{}", b"0" * 32, VISIT],
        )
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{table}" ("index", kind, subject, at, entry_bytes, leaf_hash, '
            "chain_visit, chain_seq) VALUES (99, 'x', 'x', CURRENT_TIMESTAMP, %s, %s, %s, 0)",
            [b"{}", b"0" * 32, "another"],
        )
