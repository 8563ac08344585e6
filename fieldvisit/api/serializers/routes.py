from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from fieldvisit.api.fields import FiniteFloatField
from fieldvisit.choices import ChangeRequestKind, Hazard
from fieldvisit.models import Address, Case, Relation, Route, RouteChangeRequest, Stop
from fieldvisit.texts import _, format_lazy


class RelationBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Relation
        # ``id``: what a receipt names as its signer (``relation``).
        fields = ["id", "name", "kind", "do_not_contact"]


class PreviousVisitSerializer(serializers.Serializer):
    date = serializers.DateField(source="route.date")
    status = serializers.CharField(source="visit.status")
    outcome = serializers.CharField(
        allow_null=True, help_text="The outcome of the visit's last notice receipt, if any."
    )


class CaseBriefSerializer(serializers.ModelSerializer):
    """What an agent needs of a case at the door: no full ID number (privacy rule 12); its
    status and whether the debtor may be contacted (a case that is not open, or a debtor not
    to be contacted, is not visited); its relations, each marked when they may not be
    contacted; and how its earlier visits went."""

    creditor = serializers.CharField(source="creditor.name")
    relations = RelationBriefSerializer(many=True, read_only=True)
    previous_visits = serializers.SerializerMethodField()

    class Meta:
        model = Case
        fields = [
            "id",
            "number",
            "debtor_name",
            "debtor_id_masked",
            "amount_due",
            "creditor",
            "status",
            "status_reason",
            "do_not_contact",
            "relations",
            "previous_visits",
        ]

    @extend_schema_field(PreviousVisitSerializer(many=True))
    def get_previous_visits(self, case: Case) -> list[dict[str, Any]]:
        """The case's visits that ended, newest first, at most five (``visited_stops``)."""
        done = getattr(case, "visited_stops", [])
        stop = self.context.get("stop")
        earlier = [s for s in done if stop is None or s.pk != stop.pk][:5]
        return PreviousVisitSerializer(earlier, many=True).data


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
    case = serializers.SerializerMethodField()
    address = AddressSerializer()

    class Meta:
        model = Stop
        fields = ["id", "sequence", "visit_id", "case", "address", "notice_number", "status"]

    def get_visit_id(self, stop: Stop) -> str | None:
        visit = getattr(stop, "visit", None)
        return str(visit.id) if visit else None

    @extend_schema_field(CaseBriefSerializer)
    def get_case(self, stop: Stop) -> dict[str, Any]:
        """The case, its earlier visits without this stop's own."""
        return CaseBriefSerializer(stop.case, context={**self.context, "stop": stop}).data


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


class EscortSerializer(serializers.Serializer):
    """An escort to a bank counter (行为指引 4): the debtor met at ``stop`` wants to pay at a
    bank counter, and the agents accompany them there."""

    stop = serializers.UUIDField(help_text="The stop whose debtor is escorted (visit begun).")
    bank_name = serializers.CharField(max_length=200, help_text="The bank and its branch.")
    bank_address = serializers.CharField(max_length=280, help_text="The branch's address.")
    lat = FiniteFloatField(min_value=-90, max_value=90, help_text="The branch, WGS-84.")
    lon = FiniteFloatField(min_value=-180, max_value=180)


class ChangeRequestCreateSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    reason = serializers.CharField(max_length=2000)
    kind = serializers.ChoiceField(
        choices=ChangeRequestKind.choices,
        required=False,
        default=ChangeRequestKind.ROUTE,
        help_text="`route` (default): stops added, skipped or reordered. `bank_escort`: the "
        "debtor is escorted to a bank counter to pay there (`escort` required); once approved "
        "the bank counter is the route's next stop, arrived at like any other.",
    )
    escort = EscortSerializer(required=False, allow_null=True, default=None)
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
        if attrs["kind"] == ChangeRequestKind.BANK_ESCORT:
            if attrs["escort"] is None:
                raise serializers.ValidationError(
                    {"escort": [_("Name the stop, the bank branch and where it is.")]}
                )
            return attrs
        if attrs["escort"] is not None:
            raise serializers.ValidationError(
                {"kind": [_("An escort to a bank counter is of kind bank_escort.")]}
            )
        if not (attrs["add_stops"] or attrs["skip_stops"] or attrs["order"]):
            raise serializers.ValidationError(_("Ask for at least one change."))
        return attrs


class EscortAnswerSerializer(serializers.Serializer):
    stop = serializers.UUIDField(source="escort_stop_id")
    bank_name = serializers.CharField()
    bank_address = serializers.CharField()
    lat = serializers.FloatField(source="bank_lat")
    lon = serializers.FloatField(source="bank_lon")


class ChangeRequestSerializer(serializers.ModelSerializer):
    # Null while the request is pending.
    decided_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    comment = serializers.CharField(source="decision_comment")
    escort = serializers.SerializerMethodField()

    class Meta:
        model = RouteChangeRequest
        fields = [
            "id",
            "route",
            "status",
            "kind",
            "escort",
            "reason",
            "add_stops",
            "skip_stops",
            "order",
            "decided_by",
            "decided_at",
            "comment",
        ]

    @extend_schema_field(EscortAnswerSerializer(allow_null=True))
    def get_escort(self, change: RouteChangeRequest) -> dict[str, Any] | None:
        if change.kind != ChangeRequestKind.BANK_ESCORT:
            return None
        return EscortAnswerSerializer(change).data
