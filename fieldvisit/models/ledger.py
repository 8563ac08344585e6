"""The evidence ledger: an RFC 6962 Merkle log of every evidentiary event.

Rows here are what lets a court check, without trusting us, that nothing was rewritten: the
exact canonical bytes of each entry, the hashes of complete subtrees (so proofs cost O(log n)
reads), the public keys that sign checkpoints, and the signed checkpoints themselves.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext

from fieldvisit.db.append_only import AppendOnlyModel
from fieldvisit.db.fields import RowidAutoField, RowidBigIntegerField
from fieldvisit.texts import _


class LedgerEntry(AppendOnlyModel):
    """One evidentiary event, stored as its exact RFC 8785 canonical JSON bytes.

    ``kind``, ``subject`` and ``at`` repeat fields of the bytes so that timelines can be
    queried; the bytes are the evidence and the leaf hash is computed from them.
    """

    index = RowidBigIntegerField(verbose_name=_("index"), primary_key=True)  # SQLite: rowid
    kind = models.CharField(verbose_name=_("kind"), max_length=64)
    subject = models.CharField(verbose_name=_("subject"), max_length=128, db_index=True)
    at = models.DateTimeField(verbose_name=_("at"))
    entry_bytes = models.BinaryField(verbose_name=_("entry bytes"))
    leaf_hash = models.BinaryField(verbose_name=_("leaf hash"), max_length=32)
    # The visit's own chain (``ledger.chains``): every entry about a visit carries the visit,
    # its number in the visit's sequence and the previous such entry's leaf hash in its
    # bytes; these columns repeat the first two so the chain's head is one indexed read.
    chain_visit = models.CharField(  # noqa: DJ001 - NULL: in no chain (kept out of the index)
        verbose_name=_("visit chain"), max_length=64, null=True, blank=True
    )
    chain_seq = models.PositiveIntegerField(
        verbose_name=_("number in the visit chain"), null=True, blank=True
    )

    class Meta:
        verbose_name = _("ledger entry")
        ordering = ["index"]
        verbose_name_plural = _("ledger entries")
        constraints = [
            models.CheckConstraint(name="ledger_index_not_negative", condition=Q(index__gte=0)),
            models.UniqueConstraint(
                fields=["chain_visit", "chain_seq"],
                condition=Q(chain_visit__isnull=False),
                name="ledger_visit_chain_unique",
            ),
            models.CheckConstraint(
                name="ledger_visit_chain_numbered",
                condition=Q(chain_visit__isnull=True, chain_seq__isnull=True)
                | Q(chain_visit__isnull=False, chain_seq__gte=1),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.index} {self.kind} {self.subject}"


class LedgerNode(AppendOnlyModel):
    """The hash of a complete subtree: leaves [idx * 2**level, (idx + 1) * 2**level).

    Level 0 (leaf hashes) lives on ``LedgerEntry``; levels from 1 up are stored here as they
    complete, about one row per entry, so any proof needs O(log n) rows.
    """

    # In the order nodes are appended (``verify_ledger`` reads them in that order).
    id = RowidAutoField(verbose_name="ID", primary_key=True)
    level = models.PositiveSmallIntegerField(verbose_name=_("level"))
    idx = models.BigIntegerField(verbose_name=_("idx"))
    hash = models.BinaryField(verbose_name=_("hash"), max_length=32)

    class Meta:
        verbose_name = _("ledger node")
        verbose_name_plural = _("ledger nodes")
        constraints = [
            models.UniqueConstraint(fields=["level", "idx"], name="ledger_node_unique"),
            models.CheckConstraint(name="ledger_node_level_positive", condition=Q(level__gte=1)),
        ]


class LedgerHead(models.Model):
    """The current tree size and its peaks: a cache that serializes appends.

    Appends lock this single row (PostgreSQL) or run in an IMMEDIATE transaction (SQLite),
    so no two writers ever take the same index. Everything here can be recomputed from the
    entries and nodes, and ``verify_ledger`` does so.
    """

    id = models.PositiveSmallIntegerField(verbose_name=_("id"), primary_key=True, default=1)
    size = models.BigIntegerField(verbose_name=_("size"), default=0)
    peaks = models.BinaryField(
        verbose_name=_("peaks"),
        default=b"",
        help_text=_("Concatenated hashes of the tree's peaks."),
    )

    class Meta:
        verbose_name = _("ledger head")
        verbose_name_plural = _("ledger heads")
        constraints = [
            models.CheckConstraint(name="ledger_head_singleton", condition=Q(id=1)),
        ]

    def __str__(self) -> str:
        return gettext("ledger head at size {size}").format(size=self.size)


class SigningKey(AppendOnlyModel):
    """A published Ed25519 public key of the ledger. A key is valid from its ``valid_from``
    until the next key's; old keys stay published so old checkpoints stay verifiable."""

    key_id = models.CharField(verbose_name=_("key id"), max_length=16, primary_key=True)
    public_key = models.BinaryField(verbose_name=_("public key"), max_length=32)
    valid_from = models.DateTimeField(verbose_name=_("valid from"))

    class Meta:
        verbose_name = _("signing key")
        verbose_name_plural = _("signing keys")
        ordering = ["valid_from"]

    def __str__(self) -> str:
        return self.key_id


