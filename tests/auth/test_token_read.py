"""``queries.tokens.token_by_digest``: the token a request presents, with everything a
request reads of its user, in one statement: the same instances and cached relations as the
ORM's ``select_related`` gave, and the roles as bits."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fieldvisit.actions.auth import issue_token, token_digest
from fieldvisit.choices import Role
from fieldvisit.models import AgentProfile, DeviceToken, Preferences
from fieldvisit.queries.tokens import token_by_digest

pytestmark = pytest.mark.django_db


def read(key: str) -> tuple[DeviceToken | None, int]:
    with CaptureQueriesContext(connection) as queries:
        token = token_by_digest(token_digest(key))
    return token, len(queries)


def test_an_agents_token_comes_with_profile_team_and_roles_in_one_query(world) -> None:
    Preferences.objects.create(user=world.agent_a, language="zh-hans")
    key, issued = issue_token(world.agent_a, "phone-1", "phone", "android")
    token, queries = read(key)
    assert queries == 1
    assert token == issued
    assert (token.device_id, token.key_digest, token.revoked_at) == (
        "phone-1",
        token_digest(key),
        None,
    )
    # Every relation a request follows is already there: no further query.
    with CaptureQueriesContext(connection) as more:
        user = token.user
        assert user == world.agent_a and user.is_active and user.username == "agent_a"
        assert user.agent_profile.team == world.team
        assert user.agent_profile.team.name == world.team.name
        assert user.agent_profile.user is user
        assert user.preferences.language == "zh-hans"
    assert len(more) == 0
    assert token.roles == [Role.AGENT]
    # Loaded as the ORM loads: saving one field writes that field.
    token.last_used_at = token.created_at
    token.save(update_fields=["last_used_at"])
    assert DeviceToken.objects.get(pk=token.pk).last_used_at == token.created_at


def test_a_user_without_profile_or_preferences_has_them_missing_not_queried(world) -> None:
    world.supervisor.groups.add(Group.objects.get(name=Role.TEAM_LEAD))
    key, _ = issue_token(world.supervisor, "laptop", "laptop", "web")
    token, queries = read(key)
    assert queries == 1
    with CaptureQueriesContext(connection) as more:
        with pytest.raises(AgentProfile.DoesNotExist):
            token.user.agent_profile  # noqa: B018
        with pytest.raises(Preferences.DoesNotExist):
            token.user.preferences  # noqa: B018
    assert len(more) == 0
    assert token.roles == sorted([Role.SUPERVISOR, Role.TEAM_LEAD])


def test_an_unknown_or_revoked_token(world) -> None:
    assert read("no-such-key") == (None, 1)
    key, issued = issue_token(world.agent_b, "phone-2", "phone", "ios")
    DeviceToken.objects.filter(pk=issued.pk).update(revoked_at=issued.created_at)
    token, _ = read(key)
    assert token is not None and token.revoked_at == issued.created_at
