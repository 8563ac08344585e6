"""Conduct incidents that name the caller, and the written account each agent gives."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from fieldvisit.actions import incidents as actions
from fieldvisit.api import examples
from fieldvisit.api.idempotency import answer, create_once, fingerprint
from fieldvisit.api.schema import problems
from fieldvisit.api.serializers.incidents import (
    AccountCreateSerializer,
    AccountSerializer,
    IncidentSerializer,
)
from fieldvisit.models import Incident, IncidentAccount, IncidentAgent


@extend_schema(
    examples=examples.INCIDENTS_LIST,
    responses={200: IncidentSerializer(many=True), **problems("not_found")},
    description="The conduct incidents that name the caller, newest first: each asks for "
    "the agent's written account by `account_due_at`, until a risk manager closes it. "
    "Everyone else's list is empty.",
)
class IncidentList(generics.ListAPIView):
    serializer_class = IncidentSerializer

    def get_queryset(self) -> QuerySet[Incident]:
        user = self.request.user
        return (
            Incident.objects.filter(named__agent=user)
            .select_related("case", "decision")
            .prefetch_related(
                Prefetch("named", IncidentAgent.objects.filter(agent=user), to_attr="mine"),
                Prefetch(
                    "accounts",
                    IncidentAccount.objects.filter(agent=user).select_related("agent"),
                    to_attr="my_accounts",
                ),
            )
            .order_by("-opened_at")
        )


class AccountCreate(GenericAPIView):
    serializer_class = AccountCreateSerializer

    @extend_schema(
        operation_id="incidents_account_create",
        examples=examples.INCIDENT_ACCOUNT_CREATE,
        request=AccountCreateSerializer,
        responses={
            201: AccountSerializer,
            200: AccountSerializer,
            **problems(
                "validation_error", "malformed_request", "not_found", "id_conflict",
                "incident_closed",
            ),
        },
        description="An agent the incident names gives their written account (others: 404). "
        "A later account adds to the earlier one; a closed incident takes none "
        "(`incident_closed`). The same `id` again with the same text answers 200.",
    )  # fmt: skip
    def post(self, request: Request, pk: Any) -> Response:
        serializer = AccountCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        digest = fingerprint(request.user.pk, {"incident": pk, **data})
        account, created = create_once(
            IncidentAccount,
            data["id"],
            digest,
            lambda: actions.submit_account(
                pk, request.user, data["text"], data["id"], request.auth.device_id, digest
            ),
        )
        account = IncidentAccount.objects.select_related("agent").get(pk=account.pk)
        return answer(AccountSerializer(account).data, created)
