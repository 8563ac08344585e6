"""Appending to the ledger and reading proofs from it.

An append happens inside the transaction of the record it describes (both exist or
neither), under a lock on the tree head so that indexes are gapless and never shared.
Proofs read O(log n) stored subtree hashes in at most two queries.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models.base import ModelState
from django.utils import timezone

from fieldvisit.canonical import entry_json, iso
from fieldvisit.db import rows
from fieldvisit.ledger import chains, merkle
from fieldvisit.models import LedgerEntry, LedgerHead, LedgerNode
from fieldvisit.texts import _, format_lazy

HASH = merkle.HASH_SIZE
Node = tuple[int, int]


class LedgerRangeError(ValueError):
    """A proof was asked for an entry or tree size the ledger does not have."""


def actor_for(user: Any = None, device_id: str | None = None, system: str | None = None) -> dict:
    """Who caused an event, in the form every entry records."""
    if system:
        return {"type": "system", "name": system}
    actor: dict[str, Any] = {"type": "user", "id": user.pk, "username": user.get_username()}
    if device_id:
        actor["device"] = device_id
    return actor


def split_peaks(blob: bytes) -> list[bytes]:
    return [blob[i : i + HASH] for i in range(0, len(blob), HASH)]


# The ledger's hot paths speak plain SQL, prepared on PostgreSQL (``rows.cursor``): an append
# is the head locked and then its writes (one statement on PostgreSQL, up to three on
# SQLite), and a proof one query, where the ORM would spend most of the time building them.
# Table and column names come from the models, so a rename cannot go unnoticed.
ENTRY = LedgerEntry._meta.db_table
NODE = LedgerNode._meta.db_table
HEAD = LedgerHead._meta.db_table


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


@functools.cache
def _append_sql(vendor: str) -> tuple[str, ...]:
    """The append's statements for one database engine, built once."""
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    return (
        f"SELECT size, peaks FROM {_q(HEAD)} WHERE id = 1{lock}",
        f"INSERT INTO {_q(ENTRY)} "
        f"({_q('index')}, kind, subject, at, entry_bytes, leaf_hash, chain_visit, chain_seq) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        f"INSERT INTO {_q(NODE)} (level, idx, hash) VALUES ",
        f"UPDATE {_q(HEAD)} SET size = %s, peaks = %s WHERE id = 1",
        f"SELECT chain_seq, leaf_hash, kind FROM {_q(ENTRY)} WHERE chain_visit = %s "
        "ORDER BY chain_seq DESC LIMIT 1",
        f"SELECT entry_bytes FROM {_q(ENTRY)} WHERE chain_visit = %s AND kind = %s "
        "ORDER BY chain_seq",
    )


def _connection() -> Any:
    """The default connection itself: ``connection`` is a proxy that looks it up again on
    every attribute read, which an append would do a dozen times."""
    return connections[DEFAULT_DB_ALIAS]


@functools.cache
def _write_sql(vendor: str, nodes: int) -> tuple[str, ...]:
    """An append's writes when it completes ``nodes`` subtrees: the entry, the nodes and the
    head; on PostgreSQL all three in one statement."""
    _, insert_entry, insert_nodes, update_head = _append_sql(vendor)[:4]
    node_rows = insert_nodes + ", ".join(["(%s, %s, %s)"] * nodes) if nodes else ""
    if vendor == "postgresql":
        nodes_cte = f", n AS ({node_rows})" if nodes else ""
        return (f"WITH e AS ({insert_entry}){nodes_cte} {update_head}",)
    return (insert_entry, node_rows, update_head) if nodes else (insert_entry, update_head)


