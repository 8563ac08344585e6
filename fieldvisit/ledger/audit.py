"""Full recomputation of the ledger from its stored bytes (``manage.py verify_ledger``).

Nothing stored is trusted: every leaf hash is recomputed from the entry bytes, every stored
subtree hash from its children, the head from the nodes, and every checkpoint's root from
the nodes and its signatures from the published key. Memory stays flat: rows are streamed
level by level.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field

from fieldvisit.ledger import merkle, store
from fieldvisit.ledger.canonical import canonical_json
from fieldvisit.ledger.checkpoints import verify_checkpoint
from fieldvisit.models import Checkpoint, LedgerEntry, LedgerHead, LedgerNode

CHUNK = 2000


@dataclass
class AuditReport:
    entries: int = 0
    nodes: int = 0
    checkpoints: int = 0
    problems: list[str] = field(default_factory=list)
    first_bad_index: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def bad_entry(self, index: int, problem: str) -> None:
        if self.first_bad_index is None or index < self.first_bad_index:
            self.first_bad_index = index
        self.problems.append(f"entry {index}: {problem}")


def _check_entries(report: AuditReport, strict: bool) -> None:
    expected = 0
    rows = LedgerEntry.objects.order_by("index").values_list(
        "index", "kind", "subject", "entry_bytes", "leaf_hash"
    )
    for index, kind, subject, raw, leaf in rows.iterator(chunk_size=CHUNK):
        raw = bytes(raw)
        if index != expected:
            report.bad_entry(expected, f"missing (next stored index is {index})")
            expected = index
        if merkle.leaf_hash(raw) != bytes(leaf):
            report.bad_entry(index, "leaf hash does not match the entry bytes")
        try:
            content = json.loads(raw)
        except ValueError:
            report.bad_entry(index, "entry bytes are not JSON")
        else:
            if (content.get("index"), content.get("kind"), content.get("subject")) != (
                index,
                kind,
                subject,
            ):
                report.bad_entry(index, "entry bytes disagree with the indexed columns")
            elif strict and canonical_json(content) != raw:
                report.bad_entry(index, "entry bytes are not canonical JSON (RFC 8785)")
        expected += 1
    report.entries = expected


def _level_hashes(level: int) -> Iterator[tuple[int, bytes]]:
    if level == 0:
        rows = LedgerEntry.objects.order_by("index").values_list("index", "leaf_hash")
    else:
        rows = LedgerNode.objects.filter(level=level).order_by("idx").values_list("idx", "hash")
    for idx, value in rows.iterator(chunk_size=CHUNK):
        yield idx, bytes(value)


def _check_nodes(report: AuditReport) -> None:
    """Each level's stored hashes must equal the hashes of the level below, pair by pair."""
    size = report.entries
    level = 1
    while size >> level:
        lower = _level_hashes(level - 1)
        expected_count = size >> level
        seen = 0
        for idx, value in _level_hashes(level):
            if idx != seen:
                report.problems.append(f"node ({level}, {seen}) missing")
                break
            (_, left), (_, right) = next(lower), next(lower)
            if merkle.node_hash(left, right) != value:
                first_leaf = idx << level
                report.bad_entry(first_leaf, f"node ({level}, {idx}) does not match its children")
            seen += 1
        if seen != expected_count:
            report.problems.append(f"level {level} holds {seen} nodes, expected {expected_count}")
        report.nodes += seen
        level += 1
    extra = LedgerNode.objects.filter(level__gte=level).count()
    if extra:
        report.problems.append(f"{extra} nodes beyond the tree's height")


def _check_head(report: AuditReport) -> None:
    head = LedgerHead.objects.filter(pk=1).first()
    size = head.size if head else 0
    if size != report.entries:
        report.problems.append(f"head says {size} entries, the ledger holds {report.entries}")
        return
    if size:
        peaks = store.fetch_nodes(merkle.root_nodes(size))
        expected = b"".join(peaks[key] for key in merkle.root_nodes(size))
        if bytes(head.peaks) != expected:
            report.problems.append("head peaks differ from the stored nodes")


def _check_checkpoints(report: AuditReport) -> None:
    for checkpoint in Checkpoint.objects.select_related("key").order_by("tree_size", "id"):
        report.checkpoints += 1
        label = f"checkpoint at size {checkpoint.tree_size} (key {checkpoint.key_id})"
        for problem in verify_checkpoint(checkpoint):
            report.problems.append(f"{label}: {problem}")
        if checkpoint.tree_size > report.entries:
            report.problems.append(f"{label}: beyond the ledger's {report.entries} entries")
            continue
        nodes = store.fetch_nodes(merkle.root_nodes(checkpoint.tree_size))
        if merkle.root_from_nodes(checkpoint.tree_size, nodes) != bytes(checkpoint.root_hash):
            report.problems.append(f"{label}: root hash differs from the recomputed tree")


def audit(strict: bool = False) -> AuditReport:
    report = AuditReport()
    _check_entries(report, strict)
    if report.ok:
        _check_nodes(report)
    if report.ok:
        _check_head(report)
        _check_checkpoints(report)
    return report
