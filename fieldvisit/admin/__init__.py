"""Django admin for planners, supervisors, legal and auditors (see each module)."""

from django.contrib import admin

from fieldvisit.admin import alerts, cases, evidence, ledger, people, reports, routes  # noqa: F401

admin.site.site_header = "Field visits: planning, approval and evidence"
admin.site.site_title = "Field visits"
admin.site.index_title = "Operations"
