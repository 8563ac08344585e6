"""A phone's heartbeat: battery and signal every minute while its agent is out.

Not evidence (nothing is ledgered for a heartbeat itself): the agent's clock keeps the
latest state, and when the next heartbeat is due (``phone_silent_at``). A phone that starts
sending heartbeats is watched from then on: the watchdog raises ``phone_silent`` when they
stop, and a battery running low during the route raises ``low_battery`` at once (once per
route); both are warnings, ledgered and sent along the on-call chain like every alert.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from fieldvisit.access import team_of
from fieldvisit.actions import alerts
from fieldvisit.choices import AlertKind
from fieldvisit.queries.heartbeats import locked_route_under_way, save_clock
from fieldvisit.rules import RuleViolation
from fieldvisit.rules.alerting import HEARTBEAT_TIMEOUT, check_battery
from fieldvisit.texts import _, format_lazy
from fieldvisit.words import person_name

# The clock's fields a beat moves: only these are written (the watchdog writes others).
MOVED = ["heartbeat_at", "battery", "charging", "signal", "network", "phone_silent_at"]
MOVED += ["phone_alerted"]


@dataclass(frozen=True)
class Heartbeat:
    battery: int | None
    charging: bool | None
    signal: int | None
    network: str


@dataclass(frozen=True)
class Answer:
    """What the phone is told: whether it is watched, and by when the next beat is due."""

    watched: bool
    next_beat_by: dt.datetime | None
    warning: str


def record_heartbeat(agent: Any, beat: Heartbeat, now: dt.datetime | None = None) -> Answer:
    """Keep the phone's state on its agent's clock of the route under way (none: not out,
    not watched)."""
    now = now or timezone.now()
    if team_of(agent) is None:
        raise RuleViolation("not_team_member", _("Only field agents of a team send heartbeats."))
    with transaction.atomic(durable=True):
        found = locked_route_under_way(agent.pk)  # the route locked, with the agent's clock
        if found is None or found[1].returned_at is not None:
            return Answer(watched=False, next_beat_by=None, warning="")
        route, clock = found
        clock.heartbeat_at = now
        clock.battery, clock.charging, clock.signal, clock.network = (
            beat.battery,
            beat.charging,
            beat.signal,
            beat.network,
        )
        clock.phone_silent_at = now + HEARTBEAT_TIMEOUT
        clock.phone_alerted = False
        battery = check_battery(beat.battery, beat.charging)
        if not battery.ok and not clock.battery_alerted:
            clock.battery_alerted = True
            alerts.raise_alert(
                kind=AlertKind.LOW_BATTERY,
                team=route.team,
                detail=format_lazy("{}: {}", person_name(agent), battery.detail),
                actor=alerts.SYSTEM,
                route=route,
                agent=agent,
            )
        save_clock(clock, [*MOVED, "battery_alerted"])
    return Answer(
        watched=True,
        next_beat_by=clock.phone_silent_at,
        warning="" if battery.ok else battery.detail,
    )
