"""Each visit's own chain in the ledger, and the seals that say a visit is complete.

The Merkle tree proves that an entry is in the log; it cannot prove that a bundle holds *all*
of a visit's entries: whoever builds the bundle could leave one out. So every entry about a
visit (whatever its subject: check-ins, photos, receipts, audio segments, reports, reviews,
alerts naming the visit) carries, in its own bytes, the visit, its number in the visit's
sequence and the leaf hash of the visit's previous entry::

    "chain": {"visit": "<id>", "seq": 7, "prev": "<hex leaf hash of entry 6>"}

Closing the visit appends a ``visit.sealed`` entry (itself in the chain) that commits to how
many entries came before it, the chain's head and each recording's segment chain; anything
added to a sealed visit later is followed, in the same transaction, by a new seal. A verifier
holding a bundle then needs the chain unbroken from number 1 to the latest seal, and the
seal's counts met: an entry left out breaks the chain, and the last ones left out leave the
seal's count unmet.

Everything here is plain data; ``store.append`` applies it under the ledger's lock, which
makes the numbers gapless (and a unique constraint makes them unique).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

SEALED = "visit.sealed"
SEGMENT = "recording.segment_added"
SEALER = {"type": "system", "name": "ledger"}


def visit_of(subject: str, data: Mapping[str, Any]) -> str | None:
    """The visit an entry is about: its subject's (``visit:<id>``), or the visit an alert
    names (``alert:<id>`` with ``data["visit"]``)."""
    if subject.startswith("visit:"):
        return subject[len("visit:") :]
    if subject.startswith("alert:") and data.get("visit"):
        return str(data["visit"])
    return None


def link(visit: str, previous: tuple[int, bytes] | None) -> dict[str, Any]:
    """The ``chain`` field of the visit's next entry, after ``previous`` (seq, leaf hash)."""
    if previous is None:
        return {"visit": visit, "seq": 1, "prev": None}
    seq, leaf = previous
    return {"visit": visit, "seq": seq + 1, "prev": leaf.hex()}


def segment_chains(segment_entries: Iterable[bytes]) -> list[dict[str, Any]]:
    """Each recording's segment chain as a seal records it: how many segments, the last
    index and the last segment's SHA-256, from the ``recording.segment_added`` entries."""
    heads: dict[str, dict[str, Any]] = {}
    for raw in segment_entries:
        data = json.loads(raw)["data"]
        recording = str(data["recording"])
        head = heads.setdefault(recording, {"recording": recording, "count": 0, "last": -1})
        head["count"] += 1
        if data["segment"] > head["last"]:
            head["last"] = data["segment"]
            head["last_sha256"] = data["file"]["sha256"]
    return [heads[key] for key in sorted(heads)]


def seal_data(previous: tuple[int, bytes], segments: list[dict[str, Any]]) -> dict[str, Any]:
    """What a seal commits to: the entries before it, their head, the segment chains."""
    seq, leaf = previous
    return {"entries": seq, "head": leaf.hex(), "segments": segments}
