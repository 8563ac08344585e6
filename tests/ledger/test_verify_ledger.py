"""``manage.py verify_ledger`` passes on a sound ledger and names the first bad index."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from fieldvisit.db.append_only import install_sql, uninstall_sql
from fieldvisit.ledger import keys, merkle, store
from fieldvisit.ledger.audit import audit, time_problems
from fieldvisit.ledger.checkpoints import make_checkpoint
from fieldvisit.models import Checkpoint, LedgerEntry, LedgerHead, LedgerNode
from tests.ledger.helpers import append_many

pytestmark = pytest.mark.django_db


def verify(*args: str) -> str:
    out = io.StringIO()
    call_command("verify_ledger", *args, stdout=out, stderr=out)
    return out.getvalue()


def tamper(model: type, sql: str, params: list) -> None:
    """What an attacker with database access would do: lift the triggers, then rewrite."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        for statement in uninstall_sql(connection.vendor, table):
            cursor.execute(statement)
        cursor.execute(sql, params)
        for statement in install_sql(connection.vendor, table):
            cursor.execute(statement, None)


def test_a_sound_ledger_verifies() -> None:
    append_many(45)
    make_checkpoint()
    append_many(5)
    make_checkpoint()
    output = verify("--strict")
    assert "Ledger OK: 50 entries" in output
    assert "2 checkpoints" in output


def test_an_empty_ledger_verifies() -> None:
    assert "Ledger OK: 0 entries" in verify()


def test_changed_entry_bytes_are_caught_at_their_index() -> None:
    entries = append_many(20)
    forged = entries[13].replace(b'"n":13', b'"n":99')
    tamper(
        LedgerEntry,
        'UPDATE fieldvisit_ledgerentry SET entry_bytes = %s WHERE "index" = %s',
        [forged, 13],
    )
    with pytest.raises(CommandError, match="first bad index: 13"):
        verify()


def test_bytes_rewritten_with_a_matching_leaf_hash_are_caught_by_the_tree() -> None:
    entries = append_many(20)
    forged = entries[13].replace(b'"n":13', b'"n":99')
    tamper(
        LedgerEntry,
        'UPDATE fieldvisit_ledgerentry SET entry_bytes = %s, leaf_hash = %s WHERE "index" = %s',
        [forged, merkle.leaf_hash(forged), 13],
    )
    with pytest.raises(CommandError, match="first bad index: 12"):  # the pair 12-13
        verify()


def test_a_rewritten_tree_is_caught_by_the_checkpoint_signature() -> None:
    """Even rewriting every hash up to the root is caught: the signed root differs."""
    entries = append_many(4)
    make_checkpoint()
    forged = entries[3].replace(b'"n":3', b'"n":9')
    leaf = merkle.leaf_hash(forged)
    tamper(
        LedgerEntry,
        'UPDATE fieldvisit_ledgerentry SET entry_bytes = %s, leaf_hash = %s WHERE "index" = 3',
        [forged, leaf],
    )
    leaves = [merkle.leaf_hash(e) for e in entries[:3]] + [leaf]
    level1 = [merkle.node_hash(leaves[0], leaves[1]), merkle.node_hash(leaves[2], leaves[3])]
    for idx, value in enumerate(level1):
        tamper(
            LedgerNode,
            "UPDATE fieldvisit_ledgernode SET hash = %s WHERE level = 1 AND idx = %s",
            [value, idx],
        )
    tamper(
        LedgerNode,
        "UPDATE fieldvisit_ledgernode SET hash = %s WHERE level = 2 AND idx = 0",
        [merkle.node_hash(*level1)],
    )
    LedgerHead.objects.update(peaks=merkle.node_hash(*level1))  # a cache, not append-only
    with pytest.raises(CommandError, match="root hash differs"):
        verify()


def test_a_missing_entry_is_caught() -> None:
    append_many(10)
    tamper(LedgerEntry, 'DELETE FROM fieldvisit_ledgerentry WHERE "index" = %s', [4])
    with pytest.raises(CommandError, match="first bad index: 4"):
        verify()


def test_a_forged_checkpoint_signature_is_caught() -> None:
    append_many(3)
    checkpoint = make_checkpoint()
    assert checkpoint is not None
    bad = bytes(64)
    tamper(
        Checkpoint,
        "UPDATE fieldvisit_checkpoint SET signature = %s WHERE id = %s",
        [bad, checkpoint.pk],
    )
    with pytest.raises(CommandError, match="JSON signature does not verify"):
        verify()


def test_a_column_that_disagrees_with_the_bytes_is_caught() -> None:
    """Timelines query the kind and subject columns; they must say what the bytes say."""
    append_many(6)
    tamper(LedgerEntry, 'UPDATE fieldvisit_ledgerentry SET kind = %s WHERE "index" = %s', ["x", 2])
    with pytest.raises(CommandError, match="first bad index: 2"):
        verify()


