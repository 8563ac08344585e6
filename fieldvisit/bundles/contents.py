"""Building a planned bundle (``plan.Plan``): its files, manifest and signed SHA256SUMS.

Nothing but the plan and its checkpoint goes in (every time in it is the checkpoint's, never
'now'), so the same evidence always gives the same bytes.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.template.loader import select_template
from django.utils import translation

from fieldvisit.bundles import proofs, report, verify
from fieldvisit.bundles.members import Member, generated
from fieldvisit.bundles.plan import Item, Plan
from fieldvisit.canonical import iso
from fieldvisit.languages import supported
from fieldvisit.ledger import keys, timestamps, witnessing
from fieldvisit.ledger.keys import current_signing_key, public_pem
from fieldvisit.models import CheckpointTimestamp


@dataclass(frozen=True)
class Bundle:
    plan: Plan
    members: list[Member]  # SHA256SUMS, its signature, then every other file by path
    language: str  # of report.html and README.txt

    @property
    def timestamp(self) -> dt.datetime:
        """Every member's ZIP time: the checkpoint's (UTC), so the bytes never depend on 'now'."""
        checkpoint = self.plan.checkpoint
        return checkpoint.timestamp.astimezone(dt.UTC).replace(tzinfo=None, microsecond=0)


def language_for(asked: str | None) -> str:
    """The language a bundle is written in: the one asked for (``?lang=``), else the one
    active (the downloader's profile, else their client's), else the deployment's."""
    for code in (asked, translation.get_language(), settings.LANGUAGE_CODE):
        if language := supported(code):
            return language
    return "en"


def build(plan: Plan, language: str | None = None) -> Bundle:
    """Every file of the bundle, with SHA256SUMS signed by the current key. The same plan
    and language give the same bytes."""
    language = language_for(language)
    consistency = proofs.consistency_lines(plan.earlier_sizes, plan.checkpoint.tree_size)
    with translation.override(language):
        people = [
            generated("report.html", report.render(plan).encode()),
            _readme(plan, bool(consistency), language),
        ]
    docs = [
        *_ledger_docs(plan),
        *([generated("ledger/consistency.jsonl", consistency)] if consistency else []),
        *_timestamp_docs(plan.stamps),
        *people,
        generated("verify.py", verify_script()),
        _manifest(plan),
    ]
    evidence = [
        Member(i.path, i.file.size, i.file.crc32, i.file.sha256, evidence=i.file.sha256)
        for i in plan.items
    ]
    record, private = current_signing_key()
    if record.key_id != plan.checkpoint.key.key_id:  # the key was rotated since the checkpoint
        docs.append(generated("SHA256SUMS.key.pem", public_pem(bytes(record.public_key)).encode()))
    if handovers := _key_rotations():
        docs.append(generated("keys.jsonl", handovers))
    members = sorted(docs + evidence + [t for t, _ in plan.thumbnails], key=lambda m: m.path)
    sums = "".join(f"{m.sha256}  {m.path}\n" for m in members).encode()
    # The list of files is signed too, so nothing can be dropped, added or rewritten with a
    # matching SHA256SUMS. Ed25519 is deterministic: the same bytes every time.
    signed = [generated("SHA256SUMS", sums), generated("SHA256SUMS.sig", private.sign(sums))]
    return Bundle(plan, [*signed, *members], language)


def _ledger_docs(plan: Plan) -> list[Member]:
    """The signed checkpoint in both its forms, its key, and every entry with its proof."""
    checkpoint = plan.checkpoint
    # The log's signed note with every witness's cosignature line after its own.
    note = witnessing.cosigned_note(checkpoint)
    inclusion = proofs.inclusion_proofs(plan.entries, checkpoint.tree_size)
    return [
        generated("checkpoint.json", bytes(checkpoint.signed_bytes)),
        generated("checkpoint.sig", bytes(checkpoint.signature)),
        generated("checkpoint.txt", note.encode()),
        generated("public_key.pem", public_pem(bytes(checkpoint.key.public_key)).encode()),
        generated("ledger/entries.jsonl", proofs.entries_jsonl(inclusion)),
        *(
            generated(
                f"ledger/proofs/{proof.entry.index}.tlog-proof", proofs.tlog_proof(proof, note)
            )
            for proof in inclusion
        ),
    ]


