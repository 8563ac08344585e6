"""The Swagger UI at ``/api/docs/``, read offline from the schema the API serves."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.views import View
from drf_spectacular.views import SpectacularSwaggerView
from rest_framework.request import Request


class DocsView(SpectacularSwaggerView):
    """An HTML page: ``OPTIONS`` answers as Django's own views do (200, ``Allow``, no body).
    DRF's metadata answer is a dict, which the page's HTML renderer has no template for."""

    permission_classes: list[Any] = []

    def options(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        return View.options(self, request, *args, **kwargs)
