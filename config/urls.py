from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from django.views.i18n import JavaScriptCatalog

from fieldvisit import complaint_form, fieldapp, languages
from fieldvisit.admin import oncall, operations
from fieldvisit.api.docs import DocsView

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/operations/", include(operations.urls())),
    path("admin/", admin.site.urls),
    path("alerts/", include(oncall.urls())),
    path("account/", include(languages.urls())),
    # The public complaint form the company's letters link to (no account).
    path("complaints/", include(complaint_form.urls())),
    # The project's djangojs catalogue (locale/) for the admin's own scripts; only translations.
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("api/v1/", include("fieldvisit.api.urls")),
    path("app/", include(fieldapp.urls())),
    path("api/docs/", DocsView.as_view(url_name="api:schema"), name="api-docs"),
]

handler400 = "fieldvisit.api.errors.bad_request"
handler403 = "fieldvisit.api.errors.permission_denied"
handler404 = "fieldvisit.api.errors.page_not_found"
handler500 = "fieldvisit.api.errors.server_error"