class Checkpoint(AppendOnlyModel):
    """A signed tree head: the tree size and root hash at a time, signed by the ledger key.

    ``signed_bytes`` are the canonical JSON of ``{key_id, root_hash, tree_size, timestamp}``
    and ``signature`` the raw Ed25519 signature over them. ``note_signature`` signs the same
    tree head in the C2SP tlog-checkpoint signed-note form for transparency-log tooling.
    """

    tree_size = models.BigIntegerField(verbose_name=_("tree size"))
    root_hash = models.BinaryField(verbose_name=_("root hash"), max_length=32)
    timestamp = models.DateTimeField(verbose_name=_("timestamp"))
    origin = models.CharField(
        verbose_name=_("origin"),
        max_length=255,
        help_text=_("The log's name in the signed note, as it was when this was signed."),
    )
    key = models.ForeignKey(
        SigningKey, verbose_name=_("key"), on_delete=models.PROTECT, related_name="checkpoints"
    )
    signed_bytes = models.BinaryField(verbose_name=_("signed bytes"))
    signature = models.BinaryField(verbose_name=_("signature"), max_length=64)
    note_signature = models.BinaryField(verbose_name=_("note signature"), max_length=64)

    class Meta:
        verbose_name = _("checkpoint")
        verbose_name_plural = _("checkpoints")
        ordering = ["tree_size"]
        constraints = [
            models.UniqueConstraint(fields=["tree_size", "key"], name="checkpoint_once_per_size"),
            models.CheckConstraint(name="checkpoint_size_positive", condition=Q(tree_size__gte=1)),
        ]

    def __str__(self) -> str:
        return gettext("checkpoint @ {tree_size}").format(tree_size=self.tree_size)


class CheckpointTimestamp(AppendOnlyModel):
    """One request for an RFC 3161 time-stamp over a checkpoint's signed bytes, to one of the
    configured authorities (each stamps every checkpoint once).

    A time-stamp authority outside the company signs the SHA-256 of ``checkpoint.signed_bytes``
    with its own time, so the checkpoint provably existed then. Every attempt is a row: a
    granted one keeps the authority's DER ``TimeStampResp`` and its time, a failed one its
    error, so a gap (an authority down or slow) stays visible until a retry fills it.
    """

    checkpoint = models.ForeignKey(
        Checkpoint,
        verbose_name=_("checkpoint"),
        on_delete=models.PROTECT,
        related_name="timestamps",
    )
    authority = models.CharField(
        verbose_name=_("authority"), max_length=500, help_text=_("The time-stamp authority's URL.")
    )
    requested_at = models.DateTimeField(verbose_name=_("requested at"))
    response = models.BinaryField(
        verbose_name=_("response"),
        blank=True,
        default=b"",
        help_text=_("The DER TimeStampResp; empty when the attempt failed."),
    )
    gen_time = models.DateTimeField(
        verbose_name=_("gen time"), null=True, blank=True, help_text=_("The authority's time.")
    )
    error = models.CharField(verbose_name=_("error"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("checkpoint timestamp")
        verbose_name_plural = _("checkpoint timestamps")
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["checkpoint", "authority"],
                condition=Q(gen_time__isnull=False),
                name="checkpoint_timestamped_once_per_authority",
            ),
        ]

    @property
    def granted(self) -> bool:
        return self.gen_time is not None

    def __str__(self) -> str:
        state = gettext("granted") if self.granted else gettext("failed")
        return gettext("time-stamp of checkpoint @ {tree_size} ({value})").format(
            tree_size=self.checkpoint.tree_size, value=state
        )
