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
from django.utils.translation import gettext

from fieldvisit.texts import _

# Admin pages and the permission each asks for: the model's own pages, and ours, each
# named after its permission (``fieldvisit_route_decide``: ``decide_route``).
MODEL_PAGES = {"changelist": "view", "change": "change", "add": "add", "delete": "delete",
               "history": "view"}  # fmt: skip
CUSTOM_PAGES = frozenset({"decide", "handle", "review", "import", "revoke"})
# Django stores a permission's name in English ("Can view alert"); said in the reader's
# language from its action and the model's (translated) name, or, for ours, from the name
# the model gives it (marked with gettext_noop there).
ACTION_NAMES = {
    "view": _("Can view {model}"),
    "add": _("Can add {model}"),
    "change": _("Can change {model}"),
    "delete": _("Can delete {model}"),
}


def permission_name(permission: Permission, model: Any) -> str:
    action = permission.codename.removesuffix(f"_{model._meta.model_name}")
    if action in ACTION_NAMES and permission.codename == f"{action}_{model._meta.model_name}":
        return str(ACTION_NAMES[action]).format(model=model._meta.verbose_name)
    return gettext(permission.name)


def missing_permission(request: HttpRequest) -> str:
    """The permission the page asks for that the user lacks, in words ("" when unknown or
    when the refusal is about the record, not the permission)."""
    try:
        name = resolve(request.path_info).url_name or ""
    except Resolver404:
        return ""
    for model in admin.site._registry:
        app, model_name = model._meta.app_label, model._meta.model_name
        page = name.removeprefix(f"{app}_{model_name}_")
        if page == name:
            continue
        action = MODEL_PAGES.get(page) or (page if page in CUSTOM_PAGES else None)
        if action is None:
            return ""
        wanted = Permission.objects.filter(
            content_type__app_label=app,
            content_type__model=model_name,
            codename__startswith=action,
        ).order_by("codename")
        for permission in wanted:
            if not request.user.has_perm(f"{app}.{permission.codename}"):
                return f"{permission_name(permission, model)} ({app}.{permission.codename})"
        return ""
    return ""


def denied_page(request: HttpRequest, exception: Exception) -> HttpResponse:
    message = str(exception) if str(exception) else ""
    context: dict[str, Any] = {
        **admin.site.each_context(request),
        "title": _("Not allowed"),
        "missing": missing_permission(request) if request.user.is_authenticated else "",
        "reason": message,
    }
    return TemplateResponse(request, "403.html", context, status=403)