def test_strict_mode_checks_the_canonical_form() -> None:
    append_many(3)
    raw = (
        b'{"actor":{"name":"test","type":"system"},  "at":"x","data":{},'
        b'"index":1,"kind":"test.event","subject":"test:1"}'
    )
    tamper(
        LedgerEntry,
        'UPDATE fieldvisit_ledgerentry SET entry_bytes = %s, leaf_hash = %s WHERE "index" = 1',
        [raw, merkle.leaf_hash(raw)],
    )
    with pytest.raises(CommandError, match="not canonical JSON"):
        verify("--strict")


def test_appends_during_an_audit_raise_no_false_alarm(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A busy ledger keeps growing while a long audit reads it: the audit judges the ledger
    as it stood when it began, and what came after is left for the next run."""
    from fieldvisit.ledger import audit as audit_module

    append_many(9)
    make_checkpoint()
    original = audit_module._check_tree

    def busy(report, strict, size):  # type: ignore[no-untyped-def]
        append_many(5)  # writers carry on after the head was read
        make_checkpoint()
        return original(report, strict, size)

    monkeypatch.setattr(audit_module, "_check_tree", busy)
    report = audit_module.audit()
    assert report.ok, report.problems
    assert (report.entries, report.checkpoints) == (9, 1)


def test_a_truncated_tail_is_caught() -> None:
    append_many(10)
    tamper(LedgerEntry, 'DELETE FROM fieldvisit_ledgerentry WHERE "index" = %s', [9])
    with pytest.raises(CommandError, match="first bad index: 9"):
        verify()


def test_time_problems_judge_a_checkpoint_by_its_key_and_its_authority() -> None:
    start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    retired = start + dt.timedelta(days=30)
    hour = dt.timedelta(hours=1)
    window = (start, retired)
    assert time_problems(start + dt.timedelta(days=1), window, None, hour) == []
    stamped = start + dt.timedelta(days=1, seconds=30)
    assert time_problems(start + dt.timedelta(days=1), window, stamped, hour) == []
    # Signed after its key was retired, or before it was valid.
    assert time_problems(retired, window, None, hour) == ["signed outside its key's validity"]
    assert time_problems(start - hour, window, None, hour) == ["signed outside its key's validity"]
    # Back-dated: the authority first saw it a month after the date it claims.
    late = time_problems(start + dt.timedelta(days=1), window, retired + hour, hour)
    assert late == ["time-stamped more than 1:00:00 after it says it was signed"]
    early = time_problems(start + dt.timedelta(days=1), window, start, hour)
    assert early == ["time-stamped before it says it was signed"]


@pytest.mark.parametrize(
    ("strict", "escaped"),
    [(False, False), (True, False), (False, True)],
    ids=["plain", "strict", "beside-an-entry-with-escapes"],
)
def test_verify_ledger_checks_each_key_rotation_s_signature(strict: bool, escaped: bool) -> None:
    """In every mode, and in a batch where another entry's subject needs a JSON escape (the
    audit then reads that batch's columns again as text)."""
    with transaction.atomic():
        if escaped:
            store.append("test.event", {"type": "system", "name": "test"}, 'a"b\\c', {})
        store.append(
            keys.ROTATED,
            {"type": "system", "name": "test"},
            "ledger:keys",
            {
                "type": keys.ROTATION,
                "old_key": "00" * 32,
                "new_key": "11" * 32,
                "at": "2026-11-24T00:00:00Z",
                "signature": "22" * 64,
            },
        )
    report = audit(strict=strict)
    assert any("key rotation is not signed by the old key" in p for p in report.problems)


def test_verify_ledger_follows_each_visit_chain() -> None:
    visit = "5d0c3a4e-0000-4000-8000-000000000001"
    with transaction.atomic():
        for n in range(3):
            store.append(
                "photo.added", {"type": "system", "name": "test"}, f"visit:{visit}", {"n": n}
            )
        store.seal_visit(visit)
    assert audit().ok
    # A row renumbered out of its chain (its bytes unchanged, so its leaf still holds).
    middle = LedgerEntry.objects.get(chain_visit=visit, chain_seq=2).index
    table = LedgerEntry._meta.db_table
    tamper(LedgerEntry, f'UPDATE "{table}" SET chain_seq = 9 WHERE "index" = %s', [middle])
    report = audit()
    assert any(f"breaks the chain of visit {visit}" in p for p in report.problems)


def test_a_checkpoint_dated_before_its_last_entry_is_caught() -> None:
    append_many(3)
    last = LedgerEntry.objects.order_by("-index").values_list("at", flat=True).first()
    make_checkpoint(now=last - dt.timedelta(minutes=5))
    problems = audit().problems
    assert any("dated before its last entry was appended" in p for p in problems), problems


DAMAGES = [
    None,
    (
        "node",
        "UPDATE fieldvisit_ledgernode SET hash = %s WHERE level = 2 AND idx = 3",
        [bytes(32)],
    ),
    ("node", "DELETE FROM fieldvisit_ledgernode WHERE level = 1 AND idx = 9", []),
    ("node", "DELETE FROM fieldvisit_ledgernode WHERE level = 3 AND idx = 2", []),
    ("node", "UPDATE fieldvisit_ledgernode SET idx = 40 WHERE level = 1 AND idx = 4", []),
    ("node", "UPDATE fieldvisit_ledgernode SET level = 7 WHERE level = 2 AND idx = 5", []),
    (
        "entry",
        'UPDATE fieldvisit_ledgerentry SET leaf_hash = %s WHERE "index" = 21',
        [bytes(32)],
    ),
    ("entry", 'UPDATE fieldvisit_ledgerentry SET kind = %s WHERE "index" IN (5, 30)', ["x"]),
    ("entry", 'DELETE FROM fieldvisit_ledgerentry WHERE "index" = 26', []),
    ("entry", 'DELETE FROM fieldvisit_ledgerentry WHERE "index" = 44', []),
]


def damaged_ledger(damage: tuple[str, str, list] | None) -> None:
    """45 entries, a checkpoint, and the ``damage`` (one of ``DAMAGES``) done to them."""
    append_many(45)
    make_checkpoint()
    if damage:
        model = LedgerNode if damage[0] == "node" else LedgerEntry
        tamper(model, damage[1], damage[2])


def walks(monkeypatch, ordered: bool | None = None) -> list[bool]:  # type: ignore[no-untyped-def]
    """Record how each walk over the tree reads the nodes (in append order or not); with
    ``ordered`` given, every walk reads them so."""
    from fieldvisit.ledger import audit as audit_module

    original, seen = audit_module._walk_tree, []

    def walk(report, strict, size, how, rotations):  # type: ignore[no-untyped-def]
        seen.append(how if ordered is None else ordered)
        return original(report, strict, size, seen[-1], rotations)

    monkeypatch.setattr(audit_module, "_walk_tree", walk)
    return seen


def test_a_sound_ledger_is_read_once_in_the_order_it_was_appended(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    append_many(45)
    seen = walks(monkeypatch)
    report = audit()
    assert report.ok, report.problems
    assert (seen, report.entries, report.nodes) == ([True], 45, 41)


def test_nodes_stored_out_of_their_append_order_are_read_level_by_level(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A node written again (a new id, the same level, idx and hash) leaves the tree as sound
    as it was: the one pass in append order finds the nodes out of order and the check
    starts again level by level, which finds nothing wrong."""
    append_many(45)
    node = LedgerNode.objects.get(level=1, idx=3)
    tamper(LedgerNode, "DELETE FROM fieldvisit_ledgernode WHERE level = 1 AND idx = 3", [])
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO fieldvisit_ledgernode (level, idx, hash) VALUES (1, 3, %s)",
            [bytes(node.hash)],
        )
    seen = walks(monkeypatch)
    report = audit()
    assert report.ok, report.problems
    assert (seen, report.entries, report.nodes) == ([True, False], 45, 41)


@pytest.mark.parametrize("damage", DAMAGES)
def test_reading_the_nodes_in_append_order_finds_what_reading_each_level_finds(  # type: ignore[no-untyped-def]
    monkeypatch, damage
) -> None:
    damaged_ledger(damage)
    reports = []
    for ordered in (None, False):
        walks(monkeypatch, ordered)
        report = audit()
        reports.append((report.problems, report.first_bad_index, report.entries, report.nodes))
    assert reports[0] == reports[1]
    assert bool(reports[0][0]) == bool(damage)


@pytest.mark.parametrize("damage", DAMAGES)
def test_the_audit_says_the_same_whatever_its_batch_size(monkeypatch, damage) -> None:  # type: ignore[no-untyped-def]
    """Entries are checked a batch at a time and nodes read ahead in chunks: a batch or a
    chunk boundary anywhere changes nothing in what the audit finds, nor in its order."""
    from fieldvisit.ledger import audit as audit_module

    damaged_ledger(damage)
    reports = []
    for batch, chunk in [(2048, 5000), (1, 1), (2, 3), (4, 1), (8, 5), (16, 64)]:
        monkeypatch.setattr(audit_module, "BATCH", batch)
        monkeypatch.setattr(audit_module, "CHUNK", chunk)
        report = audit_module.audit()
        counts = (report.entries, report.nodes) if report.ok else ()  # where it stopped
        reports.append((report.problems, report.first_bad_index, counts))
    assert reports == [reports[0]] * len(reports)
    if damage:
        assert reports[0][0]
    else:
        assert reports[0] == ([], None, (45, 41))  # 45 entries: 45 - popcount(45) nodes
