"""A tus upload in progress. Not evidence: its offset moves as bytes arrive, and it ends
completed (the bytes became an ``AudioSegment``), failed, terminated or expired."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from fieldvisit.choices import UploadStatus


class Upload(models.Model):
    id = models.UUIDField(primary_key=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    device_id = models.CharField(max_length=128)
    visit = models.ForeignKey("fieldvisit.Visit", on_delete=models.PROTECT, related_name="uploads")
    length = models.BigIntegerField()
    offset = models.BigIntegerField(default=0)
    metadata = models.JSONField(default=dict)
    status = models.CharField(
        max_length=16, choices=UploadStatus.choices, default=UploadStatus.RECEIVING
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    failure = models.JSONField(null=True, blank=True, help_text="The problem a failed upload got.")
    # One PATCH at a time: a writer takes the lease with a conditional UPDATE.
    lease = models.CharField(max_length=32, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "expires_at"])]
        constraints = [
            models.CheckConstraint(
                name="upload_offset_within_length",
                condition=Q(offset__gte=0) & Q(offset__lte=models.F("length")),
            ),
        ]

    def __str__(self) -> str:
        return f"Upload {self.id} ({self.offset}/{self.length})"
