"""A visit's compliance verdict: named checks, each ``{ok, detail}``, from what is known.

The checks read the visit's records and call the rules; checks whose evidence is still to
come (photos, recording, receipt, report) join as their features land.
"""

from __future__ import annotations

from typing import Any

from fieldvisit.choices import AlertKind, CheckInKind, RouteStatus, VisitStatus
from fieldvisit.models import Alert, CheckIn, Visit

Check = dict[str, Any]


def _check(ok: bool, detail: str) -> Check:
    return {"ok": ok, "detail": detail}


def _flag_check(checkins: list[CheckIn], flag: str, passed: str, failed: str) -> Check:
    arrivals = [c for c in checkins if c.kind in (CheckInKind.ARRIVE, CheckInKind.LEAVE)]
    if not arrivals:
        return _check(False, "No arrival recorded yet.")
    broken = [c for c in arrivals if flag in c.flags]
    if broken:
        return _check(False, f"{failed} ({len(broken)} check-in(s)).")
    return _check(True, passed)


def visit_compliance(visit: Visit, checkins: list[CheckIn]) -> dict[str, Any]:
    route = visit.stop.route
    checks: dict[str, Check] = {}
    approved = route.decided_by_id is not None and route.status in (
        RouteStatus.APPROVED,
        RouteStatus.IN_PROGRESS,
        RouteStatus.COMPLETED,
    )
    checks["route_approved"] = _check(
        approved,
        f"Approved on {route.decided_at:%Y-%m-%d %H:%M} by user {route.decided_by_id}."
        if approved
        else f"The route is {route.status}.",
    )
    checks["two_agents_together"] = (
        _check(True, f"Both agents arrived together; opened at {visit.opened_at:%H:%M:%S}.")
        if visit.opened_at
        else _check(False, "The visit never opened: two agents did not arrive together.")
    )
    checks["within_hours"] = _flag_check(
        checkins, "outside_visit_hours", "All visit check-ins within the allowed hours.",
        "Check-ins outside the allowed hours",
    )  # fmt: skip
    checks["geofence"] = _flag_check(
        checkins, "too_far_from_address", "Arrivals within the geofence.",
        "Arrivals too far from the address",
    )  # fmt: skip
    checks["frequency_cap"] = _flag_check(
        checkins,
        "frequency_cap",
        "Within the visit frequency caps.",
        "Visit frequency cap exceeded",
    )
    missed = Alert.objects.filter(route=route, kind=AlertKind.MISSED_CHECKIN).count()
    checks["checkins_on_time"] = (
        _check(False, f"{missed} missed check-in(s) on the route.")
        if missed
        else _check(True, "No missed check-in on the route.")
        if visit.status != VisitStatus.PLANNED
        else _check(False, "Not visited yet.")
    )
    return {"ok": all(c["ok"] for c in checks.values()), "checks": checks}
