"""Tests for fieldvisit.ledger.merkle.

Three independent sources of truth:

* the transparency-dev/merkle test vectors under /work/shared/corpus/rfc6962 (never edited);
* a reference written here straight from RFC 9162's recursive definitions (MTH, PATH,
  PROOF/SUBPROOF over a list of entries), using hashlib directly;
* structural properties of the node store (which nodes exist, how many a proof needs).
"""

import base64
import hashlib
import json
import math
from pathlib import Path

import pytest

from fieldvisit.ledger.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    MemoryTree,
    ProofError,
    children,
    consistency_proof,
    consistency_ranges,
    hash_range,
    inclusion_proof,
    inclusion_ranges,
    leaf_hash,
    node_hash,
    nodes_completed_by_append,
    nodes_for_ranges,
    range_nodes,
    root_from_inclusion_proof,
    root_from_nodes,
    root_nodes,
    verify_consistency,
    verify_inclusion,
)
from tests.ledger.reference import ref_mth, ref_path, ref_proof

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "rfc6962"
INCLUSION_VECTORS = sorted((CORPUS / "inclusion").rglob("*.json"))
CONSISTENCY_VECTORS = sorted((CORPUS / "consistency").rglob("*.json"))
MAX_SIZE = 70


# --------------------------------------------------------------------------------------------
# Test vectors
# --------------------------------------------------------------------------------------------


def _vector_id(path: Path) -> str:
    return path.relative_to(CORPUS).as_posix()


def _b64(value: str) -> bytes:
    return base64.b64decode(value, validate=True)


def _b64_list(values: list[str] | None) -> list[bytes]:
    # The vectors write an empty proof either as [] or as null.
    return [_b64(v) for v in values or []]


def test_corpus_is_present() -> None:
    assert len(INCLUSION_VECTORS) + len(CONSISTENCY_VECTORS) > 150
    assert len(INCLUSION_VECTORS) > 50
    assert len(CONSISTENCY_VECTORS) > 50


@pytest.mark.parametrize("path", INCLUSION_VECTORS, ids=_vector_id)
def test_inclusion_vector(path: Path) -> None:
    case = json.loads(path.read_text())
    args = (
        case["leafIdx"],
        case["treeSize"],
        _b64(case["leafHash"]),
        _b64_list(case["proof"]),
        _b64(case["root"]),
    )
    if case["wantErr"]:
        with pytest.raises(ProofError):
            verify_inclusion(*args)
    else:
        verify_inclusion(*args)
        assert root_from_inclusion_proof(*args[:4]) == args[4]


@pytest.mark.parametrize("path", CONSISTENCY_VECTORS, ids=_vector_id)
def test_consistency_vector(path: Path) -> None:
    case = json.loads(path.read_text())
    args = (
        case["size1"],
        case["size2"],
        _b64_list(case["proof"]),
        _b64(case["root1"]),
        _b64(case["root2"]),
    )
    if case["wantErr"]:
        with pytest.raises(ProofError):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


# The entries behind the vectors' trees (RFC 6962 test data, as in transparency-dev/merkle).
RFC_ENTRIES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]


def test_generated_proofs_match_vectors() -> None:
    """Our generator reproduces every happy-path proof of the vectors' 8-entry tree."""
    t = MemoryTree()
    for entry in RFC_ENTRIES:
        t.append(entry)
    matched = 0
    for path in INCLUSION_VECTORS:
        case = json.loads(path.read_text())
        size, root = case["treeSize"], _b64(case["root"])
        if not case["wantErr"] and size <= t.size and t.root(size) == root:
            assert t.inclusion_proof(case["leafIdx"], size) == _b64_list(case["proof"]), path
            matched += 1
    for path in CONSISTENCY_VECTORS:
        case = json.loads(path.read_text())
        size1, size2 = case["size1"], case["size2"]
        if not case["wantErr"] and size2 <= t.size and t.root(size2) == _b64(case["root2"]):
            assert t.root(size1) == _b64(case["root1"]), path
            assert t.consistency_proof(size1, size2) == _b64_list(case["proof"]), path
            matched += 1
    assert matched >= 10


# Distinct entries of varied lengths, including the empty entry.
ENTRIES = [b"" if i == 0 else f"entry {i}".encode() * (i % 3 + 1) for i in range(MAX_SIZE)]
REF_ROOTS = [ref_mth(ENTRIES[:n]) for n in range(MAX_SIZE + 1)]
REF_LEAVES = [hashlib.sha256(b"\x00" + e).digest() for e in ENTRIES]


