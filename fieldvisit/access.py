"""Who may see what: roles come from groups, and agents see only their own team's records.

Every API query for records starts from one of these functions, so a record of another
team is simply absent (404), never filtered out afterwards.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from fieldvisit.choices import Role
from fieldvisit.models import AgentProfile, Route, RouteChangeRequest, Team, Visit


def roles_of(user: Any) -> list[str]:
    """The user's roles, read once per request and kept on the user object."""
    if not getattr(user, "is_authenticated", False):
        return []
    cached = getattr(user, "_fieldvisit_roles", None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))
        cached = sorted(names & set(Role.values))
        user._fieldvisit_roles = cached
    return cached


def has_role(user: Any, *roles: str) -> bool:
    return bool(set(roles_of(user)) & set(roles))


def agent_profile(user: Any) -> AgentProfile | None:
    try:
        return user.agent_profile
    except AgentProfile.DoesNotExist:
        return None


def team_of(user: Any) -> Team | None:
    """The team an agent works in (None for everyone else)."""
    profile = agent_profile(user)
    if profile is None or not profile.active or not has_role(user, Role.AGENT):
        return None
    return profile.team


def _overseen_by(user: Any, team_field: str) -> Q:
    """Records of the teams ``user`` supervises or manages the risk of ("" for the team)."""
    prefix = f"{team_field}__" if team_field else ""
    return Q(**{f"{prefix}supervisor": user}) | Q(**{f"{prefix}risk_manager": user})


def _team_filter(user: Any, prefix: str) -> Q:
    """Teams whose records ``user`` may read: their own as an agent, the ones they supervise."""
    condition = Q(pk__in=[])
    team = team_of(user)
    if team is not None:
        condition |= Q(**{f"{prefix}": team})
    if has_role(user, Role.SUPERVISOR):
        condition |= _overseen_by(user, prefix)
    return condition


def routes_visible_to(user: Any) -> QuerySet[Route]:
    return Route.objects.filter(_team_filter(user, "team"))


def change_requests_visible_to(user: Any) -> QuerySet[RouteChangeRequest]:
    return RouteChangeRequest.objects.filter(_team_filter(user, "route__team"))


def visits_visible_to(user: Any) -> QuerySet[Visit]:
    return Visit.objects.filter(_team_filter(user, "stop__route__team"))


def staff_scope(user: Any, team_field: str) -> Q:
    """What a staff user sees in admin, for records bound to a team through ``team_field``
    ("" for the team itself).

    Superusers, auditors, legal and planners (who plan for every team) see all; a supervisor
    sees the teams they supervise or manage the risk of, and nothing of the others.
    """
    if user.is_superuser or has_role(user, Role.AUDITOR, Role.LEGAL, Role.PLANNER):
        return Q()
    return _overseen_by(user, team_field)
