"""Small helpers the actions share."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from fieldvisit.access import agent_profile, has_role, team_in_scope
from fieldvisit.choices import Role
from fieldvisit.models import Visit
from fieldvisit.rules import RuleViolation
from fieldvisit.rules.checkins import check_team_member
from fieldvisit.texts import _, format_lazy


class Recorded(Exception):
    """A record with this client id exists already: found under the writer's own lock, so
    the caller answers with it (``api.idempotency.create_once``) instead of looking first."""

    def __init__(self, record_id: Any) -> None:
        super().__init__(record_id)
        self.record_id = record_id


def require_perm(user, perm: str, what: str) -> None:  # type: ignore[no-untyped-def]
    if not user.has_perm(perm):
        raise RuleViolation(
            "permission_denied", format_lazy(_("You are not allowed to {what}."), what=what)
        )


def require_team_agent(agent: Any, team_id: int) -> None:
    """Only a qualified field agent of the team records its visits, evidence and requests
    (``not_team_member``): the one check every agent's action makes."""
    profile = agent_profile(agent)
    check_team_member(
        profile.team_id if profile else None,
        team_id,
        bool(profile and profile.qualified and has_role(agent, Role.AGENT)),
    ).raise_if_failed()


def require_team_in_scope(scope: Q, team_id: int | None, field: str, detail: str) -> None:
    """A team the user sets (a foreign key) must be within their scope: 403, naming the
    field, so an admin form shows it on that field."""
    if not team_in_scope(scope, team_id):
        raise RuleViolation("permission_denied", detail, errors={field: [detail]})


def require_record_in_scope(scope: Q, team_id: int | None, what: str) -> None:
    """A record the user acts on must be of a team within their scope; another team's is
    absent (404), as in the API."""
    if not team_in_scope(scope, team_id):
        raise RuleViolation("not_found", format_lazy(_("No such {what}."), what=what))


def lock_visit(visit_id: object) -> Visit:
    """The visit, locked FOR NO KEY UPDATE before the ledger's lock, as every writer of a
    visit's records takes it (NO KEY: writers referring to the visit check that foreign key at
    COMMIT while holding the ledger's lock; see ``checkins.record_checkin``). Only the visit row
    is locked: the rows joined to it are read."""
    return (
        Visit.objects.select_for_update(no_key=True, of=("self",))
        .select_related("stop__route__team", "stop__address")
        .get(pk=visit_id)
    )