@pytest.fixture(scope="module")
def tree() -> MemoryTree:
    t = MemoryTree()
    for i, entry in enumerate(ENTRIES):
        assert t.append(entry) == i
    assert t.size == MAX_SIZE
    return t


def _flip(h: bytes, bit: int = 0) -> bytes:
    return bytes([h[0] ^ (1 << bit)]) + h[1:]


def test_hash_primitives() -> None:
    assert hashlib.sha256(b"").digest() == EMPTY_ROOT
    assert len(EMPTY_ROOT) == HASH_SIZE
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    assert (
        node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    )
    # RFC 6962 test data: the root of the tree with the single empty entry.
    assert leaf_hash(b"").hex() == (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )


def test_roots_match_reference(tree: MemoryTree) -> None:
    assert tree.root(0) == EMPTY_ROOT
    for n in range(MAX_SIZE + 1):
        assert tree.root(n) == REF_ROOTS[n], n
        assert root_from_nodes(n, tree.nodes) == REF_ROOTS[n], n
    assert tree.root() == REF_ROOTS[MAX_SIZE]
    with pytest.raises(ValueError):
        tree.root(MAX_SIZE + 1)


@pytest.mark.parametrize("size", range(1, MAX_SIZE + 1))
def test_inclusion_matches_reference(tree: MemoryTree, size: int) -> None:
    d = ENTRIES[:size]
    root = REF_ROOTS[size]
    for index in range(size):
        expected = ref_path(index, d)
        ranges = inclusion_ranges(index, size)
        # Each range's MTH is the corresponding reference element.
        assert [ref_mth(ENTRIES[s:e]) for s, e in ranges] == expected, index
        # The plan is complete: the fetched nodes alone are enough.
        fetched = {k: tree.nodes[k] for k in nodes_for_ranges(ranges)}
        assert inclusion_proof(index, size, fetched) == expected, index
        assert tree.inclusion_proof(index, size) == expected, index

        leaf = REF_LEAVES[index]
        assert root_from_inclusion_proof(index, size, leaf, expected) == root
        verify_inclusion(index, size, leaf, expected, root)


@pytest.mark.parametrize("size", range(1, MAX_SIZE + 1))
def test_inclusion_rejects_tampering(size: int) -> None:
    d = ENTRIES[:size]
    root = REF_ROOTS[size]
    for index in range(size):
        proof = ref_path(index, d)
        leaf = REF_LEAVES[index]
        bad: list[tuple[int, int, bytes, list[bytes], bytes]] = []
        for i in range(len(proof)):
            for bit in (0, 7):
                bad.append(
                    (index, size, leaf, [*proof[:i], _flip(proof[i], bit), *proof[i + 1 :]], root)
                )
        for other in (index - 1, index + 1, index ^ 1, index ^ 2, size, -1):
            if other != index:
                bad.append((other, size, leaf, proof, root))
        if proof:
            bad.append((index, size, leaf, proof[:-1], root))  # truncated
            bad.append((index, size, leaf, proof[1:], root))  # first element dropped
        bad += [
            (index, size, leaf, [*proof, root], root),  # trailing element
            (index, size, leaf, [root, *proof], root),  # preceding element
            (index, size, _flip(leaf), proof, root),  # wrong leaf
            (index, size, leaf[:-1], proof, root),  # short leaf hash
            (index, size, leaf, proof, _flip(root)),  # wrong root
            (index, size, leaf, proof, root + b"\x00"),  # long root
            (index, size * 2, leaf, proof, root),  # wrong size (size + 1: see below)
        ]
        if proof:
            bad.append((index, size, leaf, [*proof[:-1], proof[-1] + b"\x00"], root))
        for args in bad:
            with pytest.raises(ProofError):
                verify_inclusion(*args)


def test_inclusion_proof_binds_the_root_not_the_size() -> None:
    # RFC 9162's verifier only walks the path's shape, and sizes 3 and 4 give leaf 0 the same
    # shape, so the size-3 proof and root also "verify" at size 4. The leaf really is in that
    # tree; what the proof cannot tell is the size, which must come from the signed tree head.
    proof = ref_path(0, ENTRIES[:3])
    verify_inclusion(0, 4, REF_LEAVES[0], proof, REF_ROOTS[3])
    with pytest.raises(ProofError):
        verify_inclusion(0, 4, REF_LEAVES[0], proof, REF_ROOTS[4])