def _locked_head(cursor: Any, sql: str, along: Sequence[rows.Statement] = ()) -> tuple[int, bytes]:
    """Read the tree head, holding its row lock (PostgreSQL) until the transaction ends;
    ``along``: the record's own writes, run first (on PostgreSQL in the same statement, one
    round trip for all of them).

    On SQLite the IMMEDIATE transaction already holds the database's write lock.
    """
    if along and cursor.db.vendor == "postgresql":
        writes = ", ".join(f"w{n} AS ({statement})" for n, (statement, _) in enumerate(along))
        cursor.execute(f"WITH {writes} {sql}", [value for _, values in along for value in values])
    else:
        for statement, values in along:
            cursor.execute(statement, values)
        cursor.execute(sql)
    row = cursor.fetchone()
    if row is None:
        LedgerHead.objects.bulk_create([LedgerHead(pk=1)], ignore_conflicts=True)
        cursor.execute(sql)
        row = cursor.fetchone()
    return row[0], bytes(row[1])


def append(
    kind: str,
    actor: Mapping[str, Any],
    subject: str,
    data: Mapping[str, Any],
    along: Sequence[rows.Statement] = (),
) -> LedgerEntry:
    """Append one event; call it inside the transaction that writes what it describes.

    An event about a visit joins the visit's chain (``chains``); one added to a sealed visit
    is followed by a new seal. ``along``: statements writing the record itself
    (``rows.insert_statement``, ``rows.update_statement``), sent with the head's lock instead
    of one round trip each (a check-in's row and its agent's clock).
    """
    db = _connection()
    if not db.in_atomic_block:
        raise RuntimeError("ledger appends belong inside the writer's transaction")
    sql = _append_sql(db.vendor)
    visit = chains.visit_of(subject, data)
    with rows.cursor(db) as cursor:
        head = _locked_head(cursor, sql[0], along)
        previous, sealed = _chain_head(cursor, sql, visit) if visit else (None, False)
        entry, head = _insert(db, cursor, head, kind, actor, subject, data, visit, previous)
        if sealed and kind != chains.SEALED:
            _seal(db, cursor, head, visit, entry)
    return entry


def seal_visit(visit: Any) -> LedgerEntry:
    """Seal a visit's chain (``chains``): the visit is complete as it stands. Call it inside
    the transaction that closes the visit."""
    db = _connection()
    if not db.in_atomic_block:
        raise RuntimeError("ledger appends belong inside the writer's transaction")
    sql = _append_sql(db.vendor)
    visit = str(visit)
    with rows.cursor(db) as cursor:
        head = _locked_head(cursor, sql[0])
        previous, _sealed = _chain_head(cursor, sql, visit)
        if previous is None:
            raise ValueError(f"visit {visit} has no ledger entries to seal")
        return _seal(db, cursor, head, visit, None, previous)


def _chain_head(
    cursor: Any, sql: tuple[str, ...], visit: str
) -> tuple[tuple[int, bytes] | None, bool]:
    """The visit's latest (seq, leaf hash), and whether that entry is a seal (a sealed
    chain always ends with one: every later addition is followed by a new seal)."""
    cursor.execute(sql[4], [visit])
    row = cursor.fetchone()
    if row is None:
        return None, False
    return (row[0], bytes(row[1])), row[2] == chains.SEALED


def _seal(
    db: Any,
    cursor: Any,
    head: tuple[int, bytes],
    visit: str,
    after: LedgerEntry | None,
    previous: tuple[int, bytes] | None = None,
) -> LedgerEntry:
    if after is not None:
        previous = (after.chain_seq, bytes(after.leaf_hash))
    assert previous is not None
    cursor.execute(_append_sql(db.vendor)[5], [visit, chains.SEGMENT])
    segments = chains.segment_chains(bytes(row[0]) for row in cursor.fetchall())
    data = chains.seal_data(previous, segments)
    entry, _head = _insert(
        db, cursor, head, chains.SEALED, chains.SEALER, f"visit:{visit}", data, visit, previous
    )
    return entry


