"""Reads about a route that the approval needs: who made it, and its team's agents."""

from __future__ import annotations

from fieldvisit.models import Route, Team
from fieldvisit.rules.routes import AgentFacts


def route_makers(route: Route) -> set[int]:
    """Who made the plan (``rules.check_maker_checker``): its creator and whoever changed or
    submitted it while it was a draft."""
    return {route.planned_by_id, *route.makers.values_list("pk", flat=True)}


def team_agent_facts(team: Team) -> list[AgentFacts]:
    """The team's agents with their papers, in three queries."""
    agents = team.agents.select_related("user", "agency").prefetch_related(
        "documents", "agency__agreements"
    )
    return [agent.facts(with_papers=True) for agent in agents]
