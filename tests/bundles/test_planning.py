"""Planning a bundle only reads: the checkpoint it cites is signed by the export action first;
and each ledger entry is proven once, for both entries.jsonl and its tlog-proof file."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fieldvisit.actions.bundles import prepare
from fieldvisit.bundles import contents, plan
from fieldvisit.ledger import store
from fieldvisit.models import Checkpoint
from fieldvisit.queries.visits import cited_records, segment_key

pytestmark = pytest.mark.django_db(transaction=True)

WRITES = ("INSERT", "UPDATE", "DELETE")


def test_planning_needs_a_checkpoint_and_never_signs_one(evidenced_visit: Any) -> None:
    assert not Checkpoint.objects.exists()  # nothing has signed one yet
    subject = plan.of_visit(evidenced_visit)
    size = plan.covering_size(subject)
    with pytest.raises(RuntimeError, match="no checkpoint covers"):
        plan.plan(subject, size)
    assert not Checkpoint.objects.exists()

    bundle = prepare(evidenced_visit)
    (checkpoint,) = Checkpoint.objects.all()
    assert bundle.plan.checkpoint == checkpoint
    assert checkpoint.tree_size >= size


def test_planning_and_building_write_nothing(evidenced_visit: Any) -> None:
    prepare(evidenced_visit)  # signs the checkpoint
    subject = plan.of_visit(evidenced_visit)
    with CaptureQueriesContext(connection) as queries:
        contents.build(plan.plan(subject, plan.covering_size(subject)))
    written = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(WRITES)]
    assert written == []


def test_each_entry_is_proven_once(evidenced_visit: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    proven: list[int] = []
    real = store.inclusion_proof

    def counted(index: int, size: int) -> store.InclusionProof:
        proven.append(index)
        return real(index, size)

    monkeypatch.setattr(store, "inclusion_proof", counted)
    bundle = prepare(evidenced_visit)
    indexes = [entry.index for entry in bundle.plan.entries]
    assert indexes and proven == indexes
    paths = {member.path for member in bundle.members}
    assert {f"ledger/proofs/{index}.tlog-proof" for index in indexes} <= paths


def test_each_record_is_cited_by_the_entry_that_added_it() -> None:
    """Segments by recording and index (as the manifest names them), every other record by
    its id; entries that add no record are skipped."""

    def entry(index: int, kind: str, **data: Any) -> tuple[int, str, bytes]:
        return index, kind, json.dumps({"kind": kind, "data": data}).encode()

    cited = cited_records(
        [
            entry(3, "visit.opened", agents=[1, 2]),
            entry(4, "checkin.arrive", checkin="c-1"),
            entry(5, "photo.added", photo="p-1"),
            entry(6, "recording.segment_added", recording="r-1", segment=0, upload="u-1"),
            entry(7, "recording.segment_added", recording="r-1", segment=1),
            entry(8, "receipt.recorded", receipt="n-1"),
            entry(9, "report.filed", report="f-1"),
        ]
    )
    assert cited == {
        ("checkin", "c-1"): 4,
        ("photo", "p-1"): 5,
        ("segment", segment_key("r-1", 0)): 6,
        ("segment", "r-1/1"): 7,
        ("receipt", "n-1"): 8,
        ("report", "f-1"): 9,
    }
