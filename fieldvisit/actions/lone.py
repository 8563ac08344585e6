"""Two people at the door, checked as it happens (DESIGN rule 2): a photo, a receipt or a
report recorded while the agent was alone raises a ``lone_agent`` alert at once, beside the
record's flag, so a supervisor can call the team while they are still there.

Alone means the visit was not open at that moment (only one agent had arrived, or one had
left) or the partner's latest reported position was more than ``LONE_DISTANCE_M`` from the
door (``rules.evidence.check_partner_at_door``). A partner's position is not judged stale by
its age alone: each agent reports on their own 30-minute clock, and their arrival at this
door stands until a later report puts them elsewhere or they leave.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fieldvisit.actions import alerts, incidents
from fieldvisit.choices import AlertKind
from fieldvisit.models import Visit
from fieldvisit.queries.evidence import partner_position
from fieldvisit.rules.checkins import distance_m
from fieldvisit.texts import _, format_lazy
from fieldvisit.words import person_name

WHAT = {
    "photo": _("a photo"),
    "receipt": _("the notice receipt"),
    "report": _("the visit report"),
}


def partner_distance_m(visit: Visit, agent: Any, moment: dt.datetime) -> float | None:
    """How far from the door the latest position (at ``moment``) of the visit's other arrived
    agents was: their latest check-in on the route. None: no partner arrived, or the address
    has no coordinates."""
    address = visit.stop.address
    if not address.geocoded:
        return None
    latest = partner_position(visit.pk, visit.stop.route_id, agent.pk, moment)
    return None if latest is None else distance_m(address.lat, address.lon, *latest)


def raise_lone_alert(
    visit: Visit,
    agent: Any,
    kind: str,
    actor: dict[str, Any],
    *,
    captured_at: dt.datetime | None,
    lat: float | None = None,
    lon: float | None = None,
) -> None:
    """The alert, inside the caller's transaction (the record and its ledger entry)."""
    alerts.raise_alert(
        kind=AlertKind.LONE_AGENT,
        team=visit.stop.route.team,
        detail=format_lazy(
            _("{agent} recorded {what} at {address} without their partner beside them."),
            agent=person_name(agent),
            what=WHAT[kind],
            address=visit.stop.address.text,
        ),
        actor=actor,
        route=visit.stop.route,
        visit=visit,
        raised_by=agent,
        agent=agent,
        captured_at=captured_at,
        lat=lat,
        lon=lon,
    )
    # 行为指引 2 broken: a conduct incident too (one per agent and visit while it is open).
    incidents.from_lone_action(visit, agent, WHAT[kind], actor)
