"""Routes of the caller's team, and change requests against them."""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db.models import OuterRef, Prefetch, QuerySet, Subquery
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response

from fieldvisit import access
from fieldvisit.actions import routes as actions
from fieldvisit.api import examples
from fieldvisit.api.errors import Problem
from fieldvisit.api.idempotency import answer, create_once, fingerprint
from fieldvisit.api.schema import problems
from fieldvisit.api.serializers.routes import (
    ChangeRequestCreateSerializer,
    ChangeRequestSerializer,
    RouteSerializer,
)
from fieldvisit.choices import VisitStatus
from fieldvisit.geo import local_today
from fieldvisit.models import Receipt, Route, RouteChangeRequest, Stop
from fieldvisit.texts import _

# A visit that ended: its outcome is something the next team should know at the door.
ENDED = [VisitStatus.CLOSED, VisitStatus.REPORTED, VisitStatus.REVIEWED]


def routes_with_stops(user) -> QuerySet[Route]:  # type: ignore[no-untyped-def]
    """Routes with their stops, each stop's case with its relations and the stops where it
    was visited before (each with its last receipt's outcome): four queries in all."""
    last_outcome = Receipt.objects.filter(visit=OuterRef("visit")).order_by("-captured_at")
    visited = (
        Stop.objects.filter(visit__status__in=ENDED)
        .select_related("route", "visit")
        .annotate(outcome=Subquery(last_outcome.values("outcome")[:1]))
        .order_by("-route__date", "-sequence")
    )
    stops = (
        Stop.objects.select_related("case__creditor", "address", "visit")
        .prefetch_related(
            "case__relations", Prefetch("case__stops", queryset=visited, to_attr="visited_stops")
        )
        .order_by("sequence")
    )
    return (
        access.routes_visible_to(user)
        .select_related("team")
        .prefetch_related(Prefetch("stops", queryset=stops))
        .order_by("date", "team__name")
    )


@extend_schema(
    parameters=[
        OpenApiParameter(
            "date",
            dt.date,
            description="The day (YYYY-MM-DD); today in the team's zone if absent",
            examples=examples.just("2026-11-24", "A day"),
        )
    ],
    examples=examples.ROUTES_LIST,
    # 404 not_found: a page beyond the last.
    responses={200: RouteSerializer(many=True), **problems("validation_error", "not_found")},
    description="The caller's team's routes for a day (today in the team's zone by default), "
    "each with its stops in visiting order: the case (debtor name, masked ID number, amount "
    "due), the address with its WGS-84 position and zone, the notice number and the visit.",
)
class RouteList(generics.ListAPIView):
    serializer_class = RouteSerializer

    def get_queryset(self) -> QuerySet[Route]:
        raw = self.request.query_params.get("date")
        if raw:
            try:
                day = dt.date.fromisoformat(raw)
            except ValueError:
                raise Problem(
                    "validation_error",
                    _("Some fields are invalid."),
                    errors={"date": [_("Use the form YYYY-MM-DD.")]},
                ) from None
        else:
            team = access.team_of(self.request.user)
            # Supervisors have no team of their own: their day is the service's (TIME_ZONE).
            day = local_today(team.timezone if team else settings.TIME_ZONE)
        return routes_with_stops(self.request.user).filter(date=day)


@extend_schema(
    examples=examples.ROUTES_RETRIEVE,
    responses={200: RouteSerializer, **problems("not_found")},
    description="One route of the caller's team, with its stops (as in the list); another "
    "team's route is not found.",
)
class RouteDetail(generics.RetrieveAPIView):
    serializer_class = RouteSerializer

    def get_queryset(self) -> QuerySet[Route]:
        return routes_with_stops(self.request.user)


class ChangeRequestCreate(generics.GenericAPIView):
    serializer_class = ChangeRequestCreateSerializer

    @extend_schema(
        operation_id="routes_change_requests_create",
        examples=examples.ROUTES_CHANGE_REQUESTS_CREATE,
        request=ChangeRequestCreateSerializer,
        responses={
            201: ChangeRequestSerializer,
            200: ChangeRequestSerializer,
            **problems(
                "validation_error",
                "malformed_request",
                "not_found",
                "not_team_member",
                "id_conflict",
                "route_not_approved",
                "invalid_change_request",
                "invalid_order",
            ),
        },
        description="Ask to add, skip or reorder stops of an approved route, or (`kind` "
        "`bank_escort`) to escort the debtor met at a stop to a bank counter to pay there. "
        "Until a supervisor approves it, nothing changes: an arrival out of the approved order "
        "is refused (`out_of_sequence`). Sending the same `id` again with the same content "
        "returns the existing request (200).",
    )
    def post(self, request: Request, pk: uuid.UUID) -> Response:
        route = get_object_or_404(access.routes_visible_to(request.user), pk=pk)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        # A plain change is fingerprinted as before escorts existed: a phone's retry across
        # an upgrade is still the same request.
        plain = data["escort"] is None
        fields = {k: v for k, v in data.items() if not (plain and k in ("kind", "escort"))}
        digest = fingerprint(request.user.pk, {**fields, "route": route.pk})
        change, created = create_once(
            RouteChangeRequest,
            data["id"],
            digest,
            lambda: actions.request_change(
                record_id=data["id"],
                route_id=route.pk,
                by=request.user,
                reason=data["reason"],
                add_stops=data["add_stops"],
                skip_stops=data["skip_stops"],
                order=data["order"],
                fingerprint=digest,
                device_id=request.auth.device_id,
                escort=actions.Escort(**data["escort"]) if data["escort"] else None,
            ),
        )
        return answer(ChangeRequestSerializer(change).data, created)


@extend_schema(
    examples=examples.CHANGE_REQUESTS_RETRIEVE,
    responses={200: ChangeRequestSerializer, **problems("not_found")},
    description="A change request of the caller's team: pending, approved or rejected, who "
    "decided it and their comment.",
)
class ChangeRequestDetail(generics.RetrieveAPIView):
    serializer_class = ChangeRequestSerializer

    def get_queryset(self) -> QuerySet[RouteChangeRequest]:
        return access.change_requests_visible_to(self.request.user).select_related("decided_by")
