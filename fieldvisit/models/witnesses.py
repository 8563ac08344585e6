"""Witnesses' cosignatures of the ledger's checkpoints (``fieldvisit.ledger.witnessing``).

A witness outside the company checked that a checkpoint extends every earlier one it saw and
signed it (C2SP tlog-cosignature, cosignature/v1); the line it returned is kept exactly as it
came, after its signature was verified against the witness's configured verifier key.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext

from fieldvisit.db.append_only import AppendOnlyModel
from fieldvisit.models.ledger import Checkpoint
from fieldvisit.texts import _


class WitnessCosignature(AppendOnlyModel):
    """One witness's cosignature line on one checkpoint."""

    checkpoint = models.ForeignKey(
        Checkpoint,
        verbose_name=_("checkpoint"),
        on_delete=models.PROTECT,
        related_name="cosignatures",
    )
    witness_name = models.CharField(
        verbose_name=_("witness name"),
        max_length=255,
        help_text=_("The witness's key name, as in its signature line."),
    )
    verifier_key = models.CharField(
        verbose_name=_("verifier key"),
        max_length=500,
        help_text=_("The witness's C2SP verifier key (name+key ID+base64) it was checked with."),
    )
    key_id = models.CharField(verbose_name=_("key ID"), max_length=8)
    line = models.CharField(
        verbose_name=_("cosignature line"),
        max_length=1000,
        help_text=_("The signature line the witness returned, without its newline."),
    )
    cosigned_at = models.DateTimeField(
        verbose_name=_("cosigned at"), help_text=_("The time in the witness's cosignature.")
    )
    created_at = models.DateTimeField(verbose_name=_("created at"))

    class Meta:
        verbose_name = _("witness cosignature")
        verbose_name_plural = _("witness cosignatures")
        ordering = ["checkpoint", "witness_name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["checkpoint", "verifier_key"], name="witness_cosigns_checkpoint_once"
            ),
        ]

    def __str__(self) -> str:
        return gettext("cosignature of checkpoint @ {tree_size} by {witness}").format(
            tree_size=self.checkpoint.tree_size, witness=self.witness_name
        )