def _key_rotations() -> bytes:
    """``keys.jsonl``: every hand-over from one ledger key to the next, signed by the old
    key, so that one key pinned from outside vouches for all that followed it."""
    lines = [
        json.dumps(
            {
                "ledger_entry": index,
                "statement_b64": base64.b64encode(keys.rotation_statement(data)).decode(),
                "signature": data["signature"],
                "new_signature": data.get("new_signature", ""),
            },
            sort_keys=True,
        )
        + "\n"
        for index, data in keys.rotations()
    ]
    return "".join(lines).encode()


def _timestamp_docs(stamps: list[CheckpointTimestamp]) -> list[Member]:
    """The checkpoint's RFC 3161 tokens, one per authority, each with a copy of its
    authority's CA certificate(s): ``checkpoint.tsr`` and ``tsa-ca.pem`` for the first,
    ``checkpoint.2.tsr`` and ``tsa-ca.2.pem`` for the second, and so on."""
    docs = []
    for number, stamp in enumerate(stamps, 1):
        suffix = "" if number == 1 else f".{number}"
        docs.append(generated(f"timestamp/checkpoint{suffix}.tsr", bytes(stamp.response)))
        if ca := timestamps.ca_pem(stamp.authority):
            docs.append(generated(f"timestamp/tsa-ca{suffix}.pem", ca))
    return docs


def _readme(plan: Plan, consistency: bool, language: str) -> Member:
    """How to check the bundle, in the bundle's language: a document of its own per language
    (``README.<language>.txt``), English otherwise."""
    template = select_template([f"bundles/README.{language}.txt", "bundles/README.txt"])
    text = template.render(
        {
            "bundle": plan.subject,
            "checkpoint": plan.checkpoint,
            "timestamp": iso(plan.checkpoint.timestamp),
            "stamped": bool(plan.stamps),
            "consistency": consistency,
        },
    )
    return generated("README.txt", text.encode())


def _manifest(plan: Plan) -> Member:
    """``manifest.json``: the bundle's subject and checkpoint, each evidence file with the
    record and ledger entry it belongs to, and the thumbnails derived from them."""
    checkpoint = plan.checkpoint
    cited = {e.index: json.loads(bytes(e.entry_bytes)) for e in plan.entries}
    manifest = {
        "bundle": {
            "kind": plan.subject.kind,
            "id": plan.subject.subject_id,
            "visits": [str(v.pk) for v in plan.subject.visits],
            "checkpoint": {
                "tree_size": checkpoint.tree_size,
                "root_hash": bytes(checkpoint.root_hash).hex(),
                "key_id": checkpoint.key.key_id,
                "timestamp": iso(checkpoint.timestamp),
            },
        },
        "items": [_manifest_item(i, cited[i.ledger_entry]) for i in plan.items],
        "derived": [
            {"path": t.path, "sha256": t.sha256, "size": t.size, "made_from": source}
            for t, source in plan.thumbnails
        ],
    }
    text = json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=True)
    return generated("manifest.json", text.encode() + b"\n")


def _manifest_item(item: Item, entry: dict[str, Any]) -> dict[str, Any]:
    """An evidence file as the ledger entry that records it says (``verify.manifest_fields``,
    which ``verify.py`` re-derives and compares), with its path and that entry's index."""
    fields = verify.manifest_fields(entry, item.record.get("part", ""))
    if fields is None:
        raise ValueError(f"ledger entry {item.ledger_entry} records no evidence file")
    return {"path": item.path, "ledger_entry": item.ledger_entry, **fields}


def verify_script() -> bytes:
    """The standalone verifier every bundle carries."""
    return Path(__file__).with_name("verify.py").read_bytes()
