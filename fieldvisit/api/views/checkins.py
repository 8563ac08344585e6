"""Check-ins, panic alerts and the visit as the phone sees it."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from fieldvisit import access
from fieldvisit.access_log import record_read
from fieldvisit.actions import alerts as alert_actions
from fieldvisit.actions import checkins as actions
from fieldvisit.actions import heartbeats
from fieldvisit.api import examples
from fieldvisit.api.errors import Problem
from fieldvisit.api.idempotency import answer, create_once, fingerprint
from fieldvisit.api.schema import problems
from fieldvisit.api.serializers.checkins import (
    AlertSerializer,
    CheckInCreateSerializer,
    CheckInResultSerializer,
    HeartbeatAnswerSerializer,
    HeartbeatSerializer,
    PanicSerializer,
    VisitSerializer,
    visit_answer,
)
from fieldvisit.api.serializers.evidence import RecordingSerializer
from fieldvisit.choices import Datum
from fieldvisit.datums import to_wgs84
from fieldvisit.models import Alert, CheckIn, Route, Stop, Visit
from fieldvisit.queries.recordings import visit_recording
from fieldvisit.queries.timing import agent_next_due_at
from fieldvisit.rules.checkins import remind_at
from fieldvisit.texts import _


def checkin_result(checkin: CheckIn, outcome: actions.Outcome | None = None) -> dict[str, Any]:
    """The answer to a check-in; for a repeated one, with the visit and due time as now."""
    if outcome is not None:
        visit, due = outcome.visit, outcome.next_due_at
    else:
        visit = Visit.objects.filter(pk=checkin.visit_id).first()
        due = agent_next_due_at(checkin.route_id, checkin.agent_id)
    values = {
        "id": checkin.id,
        "kind": checkin.kind,
        "received_at": checkin.received_at,
        "clock_skew_s": checkin.clock_skew_s,
        "flags": checkin.flags,
        "visit": visit,
        "next_due_at": due,
        "remind_at": remind_at(due),
    }
    # CheckInResultSerializer(values).data, the values being a dict already: each of the
    # serializer's shared fields writes its own, with no serializer made for the answer and no
    # attribute lookup (half the time: 0.028 ms against 0.05).
    return {
        name: None if values[name] is None else field.to_representation(values[name])
        for name, field in CheckInResultSerializer.shared_fields().items()
    }


EVENT_FIELDS = ("id", "route", "stop", "kind", "lat", "lon", "accuracy_m", "captured_at")


class CheckInCreate(GenericAPIView):
    serializer_class = CheckInCreateSerializer

    @extend_schema(
        operation_id="checkins_create",
        examples=examples.CHECKINS_CREATE,
        request=CheckInCreateSerializer,
        responses={
            201: CheckInResultSerializer,
            200: CheckInResultSerializer,
            **problems(
                "validation_error",
                "malformed_request",
                "not_found",
                "id_conflict",
                "route_not_approved",
                "not_team_member",
                "not_on_route",
                "outside_visit_hours",
                "too_far_from_address",
                "frequency_cap",
                "out_of_sequence",
            ),
        },
        description="Report a check-in. A rule break captured under 5 minutes ago is refused "
        "with its code; one queued offline is kept with the break as a flag. Sending the same "
        "`id` again with the same content returns the existing check-in (200).",
    )
    def post(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        # The route is read, checked visible and locked with everything else the check-in
        # needs, in one query (``record_checkin``); an arrival's stop is read here first.
        route = Route(pk=data["route"])
        stop = None
        if data.get("stop"):
            route = get_object_or_404(
                access.routes_visible_to(request.user).select_related("team"), pk=data["route"]
            )
            stop = (
                Stop.objects.select_related("case__creditor", "address", "visit")
                .filter(pk=data["stop"], route=route)
                .first()
            )
            if stop is None:
                raise Problem("not_on_route", _("The stop is not on this route."))
        # What the check-in says happened; not sent_at, which a retry sends afresh. The datum
        # only when one other than WGS-84 was given: a retry of an older check-in still
        # matches its record.
        event = {key: data.get(key) for key in EVENT_FIELDS}
        datum = data.get("datum") or Datum.WGS84
        if datum != Datum.WGS84:
            event["datum"] = datum
        digest = fingerprint(request.user.pk, event)
        lat, lon = to_wgs84(data["lat"], data["lon"], datum)
        source = None if datum == Datum.WGS84 else (datum, data["lat"], data["lon"])
        outcomes: list[actions.Outcome] = []

        def record() -> CheckIn:
            outcome = actions.record_checkin(
                actions.CheckInData(
                    id=data["id"],
                    route=route,
                    stop=stop,
                    kind=data["kind"],
                    lat=lat,
                    lon=lon,
                    accuracy_m=data["accuracy_m"],
                    captured_at=data["captured_at"],
                    sent_at=data.get("sent_at"),
                    source=source,
                ),
                request.user,
                request.auth.device_id,
                digest,
                visible=lambda found: access.route_visible_to(request.user, found),
            )
            outcomes.append(outcome)
            return outcome.checkin

        try:
            checkin, created = create_once(CheckIn, data["id"], digest, record, look_first=False)
        except Route.DoesNotExist:
            raise Http404 from None
        return answer(checkin_result(checkin, outcomes[0] if created else None), created)


class PanicCreate(GenericAPIView):
    serializer_class = PanicSerializer

    @extend_schema(
        operation_id="alerts_panic",
        examples=examples.ALERTS_PANIC,
        request=PanicSerializer,
        responses={
            201: AlertSerializer,
            200: AlertSerializer,
            **problems("validation_error", "malformed_request", "not_team_member", "id_conflict"),
        },
        description="An agent in danger. The first person on the team's on-call chain is told at "
        "once, through every channel; while nobody acknowledges, the next one every three "
        "minutes. With `discreet` the phone shows nothing.",
    )
    def post(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        digest = fingerprint(request.user.pk, data)
        alert, created = create_once(
            Alert,
            data["id"],
            digest,
            lambda: alert_actions.panic(
                alert_id=data["id"],
                agent=request.user,
                lat=data["lat"],
                lon=data["lon"],
                captured_at=data["captured_at"],
                note=data["note"],
                discreet=data["discreet"],
                device_id=request.auth.device_id,
                fingerprint=digest,
            ),
        )
        return answer(AlertSerializer(alert).data, created)


class HeartbeatCreate(GenericAPIView):
    serializer_class = HeartbeatSerializer

    @extend_schema(
        operation_id="heartbeat_create",
        examples=examples.HEARTBEAT,
        request=HeartbeatSerializer,
        responses={
            200: HeartbeatAnswerSerializer,
            **problems("validation_error", "malformed_request", "not_team_member"),
        },
        description="The phone's heartbeat, every minute while its agent is out: battery and "
        "signal. Once a phone sends them, it is watched until its agent returns: five "
        "minutes without a beat raises `phone_silent`, a battery under 15 % and not charging "
        "raises `low_battery` (both warnings to the team's on-call chain). Not evidence: only "
        "the latest state is kept.",
    )
    def post(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = heartbeats.record_heartbeat(
            request.user, heartbeats.Heartbeat(**serializer.validated_data)
        )
        return Response(HeartbeatAnswerSerializer(result).data)


class VisitDetail(GenericAPIView):
    serializer_class = VisitSerializer

    @extend_schema(
        operation_id="visits_retrieve",
        examples=examples.VISITS_RETRIEVE,
        description="A visit with its check-ins, photos, recording, receipts, current report "
        "and compliance verdict, for its team's agents and supervisors, and for legal (each "
        "read by legal or a supervisor is logged).",
        responses={200: VisitSerializer, **problems("not_found")},
    )
    def get(self, request: Request, pk: Any) -> Response:
        visit = get_object_or_404(
            access.visits_readable_by(request.user).select_related("stop__route"), pk=pk
        )
        record_read(request.user, "visit", f"visit:{visit.pk}")
        return Response(visit_answer(visit))


class RecordingView(GenericAPIView):
    serializer_class = RecordingSerializer

    @extend_schema(
        operation_id="visits_recording_retrieve",
        examples=examples.VISITS_RECORDING_RETRIEVE,
        responses={200: RecordingSerializer, **problems("not_found")},
        description="The visit's recording: its segments, gaps and verdict. `valid` needs it "
        "continuous (gaps of at most 2 s, no missing segment) and covering the visit (from "
        "before the first arrive to after the last leave). Without a recording, `id` is null "
        "and `valid` false.",
    )
    def get(self, request: Request, pk: Any) -> Response:
        visit = get_object_or_404(access.visits_readable_by(request.user), pk=pk)
        record_read(request.user, "recording", f"visit:{visit.pk}")
        return Response(RecordingSerializer(visit_recording(visit)).data)
