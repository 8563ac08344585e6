from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from fieldvisit.api.fields import AwareDateTimeField, FiniteFloatField, not_in_future
from fieldvisit.api.serializers.built_once import FieldsBuiltOnce
from fieldvisit.api.serializers.evidence import (
    PhotoSerializer,
    ReceiptSerializer,
    RecordingSerializer,
)
from fieldvisit.api.serializers.reports import ReportSerializer, ReviewStateSerializer
from fieldvisit.choices import AlertSeverity, CheckInKind, Datum
from fieldvisit.compliance import judge
from fieldvisit.models import Alert, CheckIn, Visit
from fieldvisit.queries.visits import VisitRecords, review_state, visit_records
from fieldvisit.rules.checkins import STOP_KINDS
from fieldvisit.texts import _


class PositionMixin(serializers.Serializer):
    lat = FiniteFloatField(
        min_value=-90,
        max_value=90,
        help_text="Latitude, decimal degrees, WGS-84 (what GPS gives); a check-in may say "
        "otherwise with `datum`.",
    )
    lon = FiniteFloatField(
        min_value=-180,
        max_value=180,
        help_text="Longitude, decimal degrees, WGS-84 (what GPS gives); a check-in may say "
        "otherwise with `datum`.",
    )


class CheckInCreateSerializer(FieldsBuiltOnce, PositionMixin):
    id = serializers.UUIDField()
    route = serializers.UUIDField()
    stop = serializers.UUIDField(required=False, allow_null=True)
    kind = serializers.ChoiceField(choices=CheckInKind.choices)
    accuracy_m = FiniteFloatField(min_value=0.01, max_value=100_000)
    captured_at = AwareDateTimeField(validators=[not_in_future])
    sent_at = AwareDateTimeField(
        required=False,
        allow_null=True,
        help_text="Device clock when sending (optional): lets the server measure clock skew "
        "even for check-ins queued offline.",
    )
    datum = serializers.ChoiceField(
        choices=Datum.choices,
        required=False,
        help_text="The datum of `lat`/`lon` (optional; default `wgs84`, what GPS gives). Phones "
        "whose position comes from a Chinese map SDK send `gcj02` (AMap/高德, Tencent) or "
        "`bd09` (Baidu): the server converts it to WGS-84 for every rule and keeps what was "
        "sent beside it.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["kind"] in STOP_KINDS and not attrs.get("stop"):
            raise serializers.ValidationError({"stop": [_("Arrive and leave name their stop.")]})
        return attrs


class VisitBriefSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    class Meta:
        model = Visit
        fields = ["id", "status"]


class SourcePositionSerializer(serializers.Serializer):
    """A position as the phone sent it, in the datum it named."""

    datum = serializers.ChoiceField(choices=Datum.choices)
    lat = serializers.FloatField()
    lon = serializers.FloatField()


class CheckInSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    agent = serializers.CharField(source="agent.username")
    source = serializers.SerializerMethodField(
        help_text="What the phone sent when it gave another datum than WGS-84 (`lat`/`lon` are "
        "its WGS-84 conversion); null otherwise."
    )

    @extend_schema_field(SourcePositionSerializer(allow_null=True))
    def get_source(self, checkin: CheckIn) -> dict[str, Any] | None:
        if not checkin.source_datum:
            return None
        return {"datum": checkin.source_datum, "lat": checkin.source_lat, "lon": checkin.source_lon}

    class Meta:
        model = CheckIn
        fields = [
            "id",
            "kind",
            "agent",
            "device_id",
            "route",
            "stop",
            "lat",
            "lon",
            "accuracy_m",
            "captured_at",
            "received_at",
            "clock_skew_s",
            "distance_m",
            "flags",
            "source",
        ]


class CheckInResultSerializer(FieldsBuiltOnce, serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.CharField()
    received_at = serializers.DateTimeField()
    clock_skew_s = serializers.FloatField(allow_null=True)
    flags = serializers.ListField(child=serializers.CharField())
    visit = VisitBriefSerializer(allow_null=True)
    next_due_at = serializers.DateTimeField(
        allow_null=True,
        help_text="When this agent's next report is due (each agent has their own clock); null "
        "when none is due (before depart, after return).",
    )
    remind_at = serializers.DateTimeField(
        allow_null=True,
        help_text="When the phone should remind its agent: shortly before `next_due_at`.",
    )


class PanicSerializer(PositionMixin):
    id = serializers.UUIDField()
    # No future check: a panic is never refused for a wrong phone clock (DESIGN rule 5).
    captured_at = AwareDateTimeField()
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    discreet = serializers.BooleanField(
        required=False, default=False, help_text="The phone shows nothing; supervisors are told."
    )


class HeartbeatSerializer(serializers.Serializer):
    battery = serializers.IntegerField(
        min_value=0,
        max_value=100,
        required=False,
        allow_null=True,
        default=None,
        help_text="Battery level in percent (the Battery Status API's level times 100).",
    )
    charging = serializers.BooleanField(required=False, allow_null=True, default=None)
    signal = serializers.IntegerField(
        min_value=0,
        max_value=4,
        required=False,
        allow_null=True,
        default=None,
        help_text="Signal strength in bars, 0 (none) to 4.",
    )
    network = serializers.CharField(
        max_length=16,
        required=False,
        allow_blank=True,
        default="",
        help_text="The connection type as the phone names it (wifi, 4g, 5g, ...).",
    )


class HeartbeatAnswerSerializer(FieldsBuiltOnce, serializers.Serializer):
    watched = serializers.BooleanField(
        help_text="True while the agent is out on a route under way: a missing beat warns "
        "the on-call chain."
    )
    next_beat_by = serializers.DateTimeField(
        allow_null=True, help_text="Send the next heartbeat before this time."
    )
    warning = serializers.CharField(
        help_text="What the server noticed (a low battery), in words; empty when nothing."
    )


class AlertSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    severity = serializers.ChoiceField(
        choices=AlertSeverity.choices,
        read_only=True,
        help_text="Higher is more severe: "
        + ", ".join(f"{s.value} {s.name.lower()}" for s in AlertSeverity)
        + "; `severity_name` says the same in words.",
    )
    severity_name = serializers.SerializerMethodField(help_text="The severity's name.")

    class Meta:
        model = Alert
        fields = ["id", "kind", "severity", "severity_name", "status", "raised_at", "discreet"]

    def get_severity_name(self, alert: Alert) -> str:
        return AlertSeverity(alert.severity).name.lower()


class VisitSerializer(serializers.ModelSerializer):
    checkins = serializers.SerializerMethodField()
    photos = serializers.SerializerMethodField()
    recording = serializers.SerializerMethodField()
    receipts = serializers.SerializerMethodField()
    report = serializers.SerializerMethodField()
    compliance = serializers.SerializerMethodField()
    review = serializers.SerializerMethodField()

    class Meta:
        model = Visit
        fields = [
            "id",
            "stop",
            "status",
            "opened_at",
            "closed_at",
            "checkins",
            "photos",
            "recording",
            "receipts",
            "report",
            "compliance",
            "review",
        ]

    @property
    def records(self) -> VisitRecords:
        """The visit's records (``queries.visits.visit_records``), given as ``records`` in
        the serializer's context by the view that read them."""
        return self.context["records"]

    @extend_schema_field(CheckInSerializer(many=True))
    def get_checkins(self, visit: Visit) -> list[dict[str, Any]]:
        return CheckInSerializer(self.records.checkins, many=True).data

    @extend_schema_field(PhotoSerializer(many=True))
    def get_photos(self, visit: Visit) -> list[dict[str, Any]]:
        return PhotoSerializer(self.records.photos, many=True).data

    @extend_schema_field(RecordingSerializer(allow_null=True))
    def get_recording(self, visit: Visit) -> dict[str, Any] | None:
        recording = self.records.recording
        return RecordingSerializer(recording).data if recording.id else None

    @extend_schema_field(ReceiptSerializer(many=True))
    def get_receipts(self, visit: Visit) -> list[dict[str, Any]]:
        return ReceiptSerializer(self.records.receipts, many=True).data

    @extend_schema_field(ReportSerializer(allow_null=True))
    def get_report(self, visit: Visit) -> dict[str, Any] | None:
        """The current report: the head of the visit's chain of reports and corrections."""
        report = self.records.report
        return ReportSerializer(report).data if report is not None else None

    def get_compliance(self, visit: Visit) -> dict[str, Any]:
        return judge(self.records).as_dict()

    @extend_schema_field(ReviewStateSerializer(allow_null=True))
    def get_review(self, visit: Visit) -> dict[str, Any] | None:
        """The latest review, with the verdict it was made on, and what came after it."""
        state = review_state(self.records)
        return ReviewStateSerializer(state).data if state is not None else None


def visit_answer(visit: Visit) -> dict[str, Any]:
    """A visit as the API answers it, from its records read once."""
    return VisitSerializer(visit, context={"records": visit_records(visit)}).data
