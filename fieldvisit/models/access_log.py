"""Who read which evidence, and when (DESIGN rule 12): every read by legal users and
supervisors, through the API or admin. Append-only like the evidence it is about."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from fieldvisit.db.append_only import AppendOnlyModel


class EvidenceAccess(AppendOnlyModel):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=32, help_text="What was read: visit, case evidence, …")
    subject = models.CharField(max_length=128, help_text="Which record, e.g. visit:<uuid>.")
    at = models.DateTimeField()
    via = models.CharField(max_length=8, help_text="api or admin")

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["subject", "at"]), models.Index(fields=["user", "at"])]
        verbose_name_plural = "evidence accesses"

    def __str__(self) -> str:
        return f"{self.user_id} read {self.subject} ({self.action})"
