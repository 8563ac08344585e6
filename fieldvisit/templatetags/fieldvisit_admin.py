"""Template helpers for the admin pages of fieldvisit."""

from __future__ import annotations

from typing import Any

from django import template

from fieldvisit.operations import may_watch

register = template.Library()


@register.simple_tag
def may_watch_operations(user: Any) -> bool:
    """Whether the index shows the link to the live operations dashboard (same rule as the
    dashboard itself)."""
    return may_watch(user)
