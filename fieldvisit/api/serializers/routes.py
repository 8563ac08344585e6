from __future__ import annotations

from typing import Any

from rest_framework import serializers

from fieldvisit.choices import Hazard
from fieldvisit.models import Address, Case, Route, RouteChangeRequest, Stop
from fieldvisit.texts import _, format_lazy


class CaseBriefSerializer(serializers.ModelSerializer):
    """What an agent needs of a case at the door: no full ID number (privacy rule 12)."""

    creditor = serializers.CharField(source="creditor.name")

    class Meta:
        model = Case
        fields = ["id", "number", "debtor_name", "debtor_id_masked", "amount_due", "creditor"]


class AddressSerializer(serializers.ModelSerializer):
    timezone = serializers.CharField(source="zone_name")
    hazards = serializers.ListField(
        child=serializers.ChoiceField(choices=Hazard.choices),
        help_text="What the team should know before knocking (empty: nothing known).",
    )

    class Meta:
        model = Address
        fields = ["kind", "text", "lat", "lon", "timezone", "hazards", "hazard_notes"]


class StopSerializer(serializers.ModelSerializer):
    visit_id = serializers.SerializerMethodField()
    case = CaseBriefSerializer()
    address = AddressSerializer()

    class Meta:
        model = Stop
        fields = ["id", "sequence", "visit_id", "case", "address", "notice_number", "status"]

    def get_visit_id(self, stop: Stop) -> str | None:
        visit = getattr(stop, "visit", None)
        return str(visit.id) if visit else None


class TeamBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class RouteSerializer(serializers.ModelSerializer):
    team = TeamBriefSerializer()
    stops = StopSerializer(many=True)

    class Meta:
        model = Route
        fields = ["id", "date", "status", "team", "stops"]


class AddStopSerializer(serializers.Serializer):
    case = serializers.UUIDField()
    address = serializers.UUIDField()


class ChangeRequestCreateSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    reason = serializers.CharField(max_length=2000)
    add_stops = AddStopSerializer(many=True, required=False, default=list, max_length=50)
    skip_stops = serializers.ListField(
        child=serializers.UUIDField(), required=False, default=list, max_length=100
    )
    order = serializers.ListField(
        child=serializers.UUIDField(), required=False, default=list, max_length=200
    )

    def validate_add_stops(self, value: list[dict[str, Any]]) -> list[Address]:
        """Resolve the addresses in one query; each must belong to the case named with it."""
        wanted = {item["address"] for item in value}
        if len(wanted) != len(value):
            # Two stops at one address would break the route's one-stop-per-address rule only
            # when the change is applied, long after the agent asked.
            raise serializers.ValidationError(_("Each address can be added only once."))
        found = Address.objects.select_related("case").in_bulk(wanted)
        addresses = []
        for item in value:
            address = found.get(item["address"])
            if address is None or address.case_id != item["case"]:
                raise serializers.ValidationError(
                    format_lazy(
                        _("Address {address} is not an address of case {case}."),
                        address=item["address"],
                        case=item["case"],
                    )
                )
            addresses.append(address)
        return addresses

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not (attrs["add_stops"] or attrs["skip_stops"] or attrs["order"]):
            raise serializers.ValidationError(_("Ask for at least one change."))
        return attrs


class ChangeRequestSerializer(serializers.ModelSerializer):
    # Null while the request is pending.
    decided_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    comment = serializers.CharField(source="decision_comment")

    class Meta:
        model = RouteChangeRequest
        fields = [
            "id",
            "route",
            "status",
            "reason",
            "add_stops",
            "skip_stops",
            "order",
            "decided_by",
            "decided_at",
            "comment",
        ]