def _insert(
    db: Any,
    cursor: Any,
    head: tuple[int, bytes],
    kind: str,
    actor: Mapping[str, Any],
    subject: str,
    data: Mapping[str, Any],
    visit: str | None,
    previous: tuple[int, bytes] | None,
) -> tuple[LedgerEntry, tuple[int, bytes]]:
    """One entry at the head ``(size, peaks)``: its row, the subtrees it completes and the
    new head, which it returns with the entry."""
    index, peaks = head
    at = timezone.now()
    stamp = iso(at)
    chain = chains.link(visit, previous) if visit else None
    raw = entry_json(index, kind, stamp, actor, subject, data, chain)
    leaf = merkle.leaf_hash(raw)
    seq = chain["seq"] if chain else None
    entry = _loaded_entry(db.alias, index, kind, subject, at, raw, leaf, visit, seq)
    entry_params = [
        index,
        kind,
        subject,
        _at_column(db, at, stamp),
        raw,
        leaf,
        visit,
        seq,
    ]
    # The peaks are the complete subtrees of the old tree, largest first (one per bit set in
    # its size, the smallest last); the new leaf merges with the equal-sized ones at the end,
    # one per trailing 1 bit of the old size, which completes exactly the nodes listed by
    # ``merkle.nodes_completed_by_append``, lowest level first, each one's left child the
    # peak just before.
    if len(peaks) != HASH * index.bit_count():
        raise AssertionError("ledger head peaks do not match its size")
    value, end = leaf, len(peaks)
    new_nodes: list[Any] = []
    for level, idx in merkle.nodes_completed_by_append(index):
        value = merkle.node_hash(peaks[end - HASH : end], value)
        new_nodes += [level, idx, value]
        end -= HASH
    new_peaks = peaks[:end] + value
    statements = _write_sql(db.vendor, len(new_nodes) // 3)
    if len(statements) == 1:
        # PostgreSQL: one statement, one round trip, while the head's lock is held: the
        # entry, its nodes and the new head (data-modifying CTEs all run, to completion).
        cursor.execute(statements[0], [*entry_params, *new_nodes, index + 1, new_peaks])
    else:
        cursor.execute(statements[0], entry_params)
        if new_nodes:
            cursor.execute(statements[1], new_nodes)
        cursor.execute(statements[-1], [index + 1, new_peaks])
    return entry, (index + 1, new_peaks)


def _at_column(db: Any, at: Any, stamp: str) -> Any:
    """``at`` as its column's value, as ``adapt_datetimefield_value`` writes it; on SQLite,
    when ``at`` is in UTC (as ``timezone.now`` gives it) and so is the connection, the same
    text (``str`` of the naive time: no fraction when it is zero) taken from ``stamp``,
    ``iso(at)``, without that function's general path (a tenth of an append's Python)."""
    if db.vendor == "sqlite" and at.tzinfo is dt.UTC and db.timezone is dt.UTC:
        return f"{stamp[:10]} {stamp[11:26] if at.microsecond else stamp[11:19]}"
    return db.ops.adapt_datetimefield_value(at)


def _loaded_entry(
    alias: str,
    index: int,
    kind: str,
    subject: str,
    at: Any,
    raw: bytes,
    leaf: bytes,
    chain_visit: str | None,
    chain_seq: int | None,
) -> LedgerEntry:
    """The entry just inserted, as a loaded instance, without the cost of ``Model.__init__``
    (a fifth of an append): its fields are all given, none has a default to compute."""
    entry = LedgerEntry.__new__(LedgerEntry)
    entry.__dict__.update(
        index=index,
        kind=kind,
        subject=subject,
        at=at,
        entry_bytes=raw,
        leaf_hash=leaf,
        chain_visit=chain_visit,
        chain_seq=chain_seq,
    )
    entry._state = ModelState()
    entry._state.adding = False
    entry._state.db = alias
    return entry


def tree_size() -> int:
    return LedgerHead.objects.values_list("size", flat=True).first() or 0


def _root(size: int, peaks: bytes) -> tuple[int, bytes]:
    if size == 0:
        return 0, merkle.EMPTY_ROOT
    nodes = dict(zip(merkle.root_nodes(size), split_peaks(peaks), strict=True))
    return size, merkle.root_from_nodes(size, nodes)


def current_root() -> tuple[int, bytes]:
    """The size and root hash of the whole tree, from the head's peaks."""
    head = LedgerHead.objects.filter(pk=1).first()
    return (0, merkle.EMPTY_ROOT) if head is None else _root(head.size, bytes(head.peaks))


def locked_root() -> tuple[int, bytes]:
    """The size and root hash of the whole tree, holding the head's lock until the
    transaction ends: nothing is appended meanwhile (a key rotation neither, which is an
    append), so what is signed under it is signed by the key current at that point."""
    if not connection.in_atomic_block:
        raise RuntimeError("the ledger head is locked inside a transaction")
    with rows.cursor() as cursor:
        size, peaks = _locked_head(cursor, _append_sql(connection.vendor)[0])
    return _root(size, peaks)


def fetch_nodes(keys: Iterable[Node]) -> dict[Node, bytes]:
    """Stored hashes for the given subtrees, in one query: leaves from the entries, the
    higher levels from the nodes."""
    keys = set(keys)
    leaves = [idx for level, idx in keys if level == 0]
    upper = [(level, idx) for level, idx in keys if level > 0]
    parts, params = [], []
    if leaves:
        marks = ", ".join(["%s"] * len(leaves))
        parts.append(
            f"SELECT 0, {_q('index')}, leaf_hash FROM {_q(ENTRY)} WHERE {_q('index')} IN ({marks})"
        )
        params += leaves
    if upper:
        where = " OR ".join(["(level = %s AND idx = %s)"] * len(upper))
        parts.append(f"SELECT level, idx, hash FROM {_q(NODE)} WHERE {where}")
        params += [value for key in upper for value in key]
    found: dict[Node, bytes] = {}
    if parts:
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(parts), params)
            found = {(level, idx): bytes(value) for level, idx, value in cursor.fetchall()}
    missing = keys - found.keys()
    if missing:
        raise LedgerRangeError(f"ledger nodes missing: {sorted(missing)[:3]}")
    return found


