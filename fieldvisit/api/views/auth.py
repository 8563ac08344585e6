"""Sign-in per device, sign-out, and who am I."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from fieldvisit import sign_in
from fieldvisit.actions.auth import issue_token, revoke_token
from fieldvisit.api import examples
from fieldvisit.api.errors import Problem
from fieldvisit.api.schema import problems
from fieldvisit.api.serializers.auth import (
    MeSerializer,
    SignInSerializer,
    TokenResponseSerializer,
)
from fieldvisit.api.throttling import LoginThrottle
from fieldvisit.texts import _


class TokenView(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginThrottle]

    @extend_schema(
        operation_id="auth_token",
        examples=examples.AUTH_TOKEN,
        request=SignInSerializer,
        responses={
            201: TokenResponseSerializer,
            **problems(
                "validation_error",
                "malformed_request",
                "invalid_credentials",
                "too_many_login_attempts",
                "throttled",
                "sign_in_unavailable",
                common=False,
            ),
        },
        description=(
            "Sign in on one device. A new sign-in on the same device replaces its token. "
            "Failed sign-ins are limited per username at one address, per username and per "
            "address (429 `too_many_login_attempts` with Retry-After); while the counters "
            "cannot be reached, sign-in answers 503 `sign_in_unavailable`."
        ),
    )
    def post(self, request: Request) -> Response:
        serializer = SignInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            user = sign_in.authenticate(request, data["username"], data["password"])
        except sign_in.Blocked as blocked:
            problem = Problem(
                "too_many_login_attempts",
                _("Too many failed sign-ins; wait a few minutes and try again."),
            )
            problem.wait = blocked.retry_after  # becomes Retry-After
            raise problem from None
        except sign_in.Unavailable as down:
            problem = Problem(
                "sign_in_unavailable",
                _(
                    "Sign-in is briefly unavailable; devices already signed in keep working. "
                    "Retry shortly."
                ),
            )
            problem.wait = down.retry_after
            raise problem from None
        if user is None:
            raise Problem("invalid_credentials", _("Wrong username or password."))
        key, token = issue_token(user, data["device_id"], data["device_name"], data["platform"])
        body = TokenResponseSerializer(
            {"token": key, "device_id": token.device_id, "user": user}
        ).data
        return Response(body, status=status.HTTP_201_CREATED)


class LogoutView(APIView):
    @extend_schema(
        operation_id="auth_logout",
        request=None,
        responses={204: None, **problems()},
        description="Revoke this device's token; the user's other devices keep working.",
    )
    def post(self, request: Request) -> Response:
        revoke_token(request.auth.pk, request.user, "signed out")
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    @extend_schema(
        operation_id="me",
        examples=examples.ME,
        responses={200: MeSerializer, **problems()},
        description="Who the token belongs to: the user, their roles and, for a field agent, "
        "their team with its members.",
    )
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(request.user).data)
