"""Full recomputation of the ledger from its stored bytes (``manage.py verify_ledger``).

Nothing stored is trusted: every leaf hash is recomputed from the entry bytes, every stored
subtree hash from its children, the head from the nodes, and every checkpoint's root from
the nodes and its signatures from the published key. Rows are streamed through server-side
cursors, level by level, so memory stays flat whatever the ledger's size.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection

from fieldvisit.canonical import canonical_json
from fieldvisit.ledger import chains, keys, merkle, store
from fieldvisit.ledger.checkpoints import verify_checkpoint
from fieldvisit.models import Checkpoint, CheckpointTimestamp, LedgerEntry, LedgerHead

CHUNK = 5000
_sha256 = hashlib.sha256


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


def _rows(sql: str, params: list[Any] | None = None) -> Iterator[tuple[Any, ...]]:
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params or [])
        while rows := cursor.fetchmany(CHUNK):
            yield from rows


# In canonical JSON the keys are sorted, so "index", "kind" and "subject" close the object;
# strings hold no bare quote, so nothing after the real top-level "index" can look like it.
_TAIL = re.compile(rb',"index":(0|[1-9][0-9]*),"kind":"([^"\\]*)","subject":"([^"\\]*)"}\Z')


def _header(raw: bytes, strict: bool) -> tuple[Any, Any, Any]:
    """The entry's top-level index, kind and subject, as its bytes say."""
    if strict:
        content = json.loads(raw)
        if canonical_json(content) != raw:
            raise ValueError("not canonical JSON (RFC 8785)")
        return content.get("index"), content.get("kind"), content.get("subject")
    tail = raw[raw.rfind(b',"index":') :]
    match = _TAIL.match(tail)
    if match:  # the common case: no escapes in kind or subject
        return int(match[1]), match[2].decode(), match[3].decode()
    content = json.loads(b"{" + tail[1:])
    return content.get("index"), content.get("kind"), content.get("subject")


class _Broken(Exception):
    """The tree's shape is wrong (a node missing): stop, the report says where."""


class _Levels:
    """One streaming cursor per level of stored subtree hashes, read in step with the leaves.

    Each stored node is read once, when both its children are verified, and checked against
    them; it then counts as verified and feeds the level above. Memory: O(log n).
    """

    def __init__(self, report: AuditReport, size: int) -> None:
        self.report = report
        self.size = size
        self.streams: dict[int, Iterator[tuple[Any, ...]]] = {}
        self.left: dict[int, bytes] = {}
        self.sql = (
            f"SELECT idx, hash FROM {store._q(store.NODE)} "
            "WHERE level = %s AND idx < %s ORDER BY idx"
        )

    def feed(self, level: int, idx: int, value: bytes) -> None:
        if idx % 2 == 0:
            self.left[level] = value
            return
        parent_level, parent = level + 1, idx // 2
        stream = self.streams.get(parent_level)
        if stream is None:
            stream = self.streams[parent_level] = _rows(
                self.sql, [parent_level, self.size >> parent_level]
            )
        row = next(stream, None)
        if row is None or row[0] != parent:
            self.report.problems.append(f"node ({parent_level}, {parent}) missing")
            raise _Broken
        stored = bytes(row[1])
        if _sha256(b"\x01" + self.left[level] + value).digest() != stored:
            first = parent << parent_level
            last = min(first + (1 << parent_level), self.report.entries + 1) - 1
            self.report.bad_entry(
                first,
                f"node ({parent_level}, {parent}) over entries {first}-{last} "
                "does not match its children",
            )
        self.report.nodes += 1
        self.feed(parent_level, parent, stored)

    def finish(self) -> None:
        for level, stream in self.streams.items():
            if next(stream, None) is not None:
                self.report.problems.append(f"level {level} holds more nodes than the tree has")


def _check_tree(report: AuditReport, strict: bool, size: int) -> None:
    """Every leaf from its bytes, and every stored subtree hash from its children, for the
    first ``size`` entries (the head read at the start: appends meanwhile are not judged)."""
    q = store._q
    entries = _rows(
        f"SELECT {q('index')}, kind, subject, entry_bytes, leaf_hash "
        f"FROM {q(store.ENTRY)} WHERE {q('index')} < %s ORDER BY {q('index')}",
        [size],
    )
    levels = _Levels(report, size)
    feed, sha256 = levels.feed, _sha256
    expected = 0
    try:
        for index, kind, subject, raw, leaf in entries:
            raw, leaf = bytes(raw), bytes(leaf)
            if index != expected:
                report.bad_entry(expected, f"missing (next stored index is {index})")
                return
            if sha256(b"\x00" + raw).digest() != leaf:
                report.bad_entry(index, "leaf hash does not match the entry bytes")
            # Fast path: the bytes end exactly as the columns say (no escapes needed).
            tail = b',"index":%d,"kind":"%b","subject":"%b"}' % (
                index,
                kind.encode(),
                subject.encode(),
            )
            if strict or not raw.endswith(tail):
                try:
                    header = _header(raw, strict)
                except ValueError as exc:
                    report.bad_entry(index, f"entry bytes are not valid: {exc}")
                else:
                    if header != (index, kind, subject):
                        report.bad_entry(index, "entry bytes disagree with the indexed columns")
            expected += 1
            report.entries = expected
            # The stored leaf (itself checked against the bytes just above) feeds the tree,
            # so a changed entry is reported at its own index.
            feed(0, index, leaf)
        levels.finish()
    except _Broken:
        return
    if report.entries < size:
        report.bad_entry(report.entries, f"missing (the head says {size} entries)")