@pytest.mark.parametrize("size2", range(1, MAX_SIZE + 1))
def test_consistency_matches_reference(tree: MemoryTree, size2: int) -> None:
    d = ENTRIES[:size2]
    for size1 in range(1, size2 + 1):
        expected = ref_proof(size1, d)
        ranges = consistency_ranges(size1, size2)
        assert [ref_mth(ENTRIES[s:e]) for s, e in ranges] == expected, size1
        fetched = {k: tree.nodes[k] for k in nodes_for_ranges(ranges)}
        assert consistency_proof(size1, size2, fetched) == expected, size1
        assert tree.consistency_proof(size1, size2) == expected, size1
        verify_consistency(size1, size2, expected, REF_ROOTS[size1], REF_ROOTS[size2])


@pytest.mark.parametrize("size2", range(1, MAX_SIZE + 1))
def test_consistency_rejects_tampering(size2: int) -> None:
    d = ENTRIES[:size2]
    root2 = REF_ROOTS[size2]
    for size1 in range(1, size2 + 1):
        proof = ref_proof(size1, d)
        root1 = REF_ROOTS[size1]
        bad: list[tuple[int, int, list[bytes], bytes, bytes]] = []
        for i in range(len(proof)):
            for bit in (0, 4):
                tampered = [*proof[:i], _flip(proof[i], bit), *proof[i + 1 :]]
                bad.append((size1, size2, tampered, root1, root2))
        if proof:
            bad.append((size1, size2, proof[:-1], root1, root2))  # truncated
            bad.append((size1, size2, proof[1:], root1, root2))  # first element dropped
            bad.append((size1, size2, [], root1, root2))  # empty
            bad.append((size1, size2, proof, root2, root1))  # swapped roots
            bad.append((size1, size2, [proof[0][:-1], *proof[1:]], root1, root2))  # short hash
        bad += [
            (size1, size2, [*proof, root1], root1, root2),  # trailing element
            (size1, size2, [root2, *proof], root1, root2),  # preceding element
            (size1, size2, proof, _flip(root1), root2),  # wrong first root
            (size1, size2, proof, root1, _flip(root2)),  # wrong second root
            (size1, size2 * 2, proof, root1, root2),  # wrong second size
            (size1 + 1, size2, proof, root1, root2),  # wrong first size (or size1 > size2)
            (size1 - 1, size2, proof, root1, root2),  # size1 - 1 (0 included)
            (size2 + 1, size2, proof, root1, root2),  # time travel
        ]
        if size1 ^ 2 <= size2:
            bad.append((size1 ^ 2, size2, proof, root1, root2))
        for args in bad:
            with pytest.raises(ProofError):
                verify_consistency(*args)


def test_consistency_edge_cases(tree: MemoryTree) -> None:
    root = REF_ROOTS[5]
    # Equal sizes: empty proof and equal roots, nothing else.
    verify_consistency(5, 5, [], root, root)
    with pytest.raises(ProofError):
        verify_consistency(5, 5, [root], root, root)
    with pytest.raises(ProofError):
        verify_consistency(5, 5, [], root, REF_ROOTS[4])
    # The empty tree: only its true root, and no proof from it is accepted.
    verify_consistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT)
    with pytest.raises(ProofError):
        verify_consistency(0, 0, [], root, root)
    assert consistency_ranges(0, 5) == []
    assert tree.consistency_proof(0, 5) == []
    with pytest.raises(ProofError):
        verify_consistency(0, 5, [], EMPTY_ROOT, root)
    with pytest.raises(ProofError):
        verify_consistency(0, 5, [EMPTY_ROOT], EMPTY_ROOT, root)
    # Sizes out of order.
    with pytest.raises(ValueError):
        consistency_ranges(6, 5)
    with pytest.raises(ValueError):
        consistency_ranges(-1, 5)
    with pytest.raises(ValueError):
        tree.consistency_proof(1, MAX_SIZE + 1)


def test_inclusion_edge_cases(tree: MemoryTree) -> None:
    for index, size in ((0, 0), (1, 1), (-1, 3), (3, 3)):
        with pytest.raises(ValueError):
            inclusion_ranges(index, size)
        with pytest.raises(ProofError):
            root_from_inclusion_proof(index, size, REF_LEAVES[0], [])
    assert inclusion_ranges(0, 1) == []
    verify_inclusion(0, 1, REF_LEAVES[0], [], REF_ROOTS[1])
    with pytest.raises(ValueError):
        tree.inclusion_proof(0, MAX_SIZE + 1)
    with pytest.raises(ProofError):
        root_from_inclusion_proof(0, 2, REF_LEAVES[0], [b"\x00" * 31])


