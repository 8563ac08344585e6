"""Who may see what: roles come from groups, and agents see only their own team's records.

Every API query for records starts from one of these functions, so a record of another
team is simply absent (404), never filtered out afterwards.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
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


# The roles that oversee teams: each sees the teams they are named on (supervisor, team
# lead, risk manager), and acts there as their permissions allow.
OVERSEER_ROLES = (Role.SUPERVISOR, Role.TEAM_LEAD, Role.RISK_MANAGER)


def _overseen_by(user: Any, team_field: str) -> Q:
    """Records of the teams ``user`` supervises, leads or manages the risk of ("" for the
    team)."""
    prefix = f"{team_field}__" if team_field else ""
    return (
        Q(**{f"{prefix}supervisor": user})
        | Q(**{f"{prefix}risk_manager": user})
        | Q(**{f"{prefix}lead": user})
    )


def _team_filter(user: Any, prefix: str) -> Q:
    """Teams whose records ``user`` may read: their own as an agent, the ones they oversee
    (supervise, lead or manage the risk of)."""
    condition = Q(pk__in=[])
    team = team_of(user)
    if team is not None:
        condition |= Q(**{f"{prefix}": team})
    if has_role(user, *OVERSEER_ROLES):
        condition |= _overseen_by(user, prefix)
    return condition


def route_visible_to(user: Any, route: Route) -> bool:
    """``routes_visible_to`` for one route already read (its team loaded), in Python."""
    team = team_of(user)
    if team is not None and route.team_id == team.pk:
        return True
    return has_role(user, *OVERSEER_ROLES) and user.pk in (
        route.team.supervisor_id,
        route.team.risk_manager_id,
        route.team.lead_id,
    )


def routes_visible_to(user: Any) -> QuerySet[Route]:
    return Route.objects.filter(_team_filter(user, "team"))


def change_requests_visible_to(user: Any) -> QuerySet[RouteChangeRequest]:
    return RouteChangeRequest.objects.filter(_team_filter(user, "route__team"))


def visits_visible_to(user: Any) -> QuerySet[Visit]:
    return Visit.objects.filter(_team_filter(user, "stop__route__team"))


def visits_readable_by(user: Any) -> QuerySet[Visit]:
    """The visits ``user`` may read (not act on): their team's, and for legal every visit of
    the cases they may take to court (they download its bundle already; each read is logged
    as an evidence read)."""
    if has_role(user, Role.LEGAL):
        return Visit.objects.all()
    return visits_visible_to(user)


def staff_scope(user: Any, team_field: str) -> Q:
    """What a staff user sees in admin, for records bound to a team through ``team_field``
    ("" for the team itself).

    Superusers, auditors, legal and planners (who plan for every team) see all; a supervisor
    sees the teams they supervise or manage the risk of, and nothing of the others.
    """
    if user.is_superuser or has_role(user, Role.AUDITOR, Role.LEGAL, Role.PLANNER):
        return Q()
    return _overseen_by(user, team_field)


def evidence_scope(user: Any, team_field: str) -> Q:
    """What a staff user sees of evidence and of what happened in the field (photos,
    receipts, recordings, their files, visits, their reports and reviews, alerts, check-ins,
    agents' devices, the ledger, the live board), for records bound to a team through
    ``team_field``.

    Superusers, auditors and legal see all; a supervisor sees the teams they supervise or
    manage the risk of. Unlike ``staff_scope``, planning routes for every team shows no team's
    evidence: a planner who also supervises sees their own teams' evidence only.
    """
    if user.is_superuser or has_role(user, Role.AUDITOR, Role.LEGAL):
        return Q()
    return _overseen_by(user, team_field)


def oversight_scope(user: Any, team_field: str) -> Q:
    """What a staff user acts on as a supervisor (agents and their teams, route and change
    decisions, alerts, device tokens), for records bound to a team through ``team_field``.

    Superusers act on every team; everyone else on the teams they supervise or manage the
    risk of, whatever else they may read (a planner who also supervises reads every team's
    cases and routes but moves agents and decides routes of their own teams only).
    """
    if user.is_superuser:
        return Q()
    return _overseen_by(user, team_field)


# The roles that work in admin: none of their holders is a team's field agent.
STAFF_ROLES = (
    Role.PLANNER,
    Role.SUPERVISOR,
    Role.LEGAL,
    Role.AUDITOR,
    Role.TEAM_LEAD,
    Role.RISK_MANAGER,
)


def field_agents(user_field: str) -> Q:
    """Records whose user (through ``user_field``, "" for the user itself) may be a team's
    field agent: holds the agent role and no staff role, and is neither a superuser nor
    staff (admin access). A supervisor enrols only these, and acts on (revokes the tokens,
    reads the ledger entries of) only these: enrolling legal, an auditor or a superuser into
    one's team would put their devices and their ledger in the supervisor's hands."""
    users = User.objects.filter(
        groups__name=Role.AGENT, is_superuser=False, is_staff=False
    ).exclude(groups__name__in=STAFF_ROLES)
    return Q(**{f"{user_field}__in" if user_field else "pk__in": users.values("pk")})


def team_in_scope(scope: Q, team_id: int | None) -> bool:
    """Is the team (None: no team) within ``scope``, a ``staff_scope`` or
    ``oversight_scope`` of teams (``team_field`` "")?

    "No team" belongs to the unrestricted only: unassigned cases are the planners', an agent
    of no team nobody's but the superuser's.
    """
    if not scope:
        return True
    return team_id is not None and Team.objects.filter(scope, pk=team_id).exists()


# How each team-bound model reaches its team ("" for the team itself): the scopes above take
# these as ``team_field``, and admin forms restrict their choices with them.
TEAM_PATHS: dict[str, str] = {
    "team": "",
    "agentprofile": "team",
    "qualificationdocument": "agent__team",
    "case": "team",
    "address": "case__team",
    "relation": "case__team",
    "route": "team",
    "stop": "route__team",
    "routechangerequest": "route__team",
    "alert": "team",
    "visit": "stop__route__team",
}


def oncall_teams(user: Any) -> QuerySet[Team]:
    """The teams whose on-call chain ``user`` is on."""
    return Team.objects.filter(oncall__user=user)


def alert_scope(user: Any, team_field: str) -> Q:
    """The alerts ``user`` sees: those of the teams whose evidence they read, and those of
    the teams whose on-call chain they are on (a duty manager told of a panic opens it)."""
    scope = evidence_scope(user, team_field)
    if not scope:
        return scope  # every team's already
    field = f"{team_field}__in" if team_field else "pk__in"
    return scope | Q(**{field: oncall_teams(user)})


def contact_owners(user: Any) -> QuerySet[User]:
    """Whose contacts ``user`` keeps: their own, the people on their teams' on-call chains,
    and their teams' agents (the numbers the alert page offers to call); everyone's for a
    superuser. A contact added to anyone else's account would receive their teams' alerts."""
    if user.is_superuser:
        return User.objects.all()
    chains = Team.objects.filter(oversight_scope(user, "")).values("oncall__user")
    return User.objects.filter(
        Q(pk=user.pk) | Q(pk__in=chains) | oversight_scope(user, "agent_profile__team")
    )
