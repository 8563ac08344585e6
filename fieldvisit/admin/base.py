"""Shared admin pieces."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.apps import apps
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from fieldvisit.access import TEAM_PATHS, staff_scope
from fieldvisit.access_log import record_read
from fieldvisit.rules import RuleViolation


class ReadOnlyAdmin(admin.ModelAdmin):
    """Evidence and audit records: viewable, never added, changed or deleted here."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class LoggedReadsAdmin(admin.ModelAdmin):
    """Evidence pages: each opening of a record by legal, a supervisor or an auditor is logged."""

    def change_view(self, request: HttpRequest, object_id: str, *args: Any, **kwargs: Any) -> Any:
        response = super().change_view(request, object_id, *args, **kwargs)
        if response.status_code == 200:
            name = self.model._meta.model_name
            record_read(request.user, name, f"{name}:{object_id}", via="admin")
        return response


class ScopedReadsAdmin(admin.ModelAdmin):
    """Records shown within a scope of teams: one the user's permissions do not open at all
    is refused (403) on every page, its history too, before any lookup in the scope ("does
    not exist" is for records out of the scope of those who may read the model)."""

    def history_view(self, request: HttpRequest, object_id: str, *args: Any, **kwargs: Any) -> Any:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        return super().history_view(request, object_id, *args, **kwargs)


class ScopedChoices:
    """Every team-bound record a form offers (a foreign key, autocompleted or not) is one
    within the user's ``write_scope``: another team's is "not one of the available choices",
    as the autocomplete already hides it. The actions check the same again."""

    write_scope: Callable[[Any, str], Q] = staticmethod(staff_scope)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]
        path = TEAM_PATHS.get(db_field.related_model._meta.model_name)
        if field is not None and path is not None:
            field.queryset = field.queryset.filter(self.write_scope(request.user, path))
        return field


class ActionCheckedForm(forms.ModelForm):
    """A model form that runs its action's checks while validating, so what the action
    would refuse (``RuleViolation``) is a form error, never a failed save (a 500)."""

    action_check: Callable[..., None] | None = None
    action_user: Any = None

    def _post_clean(self) -> None:
        super()._post_clean()
        check = type(self).action_check
        if check is None or self._errors:
            return
        try:
            check(self.instance, self.action_user)
        except RuleViolation as exc:
            if not exc.errors:
                self.add_error(None, exc.detail)
            for name, messages in exc.errors.items():
                self.add_error(name if name in self.fields else None, messages)


def checked_form(form: type[forms.ModelForm], check: Any, user: Any) -> type[forms.ModelForm]:
    """``form`` validated by the action check ``check(instance, user)``."""
    attrs = {"action_check": staticmethod(check), "action_user": user}
    return type(form.__name__, (ActionCheckedForm, form), attrs)


class TeamScopedAdmin(ScopedChoices, ScopedReadsAdmin):
    """Rows bound to a team show only to the staff who oversee that team: those within the
    user's ``read_scope``. ``staff_scope`` (planners read every team) is for what planners
    plan; records of what happened in the field (visits, reports, reviews, alerts, check-ins,
    devices) set ``evidence_scope``, which planning for every team does not widen."""

    team_field = "team"
    read_scope: Callable[[Any, str], Q] = staticmethod(staff_scope)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        return queryset.filter(self.read_scope(request.user, self.team_field))

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        """The autocomplete offers what the asking form accepts: its ``write_scope`` (a
        planner who also supervises sees every team, but moves agents into their own)."""
        queryset, duplicates = super().get_search_results(request, queryset, search_term)
        match = request.resolver_match
        path = TEAM_PATHS.get(self.model._meta.model_name)
        if match is not None and match.url_name == "autocomplete" and path is not None:
            try:
                source = apps.get_model(request.GET["app_label"], request.GET["model_name"])
            except (KeyError, LookupError):
                return queryset.none(), duplicates  # the view refuses these itself
            form_admin = self.admin_site._registry.get(source)
            scope = getattr(form_admin, "write_scope", staff_scope)
            queryset = queryset.filter(scope(request.user, path))
        return queryset, duplicates
