"""Creditors, the cases they assign, and the people and places a visit may concern."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_noop

from fieldvisit.choices import AddressKind, CaseStatus, Datum, Hazard, RelationKind
from fieldvisit.cn_ids import NumberRefused, normal_id_number, normal_mobile
from fieldvisit.datums import to_wgs84
from fieldvisit.db.append_only import AppendOnlyModel
from fieldvisit.geo import zone_at
from fieldvisit.models.validators import validate_timezone
from fieldvisit.privacy import mask_id_number
from fieldvisit.texts import _, format_lazy

# The legal window for contact (seeds: 22:00-08:00 forbidden; company rule 09:00-21:00).
# A creditor may narrow it, never widen it, so the database holds these as hard bounds.
EARLIEST_VISIT = dt.time(8, 0)
LATEST_VISIT = dt.time(21, 0)


class Creditor(models.Model):
    """A client (委托方) who assigns cases, with the rule settings its contract sets.

    Every rule the system enforces reads its thresholds from here, so a creditor's narrower
    contract terms apply to its cases without code changes.
    """

    id = models.UUIDField(
        verbose_name=_("id"), primary_key=True, default=uuid.uuid4, editable=False
    )
    name = models.CharField(verbose_name=_("name"), max_length=200, unique=True)
    code = models.SlugField(verbose_name=_("code"), max_length=50, unique=True)
    visit_hours_start = models.TimeField(
        verbose_name=_("visit hours start"), default=EARLIEST_VISIT
    )
    visit_hours_end = models.TimeField(verbose_name=_("visit hours end"), default=LATEST_VISIT)
    geofence_radius_m = models.PositiveIntegerField(
        verbose_name=_("geofence radius m"),
        default=150,
        validators=[MinValueValidator(10), MaxValueValidator(5000)],
    )
    checkin_interval_min = models.PositiveIntegerField(
        verbose_name=_("checkin interval min"),
        default=30,
        validators=[MinValueValidator(5), MaxValueValidator(240)],
    )
    checkin_grace_min = models.PositiveIntegerField(
        verbose_name=_("checkin grace min"),
        default=10,
        validators=[MinValueValidator(0), MaxValueValidator(120)],
    )
    escalation_after_min = models.PositiveIntegerField(
        verbose_name=_("escalation after min"),
        default=15,
        validators=[MinValueValidator(1), MaxValueValidator(240)],
    )
    max_visits_per_day = models.PositiveIntegerField(
        verbose_name=_("max visits per day"),
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
    )
    day_close_after_min = models.PositiveIntegerField(
        verbose_name=_("day closes after (min)"),
        default=120,
        validators=[MinValueValidator(15), MaxValueValidator(720)],
        help_text=_(
            "How long after the day's last leave every visit must have its report filed and "
            "co-signed and its recording uploaded, and the team must have returned (never "
            "later than 23:00 local time)."
        ),
    )
    max_reduction_pct = models.DecimalField(
        verbose_name=_("largest reduction authorised (%)"),
        max_digits=5,
        decimal_places=2,
        default=0,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text=_(
            "How far below the amount due a settlement may go, with the creditor's written "
            "authorisation for the case: 0 allows no reduction."
        ),
    )
    max_visits_per_7_days = models.PositiveIntegerField(
        verbose_name=_("max visits per 7 days"),
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(30)],
    )
    pair_arrival_window_min = models.PositiveIntegerField(
        verbose_name=_("pair arrival window min"),
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
    )
    pair_arrival_distance_m = models.PositiveIntegerField(
        verbose_name=_("pair arrival distance m"),
        default=100,
        validators=[MinValueValidator(10), MaxValueValidator(1000)],
    )
    team_split_distance_m = models.PositiveIntegerField(
        verbose_name=_("team split distance m"),
        default=200,
        validators=[MinValueValidator(10), MaxValueValidator(2000)],
    )
    recording_max_gap_s = models.PositiveIntegerField(
        verbose_name=_("recording max gap s"), default=2, validators=[MaxValueValidator(60)]
    )
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("creditor")
        verbose_name_plural = _("creditors")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                name="creditor_visit_hours_within_legal_window",
                condition=Q(visit_hours_start__gte=EARLIEST_VISIT)
                & Q(visit_hours_end__lte=LATEST_VISIT)
                & Q(visit_hours_start__lt=F("visit_hours_end")),
            ),
            models.CheckConstraint(
                name="creditor_positive_thresholds",
                condition=Q(geofence_radius_m__gt=0)
                & Q(checkin_interval_min__gt=0)
                & Q(escalation_after_min__gt=0)
                & Q(pair_arrival_window_min__gt=0)
                & Q(pair_arrival_distance_m__gt=0)
                & Q(team_split_distance_m__gt=0),
            ),
            models.CheckConstraint(
                name="creditor_frequency_caps_consistent",
                condition=Q(max_visits_per_day__gt=0)
                & Q(max_visits_per_7_days__gte=F("max_visits_per_day")),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = {}
        if self.visit_hours_start and self.visit_hours_start < EARLIEST_VISIT:
            errors["visit_hours_start"] = format_lazy(
                _("Visits may not start before {time:%H:%M}."), time=EARLIEST_VISIT
            )
        if self.visit_hours_end and self.visit_hours_end > LATEST_VISIT:
            errors["visit_hours_end"] = format_lazy(
                _("Visits may not end after {time:%H:%M}."), time=LATEST_VISIT
            )
        if (
            self.visit_hours_start
            and self.visit_hours_end
            and self.visit_hours_start >= self.visit_hours_end
        ):
            errors["visit_hours_end"] = _("The visit window must end after it starts.")
        if self.max_visits_per_7_days < self.max_visits_per_day:
            errors["max_visits_per_7_days"] = _("The weekly cap cannot be below the daily cap.")
        if errors:
            raise ValidationError(errors)


class Case(models.Model):
    """One debtor's overdue account (个案) assigned for field work.

    The case is what a court file is about: visits, notices and receipts all point here.
    """

    id = models.UUIDField(
        verbose_name=_("id"), primary_key=True, default=uuid.uuid4, editable=False
    )
    number = models.CharField(verbose_name=_("number"), max_length=64, unique=True)
    creditor = models.ForeignKey(
        Creditor, verbose_name=_("creditor"), on_delete=models.PROTECT, related_name="cases"
    )
    team = models.ForeignKey(
        "fieldvisit.Team",
        verbose_name=_("team"),
        on_delete=models.PROTECT,
        related_name="cases",
        null=True,
        blank=True,
        help_text=_("The field team the case is assigned to; its agents may see it."),
    )
    debtor_name = models.CharField(verbose_name=_("debtor name"), max_length=200)
    debtor_id_number = models.CharField(
        verbose_name=_("debtor id number"),
        max_length=32,
        blank=True,
        help_text=_("Full ID number; agents only ever see it masked."),
    )
    debtor_phone = models.CharField(verbose_name=_("debtor phone"), max_length=40, blank=True)
    amount_due = models.DecimalField(verbose_name=_("amount due"), max_digits=14, decimal_places=2)
    currency = models.CharField(verbose_name=_("currency"), max_length=3, default="CNY")
    overdue_since = models.DateField(verbose_name=_("overdue since"), null=True, blank=True)
    reachable = models.BooleanField(
        verbose_name=_("reachable"),
        default=True,
        help_text=_("Can the debtor or a relation be contacted (能够联系的账户)?"),
    )
    status = models.CharField(
        verbose_name=_("status"), max_length=16, choices=CaseStatus.choices, default=CaseStatus.OPEN
    )
    status_reason = models.CharField(
        verbose_name=_("reason for the status"),
        max_length=500,
        blank=True,
        help_text=_("Why the case is in its status: required whenever the status changes."),
    )
    do_not_contact = models.BooleanField(
        verbose_name=_("do not contact the debtor"),
        default=False,
        help_text=_(
            "The debtor may not be visited or contacted (a complaint, a lawyer's "
            "letter, a court order): every visit is refused."
        ),
    )
    notes = models.TextField(verbose_name=_("notes"), blank=True)
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(verbose_name=_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["number"]
        permissions = [("import_case", gettext_noop("Can import cases from CSV or XLSX files"))]
        constraints = [
            models.CheckConstraint(
                name="case_amount_due_not_negative", condition=Q(amount_due__gte=0)
            ),
        ]
        indexes = [models.Index(fields=["team", "status"])]

    def __str__(self) -> str:
        return f"{self.number} {self.debtor_name}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # One debtor, one spelling: the visit cap counts per ID number ("...331x" is "...331X").
        self.debtor_id_number = (self.debtor_id_number or "").strip().upper()
        super().save(*args, **kwargs)

    def clean(self) -> None:
        """On entry and import: the identity number checked (GB 11643-1999; the old 15-digit
        form converted to 18) and the phone number a mainland mobile, each in one form."""
        errors = {}
        for field, normal in (
            ("debtor_id_number", normal_id_number),
            ("debtor_phone", normal_mobile),
        ):
            value = getattr(self, field)
            if not value:
                continue
            try:
                setattr(self, field, normal(value))
            except NumberRefused as problem:  # its code is stable: id_number_check, ...
                errors[field] = ValidationError(str(problem), code=problem.code)
        if errors:
            raise ValidationError(errors)

    @property
    def debtor_id_masked(self) -> str:
        return mask_id_number(self.debtor_id_number)


class Address(models.Model):
    """A place where a debtor or relation may be found, geocoded for the geofence rule."""

    id = models.UUIDField(
        verbose_name=_("id"), primary_key=True, default=uuid.uuid4, editable=False
    )
    case = models.ForeignKey(
        Case, verbose_name=_("case"), on_delete=models.PROTECT, related_name="addresses"
    )
    kind = models.CharField(verbose_name=_("kind"), max_length=32, choices=AddressKind.choices)
    text = models.CharField(verbose_name=_("text"), max_length=500)
    lat = models.FloatField(
        verbose_name=_("lat"),
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )
    lon = models.FloatField(
        verbose_name=_("lon"),
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )
    # The position as it was given, when given in a Chinese map datum: lat/lon above are its
    # WGS-84 conversion (fieldvisit.datums), which the geofence and the maps use.
    source_datum = models.CharField(
        verbose_name=_("source datum"),
        max_length=8,
        choices=Datum.choices,
        default=Datum.WGS84,
        help_text=_("The datum the position was given in; lat/lon are always WGS-84."),
    )
    source_lat = models.FloatField(
        verbose_name=_("source lat"), null=True, blank=True, editable=False
    )
    source_lon = models.FloatField(
        verbose_name=_("source lon"), null=True, blank=True, editable=False
    )
    timezone = models.CharField(
        verbose_name=_("timezone"),
        max_length=64,
        blank=True,
        validators=[validate_timezone],
        help_text=_("IANA zone (e.g. Asia/Shanghai); visit hours are judged in it."),
    )
    hazards = models.JSONField(
        verbose_name=_("hazards"),
        default=list,
        blank=True,
        help_text=_(
            "What the team should know before knocking: shown on the stop in the field "
            "app and flagged to whoever approves a route visiting it."
        ),
    )
    hazard_notes = models.TextField(
        verbose_name=_("hazard notes"), blank=True, help_text=_("The hazards in words.")
    )

    class Meta:
        verbose_name = _("address")
        ordering = ["case", "kind"]
        verbose_name_plural = _("addresses")
        constraints = [
            models.CheckConstraint(
                name="address_lat_in_range",
                condition=Q(lat__isnull=True) | (Q(lat__gte=-90) & Q(lat__lte=90)),
            ),
            models.CheckConstraint(
                name="address_lon_in_range",
                condition=Q(lon__isnull=True) | (Q(lon__gte=-180) & Q(lon__lte=180)),
            ),
            models.CheckConstraint(
                name="address_geocoded_fully_or_not_at_all",
                condition=Q(lat__isnull=True, lon__isnull=True)
                | Q(lat__isnull=False, lon__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.text}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.moved_after_approval():
            raise ValidationError(_("An approved route visits this address: it cannot move."))
        super().save(*args, **kwargs)

    def place(self, lat: float | None, lon: float | None, datum: str = Datum.WGS84) -> None:
        """Set the position given in ``datum``: lat/lon in WGS-84, the original kept."""
        self.source_datum = datum
        if lat is None or lon is None:
            self.lat = self.lon = self.source_lat = self.source_lon = None
            return
        self.lat, self.lon = to_wgs84(lat, lon, datum)
        self.source_lat, self.source_lon = (None, None) if datum == Datum.WGS84 else (lat, lon)

    @property
    def geocoded(self) -> bool:
        return self.lat is not None and self.lon is not None

    @property
    def zone_name(self) -> str:
        """The zone visit hours are judged in: the planner's, else the coordinates'."""
        if self.timezone:
            return self.timezone
        return zone_at(self.lat, self.lon)

    # What the geofence and visit hours are judged against; approval froze it.
    LOCATION_FIELDS = ("text", "lat", "lon", "timezone")

    def moved_after_approval(self) -> bool:
        """Would saving change the location that an approved route's stop relies on?

        Maker-checker: once a supervisor approved a stop here, moving the address would
        move the geofence (or the zone, and so the hours) under the approval.
        """
        if self._state.adding or not self.pk:
            return False
        stored = Address.objects.filter(pk=self.pk).values(*self.LOCATION_FIELDS).first()
        if stored is None or all(stored[f] == getattr(self, f) for f in self.LOCATION_FIELDS):
            return False
        return self.stops.exclude(route__status="draft").exists()

    def clean(self) -> None:
        if not isinstance(self.hazards, list) or set(self.hazards) - set(Hazard.values):
            raise ValidationError(
                {"hazards": format_lazy(_("Unknown hazards: {hazards}."), hazards=self.hazards)}
            )
        if (self.lat is None) != (self.lon is None):
            raise ValidationError(_("Give both latitude and longitude, or neither."))
        if self.moved_after_approval():
            raise ValidationError(
                _(
                    "An approved route visits this address: its location can no longer change. "
                    "Add a new address to the case instead."
                )
            )


class Relation(models.Model):
    """A third person linked to the debtor (关系人) who may receive and co-sign a notice."""

    id = models.UUIDField(
        verbose_name=_("id"), primary_key=True, default=uuid.uuid4, editable=False
    )
    case = models.ForeignKey(
        Case, verbose_name=_("case"), on_delete=models.PROTECT, related_name="relations"
    )
    name = models.CharField(verbose_name=_("name"), max_length=200)
    kind = models.CharField(verbose_name=_("kind"), max_length=32, choices=RelationKind.choices)
    phone = models.CharField(verbose_name=_("phone"), max_length=40, blank=True)
    notes = models.TextField(verbose_name=_("notes"), blank=True)
    do_not_contact = models.BooleanField(
        verbose_name=_("do not contact"),
        default=False,
        help_text=_("This person may not be contacted about the debt."),
    )

    class Meta:
        verbose_name = _("relation")
        verbose_name_plural = _("relations")
        ordering = ["case", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    def clean(self) -> None:
        if self.phone:
            try:
                self.phone = normal_mobile(self.phone)
            except NumberRefused as problem:
                raise ValidationError(
                    {"phone": ValidationError(str(problem), code=problem.code)}
                ) from None


class CaseStatusChange(AppendOnlyModel):
    """One change of a case's status or do-not-contact flag, with its reason: the case's
    history, never edited (``actions.cases.change_case_status`` writes it with its ledger
    entry)."""

    case = models.ForeignKey(
        Case, verbose_name=_("case"), on_delete=models.PROTECT, related_name="status_changes"
    )
    status = models.CharField(verbose_name=_("status"), max_length=16, choices=CaseStatus.choices)
    previous_status = models.CharField(
        verbose_name=_("previous status"), max_length=16, choices=CaseStatus.choices
    )
    do_not_contact = models.BooleanField(verbose_name=_("do not contact the debtor"))
    reason = models.CharField(verbose_name=_("reason"), max_length=500)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        help_text=_("Empty: the system, holding the case for a conduct incident."),
    )
    changed_at = models.DateTimeField(verbose_name=_("changed at"))

    class Meta:
        verbose_name = _("case status change")
        verbose_name_plural = _("case status changes")
        ordering = ["case", "changed_at", "id"]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.previous_status} -> {self.status}"
