"""Recording reads of evidence by legal users and supervisors (DESIGN rule 12)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from fieldvisit.access import has_role
from fieldvisit.choices import Role

LOGGED_ROLES = (Role.LEGAL, Role.SUPERVISOR)


def record_read(user: Any, action: str, subject: str, via: str = "api") -> None:
    """Log the read when the reader is legal or a supervisor (agents read their own team's
    visits all day; those reads are the work itself, not oversight)."""
    from fieldvisit.models import EvidenceAccess

    if user.is_superuser or has_role(user, *LOGGED_ROLES):
        EvidenceAccess.objects.create(
            user=user, action=action, subject=subject, at=timezone.now(), via=via
        )
