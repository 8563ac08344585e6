"""Recording reads of evidence by legal users, supervisors and auditors (DESIGN rule 12)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from fieldvisit.access import has_role
from fieldvisit.choices import Role
from fieldvisit.models import EvidenceAccess

# Every person who reads evidence to oversee, judge or audit it: a court asks who read what.
LOGGED_ROLES = (Role.LEGAL, Role.SUPERVISOR, Role.AUDITOR, Role.TEAM_LEAD, Role.RISK_MANAGER)


def record_read(user: Any, action: str, subject: str, via: str = "api") -> None:
    """Log the read when the reader is legal, a supervisor or an auditor (agents read their
    own team's visits all day; those reads are the work itself, not oversight)."""
    if user.is_superuser or has_role(user, *LOGGED_ROLES):
        EvidenceAccess.objects.create(
            user=user, action=action, subject=subject, at=timezone.now(), via=via
        )