def _check_chains(report: AuditReport, size: int) -> None:
    """Each visit's chain (``ledger.chains``): numbered 1, 2, 3 ... each entry naming the one
    before it, and its bytes saying what the chain columns say (one streamed pass over the
    chained entries, in chain order by the chain's unique index)."""
    q = store._q
    rows = _rows(
        f"SELECT chain_visit, chain_seq, {q('index')}, entry_bytes, leaf_hash "
        f"FROM {q(store.ENTRY)} WHERE chain_visit IS NOT NULL AND {q('index')} < %s "
        "ORDER BY chain_visit, chain_seq",
        [size],
    )
    visit, previous = None, None  # previous: (seq, leaf hash) of the chain's last entry
    for chain_visit, seq, index, raw, leaf in rows:
        if chain_visit != visit:
            visit, previous = chain_visit, None
        link = json.loads(bytes(raw)).get("chain") or {}
        expected = chains.link(chain_visit, previous)
        if link != expected:
            report.bad_entry(index, f"breaks the chain of visit {chain_visit} at number {seq}")
        previous = (seq, bytes(leaf))


def _check_head(report: AuditReport, size: int, peaks: bytes) -> None:
    """The head read at the start must be the peaks of the verified tree at its size."""
    if size:
        keys = merkle.root_nodes(size)
        stored = store.fetch_nodes(keys)
        if peaks != b"".join(stored[key] for key in keys):
            report.problems.append("head peaks differ from the stored nodes")


def key_windows() -> dict[str, tuple[dt.datetime, dt.datetime | None]]:
    """Each signing key's validity: from its ``valid_from`` until the next key's."""
    return {record.key_id: (record.valid_from, until) for record, until in keys.with_validity()}


def time_problems(
    signed_at: dt.datetime,
    window: tuple[dt.datetime, dt.datetime | None],
    stamped_at: dt.datetime | None,
    bound: dt.timedelta,
) -> list[str]:
    """A checkpoint signed within its key's validity, and its time-stamp authority's time
    after the checkpoint's own and within ``bound`` of it (else it may be back-dated)."""
    problems = []
    valid_from, valid_until = window
    if signed_at < valid_from or (valid_until is not None and signed_at >= valid_until):
        problems.append("signed outside its key's validity")
    if stamped_at is not None:
        if stamped_at < signed_at - dt.timedelta(seconds=1):
            problems.append("time-stamped before it says it was signed")
        elif stamped_at - signed_at > bound:
            problems.append(f"time-stamped more than {bound} after it says it was signed")
    return problems


def _check_checkpoints(report: AuditReport, size: int) -> None:
    signed = list(
        Checkpoint.objects.select_related("key")
        .filter(tree_size__lte=size)
        .order_by("tree_size", "id")
    )
    windows = key_windows()
    stamps: dict[int, list[dt.datetime]] = {}
    for checkpoint_id, gen_time in CheckpointTimestamp.objects.filter(
        gen_time__isnull=False
    ).values_list("checkpoint_id", "gen_time"):
        stamps.setdefault(checkpoint_id, []).append(gen_time)
    # When each checkpoint's last entry was appended: a checkpoint cannot be signed before.
    wanted = sorted({c.tree_size - 1 for c in signed})
    last_at: dict[int, dt.datetime] = {}
    for start in range(0, len(wanted), 500):  # within every database's parameter limit
        chunk = wanted[start : start + 500]
        last_at |= dict(LedgerEntry.objects.filter(index__in=chunk).values_list("index", "at"))
    bound = dt.timedelta(seconds=settings.LEDGER_TSA_WINDOW_S)
    report.problems += keys.rotation_problems()
    for checkpoint in signed:
        report.checkpoints += 1
        label = f"checkpoint at size {checkpoint.tree_size} (key {checkpoint.key_id})"
        problems = verify_checkpoint(checkpoint)
        for stamped_at in stamps.get(checkpoint.pk) or [None]:
            problems += time_problems(
                checkpoint.timestamp, windows[checkpoint.key_id], stamped_at, bound
            )
        appended = last_at.get(checkpoint.tree_size - 1)
        if appended is not None and appended > checkpoint.timestamp:
            problems.append("dated before its last entry was appended")
        report.problems += [f"{label}: {problem}" for problem in dict.fromkeys(problems)]
        if checkpoint.tree_size > report.entries:
            report.problems.append(f"{label}: beyond the ledger's {report.entries} entries")
            continue
        if store.root_at(checkpoint.tree_size) != bytes(checkpoint.root_hash):
            report.problems.append(f"{label}: root hash differs from the recomputed tree")


def audit(strict: bool = False) -> AuditReport:
    """Verify the ledger as it stood when the audit began; appends meanwhile are left for
    the next run, so a busy ledger never raises a false alarm."""
    head = LedgerHead.objects.filter(pk=1).first()
    size, peaks = (head.size, bytes(head.peaks)) if head else (0, b"")
    report = AuditReport()
    _check_tree(report, strict, size)
    if report.ok:
        _check_head(report, size, peaks)
        _check_chains(report, size)
        _check_checkpoints(report, size)
    return report
