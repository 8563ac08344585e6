"""Django admin for planners, supervisors, legal and auditors (see each module)."""

from django.contrib import admin

from fieldvisit.admin import (  # noqa: F401
    alerts,
    cases,
    evidence,
    incidents,
    ledger,
    oncall,
    people,
    qualifications,
    reports,
    routes,
)
from fieldvisit.texts import _

admin.site.site_header = _("Field visits: planning, approval and evidence")
admin.site.site_title = _("Field visits")
admin.site.index_title = _("Operations")
