"""The admin's 403: a page in the admin's own style that says which permission is missing
(a bare "403 Forbidden" tells a supervisor nothing). Its log line is one line
(``fieldvisit.log_filters.OneLineRefusals``)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.models import Permission
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import Resolver404, resolve

# The admin pages of our own that need a permission beyond the model's view/change.
CUSTOM_PAGES = {
    "decide": "decide",
    "handle": "handle",
    "review": "review",
    "import": "import",
    "revoke": "revoke",
}
MODEL_PAGES = {"changelist": "view", "change": "change", "add": "add", "delete": "delete",
               "history": "view"}  # fmt: skip


def missing_permission(request: HttpRequest) -> str:
    """The permission the page asks for that the user lacks, in words ("" when unknown or
    when the refusal is about the record, not the permission)."""
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return ""
    name = match.url_name or ""
    for model, _model_admin in admin.site._registry.items():
        prefix = f"{model._meta.app_label}_{model._meta.model_name}_"
        if not name.startswith(prefix):
            continue
        page = name.removeprefix(prefix)
        action = MODEL_PAGES.get(page) or CUSTOM_PAGES.get(page)
        if action is None:
            return ""
        codenames = [
            p.codename
            for p in Permission.objects.filter(
                content_type__app_label=model._meta.app_label,
                content_type__model=model._meta.model_name,
                codename__startswith=action,
            )
        ]
        for codename in sorted(codenames):
            if not request.user.has_perm(f"{model._meta.app_label}.{codename}"):
                found = Permission.objects.get(
                    codename=codename, content_type__app_label=model._meta.app_label
                )
                return f"{found.name} ({model._meta.app_label}.{codename})"
        return ""
    return ""


def denied_page(request: HttpRequest, exception: Exception) -> HttpResponse:
    message = str(exception) if str(exception) else ""
    context: dict[str, Any] = {
        **admin.site.each_context(request),
        "title": "Not allowed",
        "missing": missing_permission(request) if request.user.is_authenticated else "",
        "reason": message,
    }
    return TemplateResponse(request, "403.html", context, status=403)
