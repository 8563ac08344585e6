"""A visit's compliance verdict: named checks, each ``{ok, detail}``, from what is known.

The checks read the visit's records and call the rules; checks whose evidence is still to
come (photos, recording, receipt, report) join as their features land.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from fieldvisit.choices import AlertKind, CheckInKind, RouteStatus
from fieldvisit.geo import local_text
from fieldvisit.models import Alert, CheckIn, Visit

Check = dict[str, Any]


def _check(ok: bool, detail: str) -> Check:
    return {"ok": ok, "detail": detail}


def _flag_check(checkins: list[CheckIn], flags: set[str], passed: str, failed: str) -> Check:
    arrivals = [c for c in checkins if c.kind in (CheckInKind.ARRIVE, CheckInKind.LEAVE)]
    if not arrivals:
        return _check(False, "No arrival recorded yet.")
    broken = [c for c in arrivals if flags & set(c.flags)]
    if broken:
        return _check(False, f"{failed} ({len(broken)} check-in(s)).")
    return _check(True, passed)


def _checkins_on_time(visit: Visit, checkins: list[CheckIn]) -> Check:
    """Missed check-ins that fell due while this visit was under way: a missed report at
    17:00 says nothing about a visit that ended at 10:00."""
    arrivals = [c.captured_at for c in checkins if c.kind == CheckInKind.ARRIVE]
    if not arrivals:
        return _check(False, "Not visited yet.")
    end = visit.closed_at or timezone.now()  # a visit under way: up to now
    missed = Alert.objects.filter(
        route_id=visit.stop.route_id,
        kind=AlertKind.MISSED_CHECKIN,
        due_at__gte=min(arrivals),
        due_at__lte=end,
    ).count()
    if missed:
        return _check(False, f"{missed} check-in(s) missed during the visit.")
    return _check(True, "No check-in missed during the visit.")


def visit_compliance(visit: Visit, checkins: list[CheckIn]) -> dict[str, Any]:
    route = visit.stop.route
    checks: dict[str, Check] = {}
    approved = route.decided_by_id is not None and route.status in (
        RouteStatus.APPROVED,
        RouteStatus.IN_PROGRESS,
        RouteStatus.COMPLETED,
    )
    zone = visit.stop.address.zone_name
    checks["route_approved"] = _check(
        approved,
        f"Approved {local_text(route.decided_at, zone)} by user {route.decided_by_id}."
        if approved
        else f"The route is {route.status}.",
    )
    checks["two_agents_together"] = (
        _check(True, f"Both agents arrived together; opened {local_text(visit.opened_at, zone)}.")
        if visit.opened_at
        else _check(False, "The visit never opened: two agents did not arrive together.")
    )
    checks["within_hours"] = _flag_check(
        checkins, {"outside_visit_hours"}, "All visit check-ins within the allowed hours.",
        "Check-ins outside the allowed hours",
    )  # fmt: skip
    checks["geofence"] = _flag_check(
        checkins, {"too_far_from_address", "address_not_geocoded"},
        "Arrivals within the geofence.", "Arrivals too far from the address, or not judged",
    )  # fmt: skip
    checks["frequency_cap"] = _flag_check(
        checkins,
        {"frequency_cap"},
        "Within the visit frequency caps.",
        "Visit frequency cap exceeded",
    )
    checks["checkins_on_time"] = _checkins_on_time(visit, checkins)
    return {"ok": all(c["ok"] for c in checks.values()), "checks": checks}
