from __future__ import annotations

from django.contrib import admin

from fieldvisit.admin.base import TeamScopedAdmin
from fieldvisit.models import Address, Case, Creditor, Relation


@admin.register(Creditor)
class CreditorAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "visit_hours_start", "visit_hours_end", "geofence_radius_m"]
    search_fields = ["name", "code"]
    fieldsets = [
        (None, {"fields": ["name", "code"]}),
        (
            "Visit hours (address's local time)",
            {"fields": ["visit_hours_start", "visit_hours_end"]},
        ),
        (
            "Visit rules",
            {
                "fields": [
                    "geofence_radius_m",
                    "pair_arrival_window_min",
                    "pair_arrival_distance_m",
                    "team_split_distance_m",
                    "recording_max_gap_s",
                ]
            },
        ),
        (
            "Check-ins and escalation",
            {"fields": ["checkin_interval_min", "checkin_grace_min", "escalation_after_min"]},
        ),
        ("Frequency caps", {"fields": ["max_visits_per_day", "max_visits_per_7_days"]}),
    ]


class AddressInline(admin.TabularInline):
    model = Address
    extra = 0
    fields = ["kind", "text", "lat", "lon", "timezone"]


class RelationInline(admin.TabularInline):
    model = Relation
    extra = 0
    fields = ["name", "kind", "phone", "notes"]


@admin.register(Case)
class CaseAdmin(TeamScopedAdmin):
    list_display = [
        "number",
        "debtor_name",
        "amount_due",
        "creditor",
        "team",
        "status",
        "reachable",
    ]
    list_filter = ["status", "reachable", "creditor", "team"]
    list_select_related = ["creditor", "team"]
    search_fields = ["number", "debtor_name", "debtor_phone"]
    autocomplete_fields = ["creditor", "team"]
    inlines = [AddressInline, RelationInline]
    readonly_fields = ["created_at", "updated_at"]


@admin.register(Address)
class AddressAdmin(TeamScopedAdmin):
    team_field = "case__team"

    list_display = ["text", "kind", "case", "lat", "lon", "timezone"]
    list_filter = ["kind"]
    list_select_related = ["case"]
    search_fields = ["text", "case__number", "case__debtor_name"]
    autocomplete_fields = ["case"]


@admin.register(Relation)
class RelationAdmin(TeamScopedAdmin):
    team_field = "case__team"

    list_display = ["name", "kind", "case"]
    list_filter = ["kind"]
    list_select_related = ["case"]
    search_fields = ["name", "case__number"]
    autocomplete_fields = ["case"]
