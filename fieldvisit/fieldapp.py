"""The agents' field app: a progressive web app served at ``/app/`` (issue 18).

The server's part is small on purpose: one HTML shell, the web app manifest and the service
worker. Everything else is static files under ``fieldvisit/static/fieldvisit/app/`` (plain ES
modules, no bundler) talking to the same ``/api/v1/`` as any other phone, with a device token.

The service worker is served from ``/app/sw.js`` so that its scope is ``/app/`` (a worker
controls only pages under its own path). Its text names every file of the app shell and a
version made of their SHA-256: change any file and the worker's bytes change, the browser
installs the new worker, and it caches the new shell before it takes over.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Any

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import path
from django.utils import translation
from django.views.decorators.http import require_safe

from fieldvisit.texts import _

APP = "fieldvisit/app/"
# The app shell: every file the app needs to open and work with no network.
SHELL_FILES = [
    APP + "app.css",
    APP + "main.js",
    APP + "api.js",
    APP + "capture.js",
    APP + "chain.js",
    APP + "evidence.js",
    APP + "geo.js",
    APP + "hashing.js",
    APP + "heartbeat.js",
    APP + "messages.js",
    APP + "outbox.js",
    APP + "panic.js",
    APP + "recorder.js",
    APP + "sender.js",
    APP + "store.js",
    APP + "timer.js",
    APP + "views.js",
    APP + "icons/icon-192.png",
    APP + "icons/icon-512.png",
    APP + "icons/icon-maskable-512.png",
    APP + "icons/apple-touch-icon.png",
    "fieldvisit/vendor/idb/index.js",
    "fieldvisit/vendor/hash-wasm/sha256.umd.min.js",
    "fieldvisit/vendor/signature_pad/signature_pad.js",
    "fieldvisit/vendor/tus-js-client/tus.min.js",
]
THEME_COLOUR = "#0b3d91"
BACKGROUND_COLOUR = "#ffffff"


def _read(name: str) -> bytes:
    found = finders.find(name)
    if found:
        with open(found, "rb") as handle:
            return handle.read()
    with staticfiles_storage.open(name) as handle:  # collected, without the app's sources
        return handle.read()


@cache
def shell_version() -> str:
    """SHA-256 over the shell's files, in order: the service worker's cache name."""
    digest = hashlib.sha256()
    for name in SHELL_FILES:
        digest.update(name.encode() + b"\0")
        digest.update(hashlib.sha256(_read(name)).digest())
    return digest.hexdigest()[:16]


def manifest_data() -> dict[str, Any]:
    """The manifest in the language of the request (the browser's, else the deployment's)."""
    icon = APP + "icons/"
    return {
        "id": "/app/",
        "name": "Field visits 外访",
        "short_name": "外访",
        "description": str(_("Check-ins, panic alerts and visit evidence for field agents.")),
        "lang": translation.get_language() or settings.LANGUAGE_CODE,
        "start_url": "/app/",
        "scope": "/app/",
        "display": "standalone",
        "orientation": "portrait",
        "theme_color": THEME_COLOUR,
        "background_color": BACKGROUND_COLOUR,
        "icons": [
            {"src": static(icon + "icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static(icon + "icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {
                "src": static(icon + "icon-maskable-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }


def _no_cache(response: HttpResponse) -> HttpResponse:
    # The shell is cached by the service worker, which must always see the newest one.
    response["Cache-Control"] = "no-cache"
    return response


@require_safe
def shell_view(request: HttpRequest) -> HttpResponse:
    html = render_to_string(
        "fieldapp/index.html",
        {
            "theme_colour": THEME_COLOUR,
            "static_base": static(APP),
            "segment_seconds": settings.FIELDAPP_SEGMENT_SECONDS,
            "upload_chunk_bytes": settings.FIELDAPP_UPLOAD_CHUNK_BYTES,
        },
        request=request,
    )
    return _no_cache(HttpResponse(html))


@require_safe
def manifest_view(request: HttpRequest) -> HttpResponse:
    body = json.dumps(manifest_data(), ensure_ascii=False, indent=2)
    return _no_cache(HttpResponse(body, content_type="application/manifest+json"))


@require_safe
def service_worker_view(request: HttpRequest) -> HttpResponse:
    shell = ["/app/", "/app/manifest.webmanifest", *(static(name) for name in SHELL_FILES)]
    if settings.DEBUG:
        shell_version.cache_clear()  # static files edited under runserver: a new worker
    script = render_to_string(
        "fieldapp/sw.js",
        {"version": shell_version(), "shell_json": json.dumps(shell)},
    )
    response = HttpResponse(script, content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/app/"
    return _no_cache(response)


def urls() -> list[Any]:
    """Mounted at ``app/`` (config/urls.py). Public: the shell holds no data; every record
    comes from the API with the device's token."""
    return [
        path("", shell_view, name="fieldapp"),
        path("manifest.webmanifest", manifest_view, name="fieldapp-manifest"),
        path("sw.js", service_worker_view, name="fieldapp-sw"),
    ]
