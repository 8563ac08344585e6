"""Small helpers the actions share."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.utils import timezone

from fieldvisit.models import Team
from fieldvisit.rules import RuleViolation
from fieldvisit.rules.routes import AgentFacts


def local_today(zone_name: str, now: dt.datetime | None = None) -> dt.date:
    return timezone.localdate(now or timezone.now(), zoneinfo.ZoneInfo(zone_name))


def team_agent_facts(team: Team) -> list[AgentFacts]:
    return [agent.facts() for agent in team.agents.select_related("user")]


def require_perm(user, perm: str, what: str) -> None:  # type: ignore[no-untyped-def]
    if not user.has_perm(perm):
        raise RuleViolation("permission_denied", f"You are not allowed to {what}.", 403)
