from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission

from fieldvisit.access import has_role
from fieldvisit.texts import _


class HasRole(BasePermission):
    """Allow users holding one of the view's ``required_roles``."""

    message = _("Your role does not allow this.")

    def has_permission(self, request: Any, view: Any) -> bool:
        roles = getattr(view, "required_roles", ())
        return bool(
            request.user and request.user.is_authenticated and has_role(request.user, *roles)
        )
