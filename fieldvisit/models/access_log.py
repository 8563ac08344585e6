"""Who read which evidence, and when (DESIGN rule 12): every read by legal users and
supervisors, through the API or admin. Append-only like the evidence it is about."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext

from fieldvisit.db.append_only import AppendOnlyModel
from fieldvisit.texts import _


class EvidenceAccess(AppendOnlyModel):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(
        verbose_name=_("action"),
        max_length=32,
        help_text=_("What was read: visit, case evidence, …"),
    )
    subject = models.CharField(
        verbose_name=_("subject"), max_length=128, help_text=_("Which record, e.g. visit:<uuid>.")
    )
    at = models.DateTimeField(verbose_name=_("at"))
    via = models.CharField(verbose_name=_("via"), max_length=8, help_text=_("api or admin"))

    class Meta:
        verbose_name = _("evidence access")
        ordering = ["-at"]
        indexes = [models.Index(fields=["subject", "at"]), models.Index(fields=["user", "at"])]
        verbose_name_plural = _("evidence accesses")

    def __str__(self) -> str:
        return gettext("{user_id} read {subject} ({action})").format(
            user_id=self.user_id, subject=self.subject, action=self.action
        )
