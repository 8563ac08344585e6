"""The device token a request presents, with its user, the user's agent profile and team,
their preferences and their roles: one statement, written once (``fieldvisit.db.rows``).

Every authenticated request reads this. Built by the ORM it cost a millisecond of compiling
on every request, and PostgreSQL planned its five-table join afresh each time (about as
long again); written once and prepared, it is planned once per connection. The instances it
returns are the ORM's own, their relations cached as ``select_related`` caches them.
"""

from __future__ import annotations

import functools
from typing import Any

from django.contrib.auth.models import Group, User
from django.db import connection

from fieldvisit.choices import Role
from fieldvisit.db import rows
from fieldvisit.models import AgentProfile, DeviceToken, Preferences, Team

# The models read with the token, each joined by the field that leads to it (the user's are
# one-to-one and may be missing: a LEFT JOIN).
JOINED = (DeviceToken, User, AgentProfile, Team, Preferences)


@functools.cache
def _plan(vendor: str) -> tuple[str, Any, tuple[Any, ...]]:
    """The statement, its row converter, and each model with its fields in the row."""
    q = rows.q
    fields = [rows.concrete(model) for model in JOINED]
    membership = User.groups.through
    cases = " ".join(f"WHEN %s THEN {1 << bit}" for bit in range(len(Role.values)))
    roles = (
        f"(SELECT COALESCE(SUM(CASE g.{q('name')} {cases} END), 0) "
        f"FROM {rows.table(Group)} g JOIN {rows.table(membership)} ug "
        f"ON ug.{q('group_id')} = g.{q('id')} "
        f"WHERE ug.{q('user_id')} = u.{q('id')})"
    )
    aliases = ("d", "u", "p", "t", "f")
    selects = [rows.select_list(a, f) for a, f in zip(aliases, fields, strict=True)]
    sql = (
        f"SELECT {', '.join(selects)}, {roles} FROM {rows.table(DeviceToken)} d "
        f"JOIN {rows.table(User)} u ON u.{q('id')} = d.{q('user_id')} "
        f"LEFT JOIN {rows.table(AgentProfile)} p ON p.{q('user_id')} = u.{q('id')} "
        f"LEFT JOIN {rows.table(Team)} t ON t.{q('id')} = p.{q('team_id')} "
        f"LEFT JOIN {rows.table(Preferences)} f ON f.{q('user_id')} = u.{q('id')} "
        f"WHERE d.{q('key_digest')} = %s"
    )
    parts = tuple(zip(JOINED, fields, strict=True))
    return sql, rows.converter([f for model_fields in fields for f in model_fields] + [None]), parts


def token_by_digest(digest: str) -> DeviceToken | None:
    """The token with this key digest (None: none), its user loaded with the agent profile
    (and its team) and preferences cached, as ``select_related`` would, and the user's roles
    (read as a bit per ``Role``) in ``token.roles``, sorted."""
    sql, convert, parts = _plan(connection.vendor)
    with rows.cursor() as cursor:
        cursor.execute(sql, [*Role.values, digest])
        row = cursor.fetchone()
    if row is None:
        return None
    row = convert(row)
    token, user, profile, team, preferences = rows.loaded_each(parts, row)  # one-to-ones: None
    token.roles = sorted(role for bit, role in enumerate(Role.values) if row[-1] & (1 << bit))
    DeviceToken._meta.get_field("user").set_cached_value(token, user)
    AgentProfile._meta.get_field("user").remote_field.set_cached_value(user, profile)
    Preferences._meta.get_field("user").remote_field.set_cached_value(user, preferences)
    if profile is not None:
        AgentProfile._meta.get_field("user").set_cached_value(profile, user)
        AgentProfile._meta.get_field("team").set_cached_value(profile, team)
    if preferences is not None:
        Preferences._meta.get_field("user").set_cached_value(preferences, user)
    return token
