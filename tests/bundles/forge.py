"""What a dishonest holder of the ledger key could do: keep a second history.

``fork`` rewrites an unzipped bundle as if the log had held a different entry at some index
outside the bundle: new root, new inclusion paths, a freshly signed checkpoint (JSON and
signed note), tlog-proof files and SHA256SUMS, all with the real key. On its own the forged
bundle verifies; only a consistency check against another bundle can show the fork.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

from fieldvisit.canonical import canonical_json
from fieldvisit.ledger import keys, merkle
from fieldvisit.ledger.checkpoints import note_body
from fieldvisit.models import LedgerEntry


def all_nodes(leaves: list[bytes]) -> dict[tuple[int, int], bytes]:
    """Every complete subtree's hash of a tree with these leaf hashes."""
    nodes = {(0, i): leaf for i, leaf in enumerate(leaves)}
    level, width = 0, len(leaves)
    while width > 1:
        for idx in range(width // 2):
            nodes[(level + 1, idx)] = merkle.node_hash(
                nodes[(level, 2 * idx)], nodes[(level, 2 * idx + 1)]
            )
        level, width = level + 1, width // 2
    return nodes


def resign(root: Path) -> None:
    """SHA256SUMS recomputed and signed again with the ledger key."""
    _, private = keys.current_signing_key()
    lines = []
    for line in (root / "SHA256SUMS").read_text().splitlines():
        _, name = line.split("  ", 1)
        if (root / name).exists():
            lines.append(f"{hashlib.sha256((root / name).read_bytes()).hexdigest()}  {name}")
    sums = ("\n".join(lines) + "\n").encode()
    (root / "SHA256SUMS").write_bytes(sums)
    (root / "SHA256SUMS.sig").write_bytes(private.sign(sums))


def fork(root: Path, rewritten_index: int = 0) -> None:
    checkpoint = json.loads((root / "checkpoint.json").read_bytes())
    size = checkpoint["tree_size"]
    leaves = [
        bytes(h)
        for h in LedgerEntry.objects.filter(index__lt=size)
        .order_by("index")
        .values_list("leaf_hash", flat=True)
    ]
    leaves[rewritten_index] = merkle.leaf_hash(b"an entry the other history never had")
    nodes = all_nodes(leaves)
    new_root = merkle.root_from_nodes(size, nodes)
    record, private = keys.current_signing_key()
    checkpoint["root_hash"] = new_root.hex()
    signed = canonical_json(checkpoint)
    (root / "checkpoint.json").write_bytes(signed)
    (root / "checkpoint.sig").write_bytes(private.sign(signed))
    origin = (root / "checkpoint.txt").read_text().split("\n", 1)[0]
    body = note_body(size, new_root, origin)
    sig = keys.note_key_hash(origin, bytes(record.public_key)) + private.sign(body.encode())
    note = f"{body}\n\u2014 {origin} {base64.b64encode(sig).decode()}\n"
    (root / "checkpoint.txt").write_text(note)
    entries = root / "ledger" / "entries.jsonl"
    lines = []
    for line in entries.read_bytes().splitlines():
        item = json.loads(line)
        assert item["index"] != rewritten_index, "rewrite an entry outside the bundle"
        path = merkle.inclusion_proof(item["index"], size, nodes)
        item["path"] = [h.hex() for h in path]
        item["root_hash"] = new_root.hex()
        lines.append(canonical_json(item))
        proof = root / "ledger" / "proofs" / f"{item['index']}.tlog-proof"
        head = proof.read_text().split("\n")[:2]  # header and extra line
        proof.write_text(
            "\n".join(
                [*head, f"index {item['index']}", *(base64.b64encode(h).decode() for h in path)]
            )
            + "\n\n"
            + note
        )
    entries.write_bytes(b"\n".join(lines) + b"\n")
    for stale in ("timestamp/checkpoint.tsr", "timestamp/tsa-ca.pem"):
        (root / stale).unlink(missing_ok=True)
    resign(root)
