"""A tus upload in progress. Not evidence: its offset moves as bytes arrive, and it ends
completed (the bytes became an ``AudioSegment``), failed, terminated or expired."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext

from fieldvisit.choices import UploadStatus
from fieldvisit.texts import _


class Upload(models.Model):
    id = models.UUIDField(verbose_name=_("id"), primary_key=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    device_id = models.CharField(verbose_name=_("device id"), max_length=128)
    visit = models.ForeignKey(
        "fieldvisit.Visit",
        verbose_name=_("visit"),
        on_delete=models.PROTECT,
        related_name="uploads",
    )
    length = models.BigIntegerField(verbose_name=_("length"))
    offset = models.BigIntegerField(verbose_name=_("offset"), default=0)
    metadata = models.JSONField(verbose_name=_("metadata"), default=dict)
    status = models.CharField(
        verbose_name=_("status"),
        max_length=16,
        choices=UploadStatus.choices,
        default=UploadStatus.RECEIVING,
    )
    created_at = models.DateTimeField(verbose_name=_("created at"))
    expires_at = models.DateTimeField(verbose_name=_("expires at"))
    ended_at = models.DateTimeField(verbose_name=_("ended at"), null=True, blank=True)
    failure = models.JSONField(
        verbose_name=_("failure"),
        null=True,
        blank=True,
        help_text=_("The problem a failed upload got."),
    )
    # One PATCH at a time: a writer takes the lease with a conditional UPDATE.
    lease = models.CharField(verbose_name=_("lease"), max_length=32, blank=True)
    lease_until = models.DateTimeField(verbose_name=_("lease until"), null=True, blank=True)

    class Meta:
        verbose_name = _("upload")
        verbose_name_plural = _("uploads")
        indexes = [models.Index(fields=["status", "expires_at"])]
        constraints = [
            models.CheckConstraint(
                name="upload_offset_within_length",
                condition=Q(offset__gte=0) & Q(offset__lte=models.F("length")),
            ),
        ]

    def __str__(self) -> str:
        return gettext("Upload {id} ({offset}/{length})").format(
            id=self.id, offset=self.offset, length=self.length
        )
