"""Changes to who may visit: an agent's team, badge, background check and activity.

Whether a visit was lawful depends on these (two qualified agents, background check on
file), so every change is a ledger entry, written in the same transaction as the change.
Who an agent works for decides what they read, so a profile is changed only by someone who
oversees both the team it is in and the team it goes to (``access.oversight_scope``), it
stays the same person's (the ledger follows it as ``user:<id>``), and it is only ever made
for a field agent (``access.field_agents``): never for staff, whose tokens and ledger entries
would then be the supervisor's.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from fieldvisit.access import field_agents, oversight_scope
from fieldvisit.actions.common import require_record_in_scope, require_team_in_scope
from fieldvisit.ledger import store as ledger
from fieldvisit.models import AgentProfile
from fieldvisit.rules import RuleViolation
from fieldvisit.texts import _


def check_agent_profile(profile: AgentProfile, by: Any, *, lock: bool = False) -> None:
    """Refuse (``RuleViolation``, naming the field) a profile ``by`` may not save.

    The action runs it in its transaction; admin forms run it while validating, so the
    refusal is a form error rather than a failed save.
    """
    scope = oversight_scope(by, "")
    if not profile._state.adding:
        stored = AgentProfile.objects.all()
        if lock:
            stored = stored.select_for_update()
        before = stored.get(pk=profile.pk)
        require_record_in_scope(scope, before.team_id, _("agent profile"))
        if before.user_id != profile.user_id:
            detail = _("A profile stays its agent's: deactivate it and create one for the other.")
            raise RuleViolation("permission_denied", detail, errors={"user": [detail]})
    elif AgentProfile.objects.filter(user_id=profile.user_id).exists():
        detail = _("This user already has an agent profile.")
        raise RuleViolation("validation_error", detail, errors={"user": [detail]})
    elif not User.objects.filter(field_agents(""), pk=profile.user_id).exists():
        # Whoever adds it: an agent's team decides who revokes their devices and reads
        # their ledger entries, which for legal, auditors or admins is nobody's in a team.
        detail = _(
            "Only a field agent (the agent role, no staff role or admin access) joins a team."
        )
        raise RuleViolation("validation_error", detail, errors={"user": [detail]})
    require_team_in_scope(scope, profile.team_id, "team", _("Choose a team you oversee."))


def save_agent_profile(profile: AgentProfile, by: Any) -> AgentProfile:
    created = profile._state.adding
    with transaction.atomic():
        check_agent_profile(profile, by, lock=True)
        profile.save()
        ledger.append(
            "agent.created" if created else "agent.updated",
            ledger.actor_for(by),
            f"user:{profile.user_id}",
            {
                "badge_number": profile.badge_number,
                "team": profile.team.name if profile.team else None,
                "background_check_on": profile.background_check_on,
                "background_check_reference": profile.background_check_reference,
                "agency": profile.agency.name if profile.agency else None,
                "active": profile.active,
            },
        )
    return profile