def _check_size(size: int) -> None:
    current = tree_size()
    if not 1 <= size <= current:
        raise LedgerRangeError(
            format_lazy(_("tree_size must be between 1 and {current}"), current=current)
        )


def root_at(size: int) -> bytes:
    _check_size(size)
    return merkle.root_from_nodes(size, fetch_nodes(merkle.root_nodes(size)))


@dataclass(frozen=True)
class InclusionProof:
    entry: LedgerEntry
    tree_size: int
    path: list[bytes]
    root_hash: bytes


def inclusion_proof(index: int, size: int) -> InclusionProof:
    _check_size(size)
    if not 0 <= index < size:
        raise LedgerRangeError(format_lazy(_("entry must be between 0 and {last}"), last=size - 1))
    ranges = merkle.inclusion_ranges(index, size)
    wanted = merkle.nodes_for_ranges(ranges) | set(merkle.root_nodes(size)) | {(0, index)}
    nodes = fetch_nodes(wanted)
    entry = LedgerEntry.objects.get(index=index)
    return InclusionProof(
        entry=entry,
        tree_size=size,
        path=merkle.inclusion_proof(index, size, nodes),
        root_hash=merkle.root_from_nodes(size, nodes),
    )


@dataclass(frozen=True)
class ConsistencyProof:
    first: int
    second: int
    first_root: bytes
    second_root: bytes
    path: list[bytes]


def consistency_proof(first: int, second: int) -> ConsistencyProof:
    _check_size(second)
    if not 1 <= first <= second:
        raise LedgerRangeError(_("first must be between 1 and second"))
    ranges = merkle.consistency_ranges(first, second)
    wanted = (
        merkle.nodes_for_ranges(ranges)
        | set(merkle.root_nodes(first))
        | set(merkle.root_nodes(second))
    )
    nodes = fetch_nodes(wanted)
    return ConsistencyProof(
        first=first,
        second=second,
        first_root=merkle.root_from_nodes(first, nodes),
        second_root=merkle.root_from_nodes(second, nodes),
        path=merkle.consistency_proof(first, second, nodes),
    )
