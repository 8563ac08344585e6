"""Evidence files and the records that cite them: photos, notice receipts, audio segments.

Files are content-addressed: one ``EvidenceFile`` row per distinct SHA-256, written once and
never changed; the bytes live in the evidence storage under a key derived from the hash.
Every table here is append-only (models refuse UPDATE and DELETE, and so do the database's
triggers); a correction is a new record.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext

from fieldvisit.choices import PhotoKind, ReceiptOutcome
from fieldvisit.db.append_only import AppendOnlyModel
from fieldvisit.texts import _

SHA256_HEX = Q(sha256__regex=r"^[0-9a-f]{64}$")


class EvidenceFile(AppendOnlyModel):
    """The bytes of one file, kept once, byte for byte, whoever uploaded them and how often."""

    sha256 = models.CharField(verbose_name=_("sha256"), max_length=64, primary_key=True)
    size = models.BigIntegerField(verbose_name=_("size"))
    crc32 = models.BigIntegerField(
        verbose_name=_("crc32"), help_text=_("CRC-32 of the bytes: bundles store files in ZIPs.")
    )
    media_type = models.CharField(verbose_name=_("media type"), max_length=64)
    stored_at = models.DateTimeField(verbose_name=_("stored at"))

    class Meta:
        verbose_name = _("evidence file")
        verbose_name_plural = _("evidence files")
        constraints = [
            models.CheckConstraint(name="evidencefile_sha256_hex", condition=SHA256_HEX),
            models.CheckConstraint(name="evidencefile_size_positive", condition=Q(size__gt=0)),
        ]

    def __str__(self) -> str:
        return gettext("{sha256}… ({media_type}, {size} bytes)").format(
            sha256=self.sha256[:12], media_type=self.media_type, size=self.size
        )


class Captured(AppendOnlyModel):
    """What every record a phone sends carries: who, which device, both clocks, where."""

    id = models.UUIDField(
        verbose_name=_("id"), primary_key=True, help_text=_("Client-generated UUID.")
    )
    visit = models.ForeignKey(
        "fieldvisit.Visit", verbose_name=_("visit"), on_delete=models.PROTECT, related_name="+"
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    device_id = models.CharField(verbose_name=_("device id"), max_length=128)
    captured_at = models.DateTimeField(verbose_name=_("captured at"))
    received_at = models.DateTimeField(verbose_name=_("received at"))
    lat = models.FloatField(verbose_name=_("lat"), null=True, blank=True)
    lon = models.FloatField(verbose_name=_("lon"), null=True, blank=True)
    flags = models.JSONField(verbose_name=_("flags"), default=list, blank=True)
    late_by_s = models.FloatField(
        verbose_name=_("late by s"),
        null=True,
        blank=True,
        help_text=_("Flagged late_submission: seconds after the visit closed that it reached us."),
    )
    request_sha256 = models.CharField(verbose_name=_("request sha256"), max_length=64)

    class Meta:
        abstract = True


class Photo(Captured):
    """A photo taken at the door (rule 7), with what its own EXIF says about where and when."""

    visit = models.ForeignKey(
        "fieldvisit.Visit", verbose_name=_("visit"), on_delete=models.PROTECT, related_name="photos"
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        on_delete=models.PROTECT,
        related_name="photos",
    )
    file = models.ForeignKey(
        EvidenceFile, verbose_name=_("file"), on_delete=models.PROTECT, related_name="photos"
    )
    kind = models.CharField(verbose_name=_("kind"), max_length=16, choices=PhotoKind.choices)
    partner_in_frame = models.BooleanField(verbose_name=_("partner in frame"), default=False)
    width = models.PositiveIntegerField(verbose_name=_("width"))
    height = models.PositiveIntegerField(verbose_name=_("height"))
    exif_lat = models.FloatField(verbose_name=_("exif lat"), null=True, blank=True)
    exif_lon = models.FloatField(verbose_name=_("exif lon"), null=True, blank=True)
    exif_altitude = models.FloatField(verbose_name=_("exif altitude"), null=True, blank=True)
    exif_taken_at = models.DateTimeField(
        verbose_name=_("exif taken at"),
        null=True,
        blank=True,
        help_text=_("DateTimeOriginal, in the address's zone when the photo states no offset."),
    )
    exif_make = models.CharField(verbose_name=_("exif make"), max_length=128, blank=True)
    exif_model = models.CharField(verbose_name=_("exif model"), max_length=128, blank=True)
    distance_m = models.FloatField(
        verbose_name=_("distance m"),
        null=True,
        blank=True,
        help_text=_("From the EXIF position to the stop's address."),
    )

    class Meta:
        verbose_name = _("photo")
        verbose_name_plural = _("photos")
        ordering = ["captured_at"]
        indexes = [models.Index(fields=["visit", "captured_at"])]

    def __str__(self) -> str:
        return gettext("{kind} photo {file_id}…").format(
            kind=self.get_kind_display(), file_id=self.file_id[:12]
        )


class PhotoAcceptance(AppendOnlyModel):
    """A supervisor's acceptance of a door photo the rules could not place at the door (no
    GPS in it, or GPS outside the geofence), with the reason: the visit's ``door_photo`` check
    then counts it. Once per photo, never changed (``actions.acceptances``)."""

    photo = models.OneToOneField(
        Photo, verbose_name=_("photo"), on_delete=models.PROTECT, related_name="acceptance"
    )
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("accepted by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    reason = models.CharField(verbose_name=_("reason"), max_length=500)
    accepted_at = models.DateTimeField(verbose_name=_("accepted at"))

    class Meta:
        verbose_name = _("photo acceptance")
        verbose_name_plural = _("photo acceptances")

    def __str__(self) -> str:
        return gettext("Photo {photo} accepted").format(photo=str(self.photo_id)[:8])


class Receipt(Captured):
    """The outcome of delivering the stop's demand notice (rule 8), with its evidence files."""

    visit = models.ForeignKey(
        "fieldvisit.Visit",
        verbose_name=_("visit"),
        on_delete=models.PROTECT,
        related_name="receipts",
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        on_delete=models.PROTECT,
        related_name="receipts",
    )
    notice_number = models.CharField(verbose_name=_("notice number"), max_length=32)
    outcome = models.CharField(
        verbose_name=_("outcome"), max_length=24, choices=ReceiptOutcome.choices
    )
    signer_name = models.CharField(verbose_name=_("signer name"), max_length=200, blank=True)
    signer_relation = models.CharField(
        verbose_name=_("signer relation"), max_length=100, blank=True
    )
    # Who signed for the debtor: one of the case's relations (关系人), or nobody listed (an
    # unlisted third party, allowed only with a reason, flagged and alerted).
    relation = models.ForeignKey(
        "fieldvisit.Relation",
        verbose_name=_("relation who signed"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    third_party_reason = models.TextField(
        verbose_name=_("why an unlisted third party signed"), blank=True
    )
    signature = models.ForeignKey(
        EvidenceFile,
        verbose_name=_("signature"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    photo = models.ForeignKey(
        EvidenceFile,
        verbose_name=_("photo"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )

    class Meta:
        verbose_name = _("receipt")
        verbose_name_plural = _("receipts")
        ordering = ["captured_at"]
        constraints = [
            models.CheckConstraint(
                name="receipt_signed_has_signature",
                condition=~Q(outcome__startswith="signed_by_")
                | (Q(signature__isnull=False) & ~Q(signer_name="")),
            ),
            models.CheckConstraint(
                name="receipt_relation_named",
                condition=~Q(outcome="signed_by_relation") | ~Q(signer_relation=""),
            ),
            models.CheckConstraint(
                name="receipt_mailbox_photographed",
                condition=~Q(outcome="left_in_mailbox") | Q(photo__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return gettext("Receipt {notice_number}: {outcome}").format(
            notice_number=self.notice_number, outcome=self.get_outcome_display()
        )


class Recording(AppendOnlyModel):
    """The visit's one continuous recording (rule 6), made of ordered, chained segments."""

    id = models.UUIDField(
        verbose_name=_("id"), primary_key=True, help_text=_("Client-generated UUID.")
    )
    visit = models.OneToOneField(
        "fieldvisit.Visit",
        verbose_name=_("visit"),
        on_delete=models.PROTECT,
        related_name="recording",
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(verbose_name=_("created at"))

    def __str__(self) -> str:
        return gettext("Recording {id}").format(id=self.id)

    class Meta:
        verbose_name = _("recording")
        verbose_name_plural = _("recordings")


class AudioSegment(AppendOnlyModel):
    """One uploaded piece of the recording; it names the SHA-256 of the piece before it."""

    id = models.UUIDField(
        verbose_name=_("id"), primary_key=True, help_text=_("The tus upload that brought it.")
    )
    recording = models.ForeignKey(
        Recording, verbose_name=_("recording"), on_delete=models.PROTECT, related_name="segments"
    )
    index = models.PositiveIntegerField(verbose_name=_("index"))
    file = models.ForeignKey(
        EvidenceFile, verbose_name=_("file"), on_delete=models.PROTECT, related_name="segments"
    )
    prev_sha256 = models.CharField(verbose_name=_("prev sha256"), max_length=64, blank=True)
    started_at = models.DateTimeField(
        verbose_name=_("started at"), help_text=_("Device time of the first sample.")
    )
    duration_s = models.FloatField(verbose_name=_("duration s"))
    format = models.CharField(verbose_name=_("format"), max_length=16)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    device_id = models.CharField(verbose_name=_("device id"), max_length=128)
    received_at = models.DateTimeField(verbose_name=_("received at"))
    late_by_s = models.FloatField(
        verbose_name=_("late by s"),
        null=True,
        blank=True,
        help_text=_("Received late (late_submission): seconds after the visit closed."),
    )

    class Meta:
        verbose_name = _("audio segment")
        verbose_name_plural = _("audio segments")
        ordering = ["recording", "index"]
        constraints = [
            models.UniqueConstraint(fields=["recording", "index"], name="segment_index_once"),
            models.CheckConstraint(name="segment_duration_positive", condition=Q(duration_s__gt=0)),
        ]

    def __str__(self) -> str:
        return gettext("Segment {index} of {recording_id}").format(
            index=self.index, recording_id=self.recording_id
        )
