"""Full recomputation of the ledger from its stored bytes (``manage.py verify_ledger``).

Nothing stored is trusted: every leaf hash is recomputed from the entry bytes, every stored
subtree hash from its children, the head from the nodes, and every checkpoint's root from
the nodes and its signatures from the published key. Rows are streamed through server-side
cursors, the entries in index order and the nodes in the order they were appended (each
level's in idx order should that not be the tree's own order), a batch at a time, so memory
stays flat whatever the ledger's size.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gc
import hashlib
import itertools
import json
import operator
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection

from fieldvisit.canonical import canonical_json
from fieldvisit.db import rows
from fieldvisit.ledger import chains, keys, merkle, store
from fieldvisit.ledger.checkpoints import verify_checkpoint
from fieldvisit.models import (
    Checkpoint,
    CheckpointTimestamp,
    LedgerEntry,
    LedgerHead,
    LedgerNode,
)

CHUNK = 5000
BATCH = 2048  # entries checked at a time (a power of two: whole subtrees)
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


@contextlib.contextmanager
def _streaming() -> Iterator[Any]:
    """A streaming cursor: on PostgreSQL a server-side one whose rows come in the binary
    format (a hash or an entry travels as its bytes, not as hex text to decode), still
    wrapped, counted and logged as Django's own."""
    if connection.vendor != "postgresql":
        with connection.chunked_cursor() as cursor:
            yield cursor
        return
    name = f"_ledger_audit_{next(_cursor_names)}"
    with rows.wrapped_cursor(
        # withhold as Django's: outside a transaction the cursor must outlive it.
        lambda raw: raw.cursor(name, scrollable=False, withhold=raw.autocommit, binary=True)
    ) as cursor:
        yield cursor


_cursor_names = itertools.count()


def _rows(sql: str, params: list[Any] | None = None) -> Iterator[tuple[Any, ...]]:
    with _streaming() as cursor:
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


# A problem found in a batch, keyed by where a one-entry-at-a-time walk would find it: the
# entry being read, then (0) its leaf hash, (1) its header, (2 + level) a node it completes.
Found = tuple[tuple[int, int], int | None, str]


def _report(report: AuditReport, found: list[Found], before: tuple[int, int] | None = None) -> None:
    """Add a batch's problems in the order an entry-by-entry walk would find them (only those
    found before ``before``, where the walk would have stopped)."""
    for key, index, problem in sorted(found, key=lambda item: item[0]):
        if before is not None and key >= before:
            break
        if index is None:
            report.problems.append(problem)
        else:
            report.bad_entry(index, problem)


def _as_bytes(values: Any) -> list[bytes]:
    """A column of a batch as a list of bytes (drivers may hand out memoryviews)."""
    if values and type(values[0]) is not bytes:
        return list(map(bytes, values))
    return list(values)


class _Stream:
    """A streaming cursor over one level's stored nodes, handing them out ``take(n)`` at a
    time (read ahead in chunks, so a level with few nodes costs one fetch, not one a batch)."""

    def __init__(self, sql: str, params: list[Any]) -> None:
        self.context = _streaming()
        self.cursor = self.context.__enter__()
        self.cursor.execute(sql, params)
        self.buffer: list[tuple[Any, ...]] = []
        self.at = 0  # the next row of the buffer to hand out
        self.done = False

    def take(self, count: int) -> list[tuple[Any, ...]]:
        if len(self.buffer) - self.at < count and not self.done:
            rest = self.buffer[self.at :]
            while len(rest) < count and not self.done:
                rows = self.cursor.fetchmany(max(count - len(rest), CHUNK))
                self.done = not rows
                rest += rows
            self.buffer, self.at = rest, 0
        taken = self.buffer[self.at : self.at + count]
        self.at += len(taken)
        return taken

    def close(self) -> None:
        self.context.__exit__(None, None, None)


class _Unordered(Exception):
    """The nodes, read in the order they were appended, are not the ones the tree completes
    in that order (a node missing, one too many, or stored out of order): the check starts
    again reading each level in its own order, which says where."""


