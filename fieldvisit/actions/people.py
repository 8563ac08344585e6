"""Changes to who may visit: an agent's team, badge, background check and activity.

Whether a visit was lawful depends on these (two qualified agents, background check on
file), so every change is a ledger entry, written in the same transaction as the change.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from fieldvisit.ledger import store as ledger
from fieldvisit.models import AgentProfile


def save_agent_profile(profile: AgentProfile, by: Any) -> AgentProfile:
    created = profile._state.adding
    with transaction.atomic():
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
                "active": profile.active,
            },
        )
    return profile
