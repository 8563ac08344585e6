"""Codes and numbers as people read them on admin pages: a check-in's flags in words, a
distance in m or km, a compliance check by its name (the codes stay what the API and the
ledger say; these are for eyes)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fieldvisit.texts import _, format_lazy

# The flags check-ins, photos and receipts carry (the field app says the same, in
# fieldvisit/static/fieldvisit/app/messages.js).
FLAG_WORDS = {
    "late_submission": _("sent late (captured offline)"),
    "low_accuracy": _("low GPS accuracy"),
    "team_split": _("agents far apart"),
    "clock_skew": _("phone clock off"),
    "outside_visit_hours": _("outside visit hours"),
    "too_far_from_address": _("far from the address"),
    "frequency_cap": _("debtor visited too often"),
    "address_not_geocoded": _("address has no map position"),
    "out_of_sequence": _("out of the approved order"),
    "case_not_open": _("case not open for visits"),
    "do_not_contact": _("debtor not to be contacted"),
    "no_gps": _("no GPS position in the photo"),
    "far_from_address": _("taken far from the address"),
    "taken_outside_visit": _("taken outside the visit"),
    "exif_time_mismatch": _("camera time differs"),
    "lone_agent": _("only one agent at the door"),
    "unlisted_third_party": _("signed by someone not listed as a relation"),
    "no_third_party_reason": _("no reason given for the third party"),
    "relation_do_not_contact": _("signed by a relation not to be contacted"),
}

CHECK_NAMES = {
    "route_approved": _("Route approved"),
    "two_agents_together": _("Two agents arrived together"),
    "within_hours": _("Within the allowed hours"),
    "geofence": _("At the address (geofence)"),
    "frequency_cap": _("Within the visit frequency caps"),
    "approved_order": _("In the approved order of the route"),
    "checkins_on_time": _("Check-ins on time"),
    "door_photo": _("Door photo with the partner in frame"),
    "recording": _("Continuous recording"),
    "notice_outcome": _("Notice delivered (or why not)"),
    "report_cosigned": _("Report filed and co-signed"),
}


def flags_text(flags: Iterable[str]) -> Any:
    """ "far from the address; sent late (captured offline)", or "—" for none; lazy, in the
    language it is read in."""
    words = [FLAG_WORDS.get(flag, flag.replace("_", " ")) for flag in flags]
    if not words:
        return "—"
    return format_lazy("; ".join(["{}"] * len(words)), *words)


def distance_text(metres: float | None) -> Any:
    """85 m, 940 m, 1.2 km, 57 km; "—" when unknown."""
    if metres is None:
        return "—"
    if metres < 1000:
        return format_lazy(_("{distance} m"), distance=f"{metres:.0f}")
    if metres < 10_000:
        return format_lazy(_("{distance} km"), distance=f"{metres / 1000:.1f}")
    return format_lazy(_("{distance} km"), distance=f"{metres / 1000:.0f}")


def check_name(code: str) -> Any:
    return CHECK_NAMES.get(code, code.replace("_", " ").capitalize())


def person_name(user: object) -> str:
    """A person as pages and alerts name them: "Wei Zhao (agent_a)", or the username alone."""
    full = user.get_full_name()  # type: ignore[attr-defined]
    username = user.get_username()  # type: ignore[attr-defined]
    return f"{full} ({username})" if full else username
