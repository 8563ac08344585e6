from __future__ import annotations

from typing import Any

from rest_framework import serializers

from fieldvisit.access import roles_of, team_of
from fieldvisit.choices import Platform


class SignInSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False)
    device_id = serializers.CharField(max_length=128)
    device_name = serializers.CharField(
        max_length=128, required=False, allow_blank=True, default=""
    )
    platform = serializers.ChoiceField(choices=Platform.choices, default=Platform.OTHER)


class UserSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    roles = serializers.SerializerMethodField()

    def get_roles(self, user: Any) -> list[str]:
        return roles_of(user)


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField()
    device_id = serializers.CharField()
    user = UserSummarySerializer()


class TeamMemberSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="user.id")
    username = serializers.CharField(source="user.username")
    name = serializers.SerializerMethodField()
    badge_number = serializers.CharField()

    def get_name(self, profile: Any) -> str:
        return profile.user.get_full_name() or profile.user.get_username()


class TeamSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    members = serializers.SerializerMethodField()

    def get_members(self, team: Any) -> list[dict[str, Any]]:
        agents = team.agents.select_related("user").filter(active=True).order_by("badge_number")
        return TeamMemberSerializer(agents, many=True).data


class MeSerializer(UserSummarySerializer):
    team = serializers.SerializerMethodField()

    def get_team(self, user: Any) -> dict[str, Any] | None:
        team = team_of(user)
        return TeamSerializer(team).data if team else None
