"""Which ledger entries a person may read.

Legal users, auditors and superusers read the whole ledger: it is the record they check. A
supervisor reads the entries about the teams they supervise or manage the risk of, found
from each entry's ``subject``:

- ``route:<id>``: the route's team (submitted, approved, rejected; change requests and
  decisions; check-ins made away from a stop);
- ``visit:<id>``: the team of the visit's route (check-ins at it, opened, closed, photos,
  receipts, audio segments, reports, co-signatures, reviews);
- ``alert:<id>``: the alert's team (raised, escalated, acknowledged, resolved);
- ``user:<id>``: a field agent's team as it is now (agent created or changed, device tokens
  issued and revoked; never staff's, profile or not: ``access.field_agents``), and the
  supervisor's own entries.

Entries about no team are the whole ledger's readers' alone: other staff's device tokens
and legal's bundle downloads (``bundle:<kind>:<id>``: who took which evidence out, which like
the evidence access log is not a supervisor's to watch). Checkpoints, proofs of consistency
and keys carry no entry and stay open to every ledger reader.

The scope is one condition in SQL (a subquery per kind of subject), so a page of entries
costs the same queries whatever the number of teams, routes and visits.
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import CharField, Q, QuerySet, Value
from django.db.models.functions import Cast, Concat, Substr

from fieldvisit.access import evidence_scope, field_agents, has_role
from fieldvisit.choices import Role
from fieldvisit.models import AgentProfile, Alert, LedgerEntry, Route, Team, Visit

# The 8-4-4-4-12 groups of a UUID's 32 hex digits.
UUID_GROUPS = ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))


def _uuid_text(field: str) -> Any:
    """A UUID column as subjects spell it (``str(uuid)``): PostgreSQL's text form already is;
    SQLite keeps the 32 hex digits alone, so the hyphens go back in."""
    if connection.features.has_native_uuid_field:
        return Cast(field, CharField())
    parts: list[Any] = []
    for start, length in UUID_GROUPS:
        parts += [Value("-")] if parts else []
        parts.append(Substr(field, start, length))
    return Concat(*parts, output_field=CharField())


def _subjects(prefix: str, queryset: QuerySet[Any], key: Any) -> QuerySet[Any]:
    """The subjects ``<prefix>:<key>`` of the rows of ``queryset``, as a subquery."""
    subject = Concat(Value(f"{prefix}:"), key, output_field=CharField())
    return queryset.order_by().annotate(ledger_subject=subject).values("ledger_subject")


def reads_whole_ledger(user: Any) -> bool:
    """Those who read every team's evidence (``access.evidence_scope`` unrestricted)."""
    return not evidence_scope(user, "")


def entry_scope(user: Any) -> Q:
    """The condition on ``LedgerEntry`` rows that ``user`` may read."""
    if reads_whole_ledger(user):
        return Q()
    if not has_role(user, Role.SUPERVISOR):
        return Q(pk__in=[])
    teams = Team.objects.filter(evidence_scope(user, "")).values("pk")
    return (
        Q(subject=f"user:{user.pk}")
        | Q(subject__in=_subjects("route", Route.objects.filter(team__in=teams), _uuid_text("pk")))
        | Q(
            subject__in=_subjects(
                "visit", Visit.objects.filter(stop__route__team__in=teams), _uuid_text("pk")
            )
        )
        | Q(subject__in=_subjects("alert", Alert.objects.filter(team__in=teams), _uuid_text("pk")))
        | Q(
            subject__in=_subjects(
                "user",
                AgentProfile.objects.filter(field_agents("user"), team__in=teams),
                Cast("user_id", CharField()),
            )
        )
    )


def entries_visible_to(user: Any) -> QuerySet[LedgerEntry]:
    return LedgerEntry.objects.filter(entry_scope(user))


def may_read_entry(user: Any, index: int) -> bool:
    return reads_whole_ledger(user) or entries_visible_to(user).filter(index=index).exists()
