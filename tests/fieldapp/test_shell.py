"""The field app's shell as the server gives it: the page, the web app manifest, the service
worker (its scope, the files it caches) and the vendored browser libraries with their
licences and checksums."""

from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from PIL import Image

from fieldvisit import fieldapp

VENDOR = Path(__file__).resolve().parents[2] / "fieldvisit" / "static" / "fieldvisit" / "vendor"
# Vendored from the npm registry for the field app (Leaflet, for admin, predates them).
APP_VENDORED = {
    "idb": ("8.0.4", "ISC License"),
    "tus-js-client": ("4.3.1", "The MIT License"),
    "hash-wasm": ("4.13.0", "MIT License"),
    "signature_pad": ("5.1.4", "MIT License"),
}


def test_the_shell_is_served_without_signing_in(client: Client) -> None:
    response = client.get("/app/")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-cache"
    html = response.content.decode()
    assert '<link rel="manifest" href="/app/manifest.webmanifest">' in html
    assert '<script type="module" src="/static/fieldvisit/app/main.js"></script>' in html
    assert 'name="viewport" content="width=device-width' in html
    assert f'<meta name="theme-color" content="{fieldapp.THEME_COLOUR}">' in html
    assert client.post("/app/").status_code == 405


def test_the_manifest_makes_it_installable(client: Client) -> None:
    response = client.get("/app/manifest.webmanifest")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    manifest = json.loads(response.content)
    assert (manifest["display"], manifest["start_url"], manifest["scope"]) == (
        "standalone",
        "/app/",
        "/app/",
    )
    assert manifest["theme_color"] == fieldapp.THEME_COLOUR
    assert manifest["name"] and manifest["short_name"]
    sizes = set()
    for icon in manifest["icons"]:
        assert icon["type"] == "image/png"
        path = finders.find(icon["src"].removeprefix("/static/"))
        assert path, icon["src"]
        with Image.open(path) as image:  # real PNGs of the declared size
            assert image.format == "PNG"
            assert f"{image.width}x{image.height}" == icon["sizes"]
        sizes.add((icon["sizes"], icon.get("purpose", "any")))
    # Chrome's install criteria: 192 and 512 px; Android's adaptive icons: a maskable one.
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes


def test_the_service_worker_caches_the_whole_shell(client: Client) -> None:
    response = client.get("/app/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/app/"
    assert response["Cache-Control"] == "no-cache"  # so an update is seen at once
    script = response.content.decode()
    shell = json.loads(re.search(r"const SHELL = (\[.*?\]);", script).group(1))
    assert shell[:2] == ["/app/", "/app/manifest.webmanifest"]
    for url in shell[2:]:
        assert finders.find(url.removeprefix("/static/")), url
    # Every module the app imports is in the shell, or it would not open offline.
    app_dir = Path(finders.find("fieldvisit/app/main.js")).parent
    modules = {f"/static/fieldvisit/app/{p.name}" for p in app_dir.glob("*.js")}
    assert modules <= set(shell)
    for module in app_dir.glob("*.js"):
        for imported in re.findall(r'from "(\.[^"]+)"', module.read_text()):
            target = (app_dir / imported).resolve()
            static_root = app_dir.parents[1]
            assert f"/static/{target.relative_to(static_root)}" in shell, (module.name, imported)
    assert f'const VERSION = "{fieldapp.shell_version()}";' in script


def test_the_worker_changes_when_a_shell_file_changes(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = client.get("/app/sw.js").content
    real = fieldapp._read
    monkeypatch.setattr(
        fieldapp, "_read", lambda name: real(name) + (b"//" if name.endswith("app.css") else b"")
    )
    fieldapp.shell_version.cache_clear()
    try:
        after = client.get("/app/sw.js").content
    finally:
        fieldapp.shell_version.cache_clear()
    assert before != after  # the browser installs the new worker, which caches the new shell


@pytest.mark.parametrize("name", sorted(APP_VENDORED))
def test_vendored_libraries_are_unchanged_releases(name: str) -> None:
    version, licence = APP_VENDORED[name]
    folder = VENDOR / name
    readme = (folder / "README.txt").read_text()
    assert readme.startswith(f"{name} {version} (")
    assert f"npm pack {name}@{version}" in readme
    assert re.search(r"dist\.integrity sha512-[A-Za-z0-9+/]{86}==", readme)
    assert re.search(r"tarball sha256 [0-9a-f]{64}", readme)
    assert (folder / "LICENSE").read_text().startswith(licence)
    listed = {}
    for line in (folder / "SHA256SUMS").read_text().splitlines():
        digest, filename = line.split("  ", 1)
        listed[filename] = digest
    present = {p.name for p in folder.iterdir()} - {"README.txt", "SHA256SUMS"}
    assert present == set(listed), "every vendored file is listed, and only those"
    for filename, digest in listed.items():
        assert hashlib.sha256((folder / filename).read_bytes()).hexdigest() == digest, filename


def test_icons_are_opaque_for_the_home_screen() -> None:
    for name in ("icon-192.png", "icon-512.png", "icon-maskable-512.png", "apple-touch-icon.png"):
        data = Path(finders.find(f"fieldvisit/app/icons/{name}")).read_bytes()
        with Image.open(io.BytesIO(data)) as image:
            assert image.mode == "RGB", name  # iOS fills transparency with black
