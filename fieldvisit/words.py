"""Codes and numbers as people read them on admin pages: a check-in's flags in words, a
distance in m or km, a compliance check by its name (the codes stay what the API and the
ledger say; these are for eyes)."""

from __future__ import annotations

from collections.abc import Iterable

# The flags check-ins, photos and receipts carry (the field app says the same, in
# fieldvisit/static/fieldvisit/app/messages.js).
FLAG_WORDS = {
    "late_submission": "sent late (captured offline)",
    "low_accuracy": "low GPS accuracy",
    "team_split": "agents far apart",
    "clock_skew": "phone clock off",
    "outside_visit_hours": "outside visit hours",
    "too_far_from_address": "far from the address",
    "frequency_cap": "debtor visited too often",
    "address_not_geocoded": "address has no map position",
    "out_of_sequence": "out of the approved order",
    "no_gps": "no GPS position in the photo",
    "far_from_address": "taken far from the address",
    "taken_outside_visit": "taken outside the visit",
    "exif_time_mismatch": "camera time differs",
    "lone_agent": "only one agent at the door",
}

CHECK_NAMES = {
    "route_approved": "Route approved",
    "two_agents_together": "Two agents arrived together",
    "within_hours": "Within the allowed hours",
    "geofence": "At the address (geofence)",
    "frequency_cap": "Within the visit frequency caps",
    "checkins_on_time": "Check-ins on time",
    "door_photo": "Door photo with the partner in frame",
    "recording": "Continuous recording",
    "notice_outcome": "Notice delivered (or why not)",
    "report_cosigned": "Report filed and co-signed",
}


def flags_text(flags: Iterable[str]) -> str:
    """ "far from the address; sent late (captured offline)", or "—" for none."""
    return "; ".join(FLAG_WORDS.get(flag, flag.replace("_", " ")) for flag in flags) or "—"


def distance_text(metres: float | None) -> str:
    """85 m, 940 m, 1.2 km, 57 km; "—" when unknown."""
    if metres is None:
        return "—"
    if metres < 1000:
        return f"{metres:.0f} m"
    if metres < 10_000:
        return f"{metres / 1000:.1f} km"
    return f"{metres / 1000:.0f} km"


def check_name(code: str) -> str:
    return CHECK_NAMES.get(code, code.replace("_", " ").capitalize())


def person_name(user: object) -> str:
    """A person as pages and alerts name them: "Wei Zhao (agent_a)", or the username alone."""
    full = user.get_full_name()  # type: ignore[attr-defined]
    username = user.get_username()  # type: ignore[attr-defined]
    return f"{full} ({username})" if full else username
