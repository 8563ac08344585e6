"""A bundle's proofs: each entry's RFC 6962 inclusion proof, computed once and written in two
forms (a line of ``ledger/entries.jsonl`` and a C2SP ``ledger/proofs/<i>.tlog-proof``), and
the consistency proofs from earlier bundles' checkpoints."""

from __future__ import annotations

import base64
import json

from fieldvisit.canonical import canonical_json
from fieldvisit.ledger import store
from fieldvisit.models import LedgerEntry


def inclusion_proofs(entries: list[LedgerEntry], size: int) -> list[store.InclusionProof]:
    """Each entry's proof into the tree of ``size`` entries, in the entries' order."""
    return [store.inclusion_proof(entry.index, size) for entry in entries]


def entries_jsonl(proofs: list[store.InclusionProof]) -> bytes:
    """One line per entry: its bytes (verbatim, base64, and parsed), leaf hash and proof."""
    lines = []
    for proof in proofs:
        entry = proof.entry
        raw = bytes(entry.entry_bytes)
        lines.append(
            canonical_json(
                {
                    "index": entry.index,
                    "leaf_hash": bytes(entry.leaf_hash).hex(),
                    "entry_b64": base64.b64encode(raw).decode(),
                    "entry": json.loads(raw),
                    "tree_size": proof.tree_size,
                    "path": [node.hex() for node in proof.path],
                    "root_hash": proof.root_hash.hex(),
                }
            )
        )
    return b"\n".join(lines) + b"\n"


def tlog_proof(proof: store.InclusionProof, note: str) -> bytes:
    """A C2SP tlog-proof (https://c2sp.org/tlog-proof): the entry's exact bytes as the
    ``extra`` line (so the leaf hash can be recomputed), its index, the RFC 6962 inclusion
    path, a blank line and the checkpoint as a C2SP tlog-checkpoint signed note."""
    lines = [
        "c2sp.org/tlog-proof@v1",
        f"extra {base64.b64encode(bytes(proof.entry.entry_bytes)).decode()}",
        f"index {proof.entry.index}",
        *(base64.b64encode(node).decode() for node in proof.path),
        "",
    ]
    return ("\n".join(lines) + "\n" + note).encode()


def consistency_lines(sizes: set[int], size: int) -> bytes:
    """RFC 9162 consistency proofs from each earlier checkpoint size to this bundle's."""
    lines = []
    for first in sorted(s for s in sizes if 1 <= s < size):
        proof = store.consistency_proof(first, size)
        lines.append(
            canonical_json(
                {
                    "first": first,
                    "first_root": proof.first_root.hex(),
                    "second": size,
                    "second_root": proof.second_root.hex(),
                    "path": [node.hex() for node in proof.path],
                }
            )
        )
    return b"".join(line + b"\n" for line in lines)
