"""Conduct incidents as the agents they name see them, and their written accounts."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from fieldvisit.api.serializers.built_once import FieldsBuiltOnce
from fieldvisit.choices import AlertSeverity, IncidentSource
from fieldvisit.models import Incident, IncidentAccount


class AccountCreateSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    text = serializers.CharField(
        max_length=20_000, help_text="The agent's written account (情况说明), in their words."
    )


class AccountSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    agent = serializers.CharField(source="agent.username", read_only=True)

    class Meta:
        model = IncidentAccount
        fields = ["id", "incident", "agent", "text", "submitted_at"]
        read_only_fields = fields


class IncidentSerializer(serializers.ModelSerializer):
    source = serializers.ChoiceField(choices=IncidentSource.choices, read_only=True)
    severity = serializers.ChoiceField(choices=AlertSeverity.choices, read_only=True)
    rules = serializers.ListField(child=serializers.CharField(), read_only=True)
    case = serializers.CharField(source="case.number", read_only=True)
    status = serializers.SerializerMethodField(help_text="`open` until a risk manager decides.")
    account_due_at = serializers.SerializerMethodField()
    my_accounts = serializers.SerializerMethodField()

    class Meta:
        model = Incident
        fields = [
            "id",
            "source",
            "rules",
            "severity",
            "summary",
            "case",
            "visit",
            "opened_at",
            "status",
            "account_due_at",
            "my_accounts",
        ]
        read_only_fields = fields

    def get_status(self, incident: Incident) -> str:
        return "closed" if incident.decision_or_none() is not None else "open"

    @extend_schema_field(serializers.DateTimeField())
    def get_account_due_at(self, incident: Incident) -> Any:
        named = incident.mine  # type: ignore[attr-defined]
        return serializers.DateTimeField().to_representation(named[0].account_due_at)

    @extend_schema_field(AccountSerializer(many=True))
    def get_my_accounts(self, incident: Incident) -> list[dict[str, Any]]:
        return AccountSerializer(incident.my_accounts, many=True).data  # type: ignore[attr-defined]