@functools.cache
def _completion_plan(count: int, last: int) -> tuple[Any, tuple[int, ...], tuple[Any, ...]]:
    """How the nodes completed by ``count`` appends in a row, read in the order they were
    appended, go level by level: a getter putting them in (level, idx) order, their levels
    in that order, and each level's (level, offset, count). Appends from a multiple of a
    power of two at least ``count`` complete the nodes of appends 0 .. count - 1 but for
    the last of ``count`` = that power, which completes ``last`` levels (``_plan`` checks)."""
    completed: list[tuple[int, int]] = []
    for append in range(count):
        for level, idx in merkle.nodes_completed_by_append(append):
            completed.append((level, idx))
    if count & (count - 1) == 0 and count:
        completed = [node for node in completed if (node[1] + 1) << node[0] < count]
        completed += [(level, count) for level in range(1, last + 1)]  # the last append's
    order = sorted(range(len(completed)), key=lambda n: completed[n])
    levels = tuple(completed[n][0] for n in order)
    spans, offset = [], 0
    for level, group in itertools.groupby(levels):
        size = len(list(group))
        spans.append((level, offset, size))
        offset += size
    if len(order) == 1:
        only = order[0]
        getter = lambda row: (row[only],)  # noqa: E731 - itemgetter of one is no tuple
    else:
        getter = operator.itemgetter(*order) if order else lambda row: ()
    return getter, levels, tuple(spans)


def _plan(start: int, count: int) -> tuple[Any, tuple[int, ...], tuple[Any, ...]]:
    """``_completion_plan`` for appends ``start`` .. ``start + count - 1``."""
    power = 1 << max(count - 1, 0).bit_length()
    if start & (power - 1):  # batches are aligned (BATCH is a power of two)
        raise _Unordered
    end = start + count
    last = (end & -end).bit_length() - 1 if end else 0  # levels the last append completes
    return _completion_plan(count, last if count == power else 0)


class _Levels:
    """Every stored subtree hash, checked level by level against its two stored children.

    Each batch of stored leaf hashes (each itself checked against its entry's bytes) is
    paired up; the parents are computed in one pass and compared with the stored nodes,
    whose hashes then feed the level above. Whatever cannot be paired yet waits for the next
    batch. A node counts as verified once it matches the hash of its two (verified)
    children, so a changed node is reported at its own place. Memory: one batch per level.

    ``ordered``: the nodes come from one cursor in the order they were appended (the order
    of their table's key, in which each append writes the nodes it completes), which is
    one pass over the table instead of one per level; each batch's nodes must then be
    exactly those its entries complete (levels and idx checked), else ``_Unordered``.
    Otherwise each level's nodes come from a cursor of their own, in idx order.
    """

    def __init__(self, report: AuditReport, size: int, ordered: bool = False) -> None:
        self.report = report
        self.size = size
        self.streams: dict[int, _Stream] = {}
        self.waiting: list[list[bytes]] = []  # per level: verified hashes not yet paired
        self.first: list[int] = []  # per level: the idx of the first waiting hash
        self.fed = 0  # leaves fed so far
        self.sql = (
            f"SELECT idx, hash FROM {store._q(store.NODE)} "
            "WHERE level = %s AND idx < %s ORDER BY idx"
        )
        self.ordered: _Stream | None = None
        if ordered:
            self.ordered = _Stream(
                f"SELECT level, idx, hash FROM {store._q(store.NODE)} "
                f"ORDER BY {store._q(LedgerNode._meta.pk.column)}",
                [],
            )

    def _stream(self, level: int) -> _Stream:
        stream = self.streams.get(level)
        if stream is None:
            stream = self.streams[level] = _Stream(self.sql, [level, self.size >> level])
        return stream

    def _batch(self, count: int) -> dict[int, Sequence[Any]]:
        """The stored hashes of the nodes the next ``count`` leaves complete, by level, from
        the ordered cursor; raises _Unordered unless they are exactly those nodes."""
        assert self.ordered is not None
        start, end = self.fed, self.fed + count
        wanted = (end - end.bit_count()) - (start - start.bit_count())
        rows = self.ordered.take(wanted)
        if len(rows) != wanted:
            raise _Unordered
        if not wanted:
            return {}
        getter, levels, spans = _plan(start, count)
        got_levels, idxs, hashes = zip(*getter(rows), strict=True)
        if got_levels != levels or idxs != tuple(
            itertools.chain.from_iterable(range(start >> up, end >> up) for up, _, _ in spans)
        ):
            raise _Unordered
        return {up: hashes[offset : offset + n] for up, offset, n in spans}

    def add(self, leaves: list[bytes], found: list[Found]) -> None:
        """Feed the next stored leaf hashes; node problems go to ``found``. Raises _Broken
        (after noting where) when a node is missing."""
        sha256 = _sha256
        batch = self._batch(len(leaves)) if self.ordered is not None else None
        self.fed += len(leaves)
        level, hashes = 0, leaves
        while hashes:
            if len(self.waiting) == level:
                self.waiting.append([])
                self.first.append(0)
            waiting = self.waiting[level] + hashes
            first = self.first[level]
            pairs = len(waiting) // 2
            if not pairs:
                self.waiting[level] = waiting
                return
            used = 2 * pairs
            computed = [
                sha256(b"\x01" + left + right).digest()
                for left, right in zip(waiting[0:used:2], waiting[1:used:2], strict=True)
            ]
            up, start = level + 1, first // 2
            missing = None
            if batch is not None:
                stored = batch.get(up, ())
                if len(stored) != pairs:  # cannot be: the batch holds what they complete
                    raise _Unordered
            else:
                rows = self._stream(up).take(pairs)
                idxs, stored = zip(*rows, strict=True) if rows else ((), ())
                if idxs != tuple(range(start, start + pairs)):
                    missing = next((n for n, idx in enumerate(idxs) if idx != start + n), len(idxs))
                    stored = stored[:missing]
            stored = _as_bytes(stored)
            if computed[: len(stored)] != stored:
                for n, (mine, theirs) in enumerate(zip(computed, stored, strict=False)):
                    if mine != theirs:
                        parent = start + n
                        first_leaf, last_leaf = parent << up, ((parent + 1) << up) - 1
                        found.append(
                            (
                                (last_leaf, 2 + up),
                                first_leaf,
                                f"node ({up}, {parent}) over entries {first_leaf}-{last_leaf} "
                                "does not match its children",
                            )
                        )
            self.report.nodes += len(stored)
            if missing is not None:
                parent = start + missing
                raise _Broken((((parent + 1) << up) - 1, 2 + up), f"node ({up}, {parent}) missing")
            self.waiting[level] = waiting[used:]
            self.first[level] = first + used
            level, hashes = up, stored

    def finish(self) -> None:
        if self.ordered is not None:
            # What is left was appended after the head was read (its idx beyond what the
            # tree had at each level); anything else is a node too many.
            size = self.size
            while rows := self.ordered.take(CHUNK):
                for level, idx, _hash in rows:
                    if level < 1 or idx < size >> level:
                        raise _Unordered
            return
        for level, stream in self.streams.items():
            if stream.take(1):
                self.report.problems.append(f"level {level} holds more nodes than the tree has")

    def close(self) -> None:
        for stream in self.streams.values():
            stream.close()
        if self.ordered is not None:
            self.ordered.close()