# --------------------------------------------------------------------------------------------
# Planning and storage
# --------------------------------------------------------------------------------------------


def test_range_nodes() -> None:
    assert range_nodes(0, 0) == []
    assert range_nodes(0, 1) == [(0, 0)]
    assert range_nodes(0, 13) == [(3, 0), (2, 2), (0, 12)]
    assert range_nodes(8, 13) == [(2, 2), (0, 12)]
    assert range_nodes(16, 23) == [(2, 4), (1, 10), (0, 22)]
    assert range_nodes(4, 8) == [(2, 1)]
    assert root_nodes(70) == [(6, 0), (2, 16), (1, 34)]
    assert root_nodes(0) == []
    for start, end in ((1, 4), (2, 6), (3, 5), (5, 3), (-1, 2), (6, 14)):
        with pytest.raises(ValueError):
            range_nodes(start, end)


def test_range_nodes_cover_range_exactly() -> None:
    for size in range(1, 2 * MAX_SIZE):
        covered = []
        for level, idx in root_nodes(size):
            covered.extend(range(idx << level, (idx + 1) << level))
        assert covered == list(range(size))
        assert len(root_nodes(size)) == bin(size).count("1")


def test_hash_range(tree: MemoryTree) -> None:
    for start, end in ((0, 13), (8, 13), (32, 64), (64, 70), (5, 6)):
        assert hash_range(start, end, tree.nodes) == ref_mth(ENTRIES[start:end])
    with pytest.raises(ValueError):
        hash_range(3, 3, tree.nodes)
    with pytest.raises(KeyError):
        hash_range(0, 13, {(3, 0): EMPTY_ROOT})


def test_nodes_completed_by_append() -> None:
    assert nodes_completed_by_append(0) == []
    assert nodes_completed_by_append(1) == [(1, 0)]
    assert nodes_completed_by_append(2) == []
    assert nodes_completed_by_append(3) == [(1, 1), (2, 0)]
    assert nodes_completed_by_append(5) == [(1, 2)]
    assert nodes_completed_by_append(7) == [(1, 3), (2, 1), (3, 0)]
    assert nodes_completed_by_append(2**20 - 1) == [(lv, 2 ** (20 - lv) - 1) for lv in range(1, 21)]
    with pytest.raises(ValueError):
        nodes_completed_by_append(-1)


def test_children() -> None:
    assert children(1, 0) == ((0, 0), (0, 1))
    assert children(2, 1) == ((1, 2), (1, 3))
    for bad in ((0, 3), (1, -1)):
        with pytest.raises(ValueError):
            children(*bad)


def test_store_holds_exactly_the_complete_nodes() -> None:
    t = MemoryTree()
    for n in range(1, MAX_SIZE + 1):
        t.append(ENTRIES[n - 1])
        complete = {
            (level, idx)
            for level in range(n.bit_length())
            for idx in range(n >> level)  # (idx + 1) * 2**level <= n
        }
        assert set(t.nodes) == complete, n
        for level, idx in complete:
            assert t.nodes[(level, idx)] == ref_mth(ENTRIES[idx << level : (idx + 1) << level])


@pytest.mark.parametrize("size", [2**20, 2**20 - 1, 2**20 + 1, 2**20 + 12345, 1_000_003])
def test_proof_plans_are_logarithmic(size: int) -> None:
    bound = 2 * math.ceil(math.log2(size))
    depth = (size - 1).bit_length()
    for index in sorted({0, 1, 2, size // 3, size // 2, size - 2, size - 1, 2**19 + 7}):
        ranges = inclusion_ranges(index, size)
        needed = nodes_for_ranges(ranges)
        assert len(ranges) <= depth
        assert len(needed) <= bound, (index, len(needed))
        # The plan alone suffices to compute the proof (no other node is read).
        fake = {node: hashlib.sha256(repr(node).encode()).digest() for node in needed}
        assert len(inclusion_proof(index, size, fake)) == len(ranges)
    for size1 in sorted({1, 2, 3, size // 3, size // 2, size - 1, 2**19 + 7}):
        needed = nodes_for_ranges(consistency_ranges(size1, size))
        assert len(needed) <= bound, (size1, len(needed))
    assert len(root_nodes(size)) <= depth + 1
