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

from fieldvisit.choices import PhotoKind, ReceiptOutcome
from fieldvisit.db.append_only import AppendOnlyModel

SHA256_HEX = Q(sha256__regex=r"^[0-9a-f]{64}$")


class EvidenceFile(AppendOnlyModel):
    """The bytes of one file, kept once, byte for byte, whoever uploaded them and how often."""

    sha256 = models.CharField(max_length=64, primary_key=True)
    size = models.BigIntegerField()
    crc32 = models.BigIntegerField(help_text="CRC-32 of the bytes: bundles store files in ZIPs.")
    media_type = models.CharField(max_length=64)
    stored_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(name="evidencefile_sha256_hex", condition=SHA256_HEX),
            models.CheckConstraint(name="evidencefile_size_positive", condition=Q(size__gt=0)),
        ]

    def __str__(self) -> str:
        return f"{self.sha256[:12]}… ({self.media_type}, {self.size} bytes)"


class Captured(AppendOnlyModel):
    """What every record a phone sends carries: who, which device, both clocks, where."""

    id = models.UUIDField(primary_key=True, help_text="Client-generated UUID.")
    visit = models.ForeignKey("fieldvisit.Visit", on_delete=models.PROTECT, related_name="+")
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    device_id = models.CharField(max_length=128)
    captured_at = models.DateTimeField()
    received_at = models.DateTimeField()
    lat = models.FloatField(null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)
    flags = models.JSONField(default=list, blank=True)
    late_by_s = models.FloatField(
        null=True,
        blank=True,
        help_text="Flagged late_submission: seconds after the visit closed that it reached us.",
    )
    request_sha256 = models.CharField(max_length=64)

    class Meta:
        abstract = True


class Photo(Captured):
    """A photo taken at the door (rule 7), with what its own EXIF says about where and when."""

    visit = models.ForeignKey("fieldvisit.Visit", on_delete=models.PROTECT, related_name="photos")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="photos"
    )
    file = models.ForeignKey(EvidenceFile, on_delete=models.PROTECT, related_name="photos")
    kind = models.CharField(max_length=16, choices=PhotoKind.choices)
    partner_in_frame = models.BooleanField(default=False)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    exif_lat = models.FloatField(null=True, blank=True)
    exif_lon = models.FloatField(null=True, blank=True)
    exif_altitude = models.FloatField(null=True, blank=True)
    exif_taken_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="DateTimeOriginal, in the address's zone when the photo states no offset.",
    )
    exif_make = models.CharField(max_length=128, blank=True)
    exif_model = models.CharField(max_length=128, blank=True)
    distance_m = models.FloatField(
        null=True, blank=True, help_text="From the EXIF position to the stop's address."
    )

    class Meta:
        ordering = ["captured_at"]
        indexes = [models.Index(fields=["visit", "captured_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} photo {self.file_id[:12]}…"


class Receipt(Captured):
    """The outcome of delivering the stop's demand notice (rule 8), with its evidence files."""

    visit = models.ForeignKey("fieldvisit.Visit", on_delete=models.PROTECT, related_name="receipts")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="receipts"
    )
    notice_number = models.CharField(max_length=32)
    outcome = models.CharField(max_length=24, choices=ReceiptOutcome.choices)
    signer_name = models.CharField(max_length=200, blank=True)
    signer_relation = models.CharField(max_length=100, blank=True)
    signature = models.ForeignKey(
        EvidenceFile, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    photo = models.ForeignKey(
        EvidenceFile, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )

    class Meta:
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
        return f"Receipt {self.notice_number}: {self.get_outcome_display()}"


class Recording(AppendOnlyModel):
    """The visit's one continuous recording (rule 6), made of ordered, chained segments."""

    id = models.UUIDField(primary_key=True, help_text="Client-generated UUID.")
    visit = models.OneToOneField(
        "fieldvisit.Visit", on_delete=models.PROTECT, related_name="recording"
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Recording {self.id}"


class AudioSegment(AppendOnlyModel):
    """One uploaded piece of the recording; it names the SHA-256 of the piece before it."""

    id = models.UUIDField(primary_key=True, help_text="The tus upload that brought it.")
    recording = models.ForeignKey(Recording, on_delete=models.PROTECT, related_name="segments")
    index = models.PositiveIntegerField()
    file = models.ForeignKey(EvidenceFile, on_delete=models.PROTECT, related_name="segments")
    prev_sha256 = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField(help_text="Device time of the first sample.")
    duration_s = models.FloatField()
    format = models.CharField(max_length=16)
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    device_id = models.CharField(max_length=128)
    received_at = models.DateTimeField()
    late_by_s = models.FloatField(
        null=True,
        blank=True,
        help_text="Received late (late_submission): seconds after the visit closed.",
    )

    class Meta:
        ordering = ["recording", "index"]
        constraints = [
            models.UniqueConstraint(fields=["recording", "index"], name="segment_index_once"),
            models.CheckConstraint(name="segment_duration_positive", condition=Q(duration_s__gt=0)),
        ]

    def __str__(self) -> str:
        return f"Segment {self.index} of {self.recording_id}"