_TAIL_BYTES = b',"index":%d,"kind":"%b","subject":"%b"}'


def _check_tree(report: AuditReport, strict: bool, size: int) -> list[tuple[int, bytes]]:
    """Every leaf from its bytes, and every stored subtree hash from its children, for the
    first ``size`` entries (the head read at the start: appends meanwhile are not judged).

    The nodes are first read in one pass in the order they were appended; should they not
    be the nodes the tree completes in that order, the check starts over reading each level
    in idx order, so the report is the same either way (it then says which node is missing
    or one too many).

    Returns the key rotations among the entries, (index, bytes), for their own check: the
    walk reads every entry's kind anyway, where a query would scan the whole table."""
    before = (list(report.problems), report.first_bad_index, report.entries, report.nodes)
    rotations: list[tuple[int, bytes]] = []
    try:
        _walk_tree(report, strict, size, True, rotations)
    except _Unordered:
        problems, report.first_bad_index, report.entries, report.nodes = before
        report.problems[:] = problems
        rotations.clear()
        _walk_tree(report, strict, size, False, rotations)
    return rotations


def _walk_tree(
    report: AuditReport,
    strict: bool,
    size: int,
    ordered: bool,
    rotations: list[tuple[int, bytes]],
) -> None:
    """``_check_tree``, the nodes read in the order they were appended (``ordered``) or
    each level's in idx order; the key rotations go to ``rotations``.

    Entries are read in batches and each check runs over a whole batch at once (the leaf
    hashes, one comparison of the lists, one of the bytes' endings); a batch with a problem
    is then gone through entry by entry to say where."""
    q = store._q
    levels = _Levels(report, size, ordered)
    sha256, tail = _sha256, _TAIL_BYTES.__mod__
    # The database hands the kind and subject over as their UTF-8 bytes, as the entry holds
    # them, rather than as text to decode and encode again (a tenth of the audit).
    as_bytes = connection.vendor in ("sqlite", "postgresql")
    text = {"sqlite": "CAST({} AS BLOB)", "postgresql": "convert_to({}, 'UTF8')"}.get(
        connection.vendor, "{}"
    )
    rotated = keys.ROTATED.encode() if as_bytes else keys.ROTATED
    expected = 0
    collecting = gc.isenabled()
    gc.disable()  # a batch's many new tuples hold no cycles; scanning them costs a third
    try:
        with _streaming() as cursor:
            cursor.execute(
                f"SELECT {q('index')}, {text.format('kind')}, {text.format('subject')}, "
                "entry_bytes, leaf_hash "
                f"FROM {q(store.ENTRY)} WHERE {q('index')} < %s ORDER BY {q('index')}",
                [size],
            )
            while rows := cursor.fetchmany(BATCH):
                indexes, kinds, subjects, raws, leaves = zip(*rows, strict=True)
                gap = None
                if indexes != tuple(range(expected, expected + len(rows))):
                    gap = next(n for n, index in enumerate(indexes) if index != expected + n)
                    indexes, kinds, subjects = indexes[:gap], kinds[:gap], subjects[:gap]
                    raws, leaves = raws[:gap], leaves[:gap]
                raws, leaves = _as_bytes(raws), _as_bytes(leaves)
                # The key rotations, by the kind as its column holds it (before any decoding
                # below): every one is checked, whatever else the batch holds.
                if rotated in kinds:
                    rotations += [
                        (indexes[n], raws[n]) for n, kind in enumerate(kinds) if kind == rotated
                    ]
                found: list[Found] = []
                if [sha256(b"\x00" + raw).digest() for raw in raws] != leaves:
                    for index, raw, leaf in zip(indexes, raws, leaves, strict=True):
                        if sha256(b"\x00" + raw).digest() != leaf:
                            found.append(
                                ((index, 0), index, "leaf hash does not match the entry bytes")
                            )
                if strict:
                    suspects = range(len(raws))
                else:  # Fast path: the bytes end exactly as the columns say (no escapes).
                    kind_bytes, subject_bytes = (
                        (kinds, subjects)
                        if as_bytes
                        else (map(str.encode, kinds), map(str.encode, subjects))
                    )
                    ends = zip(indexes, kind_bytes, subject_bytes, strict=True)
                    tails = list(map(tail, ends))
                    suspects = []
                    if not all(map(bytes.endswith, raws, tails)):
                        suspects = [n for n, end in enumerate(tails) if not raws[n].endswith(end)]
                if as_bytes and suspects:  # as text again, to compare with the bytes' own
                    kinds = [kind.decode(errors="replace") for kind in kinds]
                    subjects = [subject.decode(errors="replace") for subject in subjects]
                for n in suspects:
                    index = indexes[n]
                    try:
                        header = _header(raws[n], strict)
                    except ValueError as exc:
                        found.append(((index, 1), index, f"entry bytes are not valid: {exc}"))
                    else:
                        if header != (index, kinds[n], subjects[n]):
                            found.append(
                                (
                                    (index, 1),
                                    index,
                                    "entry bytes disagree with the indexed columns",
                                )
                            )
                report.entries = expected + len(raws)
                # The stored leaves (each checked against its bytes just above) feed the
                # tree, so a changed entry is reported at its own index.
                try:
                    levels.add(leaves, found)
                except _Broken as broken:
                    where, problem = broken.args
                    _report(report, found, before=where)
                    report.entries = where[0] + 1  # where an entry-by-entry walk stops
                    report.problems.append(problem)
                    raise
                _report(report, found)
                if gap is not None:
                    report.bad_entry(
                        report.entries,
                        f"missing (next stored index is {rows[gap][0]})",
                    )
                    return
                expected += len(rows)
        levels.finish()
    except _Broken:
        return
    finally:
        levels.close()
        if collecting:
            gc.enable()
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


def _check_checkpoints(report: AuditReport, size: int, rotations: list[tuple[int, bytes]]) -> None:
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
    report.problems += keys.rotation_problems(
        (index, json.loads(raw)["data"]) for index, raw in rotations
    )
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
    rotations = _check_tree(report, strict, size)
    if report.ok:
        _check_head(report, size, peaks)
        _check_chains(report, size)
        _check_checkpoints(report, size, rotations)
    return report
