"""A stock client against a live server: tus-js-client (Node) uploads a segment whole, and
resumes an upload it aborted after its first chunk.

tus-js-client comes from the npm registry, installed once per machine into ``var/node/``
(git-ignored). Without node or npm the tests skip, except on CI (``CI`` set), where a
missing client is a failure, not a reason to test less.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from fieldvisit.models import AudioSegment, Upload
from tests.helpers import (
    AUDIO,
    UPLOADS_URL,
    audio,
    final_path,
    partial_path,
    segment_meta,
    sha,
    stored_files,
    upload_id,
)

pytestmark = pytest.mark.django_db(transaction=True)

TUS_JS_VERSION = "4.3.1"
ROOT = Path(__file__).resolve().parents[2]
NODE_DIR = ROOT / "var" / "node"
SCRIPT = Path(__file__).with_name("tus_js_upload.mjs")
CHUNK = 16 * 1024
SEGMENT = "recording_seg0.m4a"


def on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def unavailable(reason: str) -> None:
    if on_ci():
        pytest.fail(f"tus-js-client tests cannot run on CI: {reason}")
    pytest.skip(reason)


def installed_version() -> str | None:
    package = NODE_DIR / "node_modules" / "tus-js-client" / "package.json"
    with contextlib.suppress(OSError, ValueError):
        return json.loads(package.read_text())["version"]
    return None


@pytest.fixture(scope="session")
def node() -> str:
    """The node binary, with tus-js-client installed (once, whichever xdist worker is first)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        unavailable("node and npm are needed for the tus-js-client tests")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=False)
    if version.returncode or int(version.stdout.strip().lstrip("v").split(".")[0]) < 18:
        unavailable(f"node 18 or later is needed, found {version.stdout.strip() or 'none'}")
    NODE_DIR.mkdir(parents=True, exist_ok=True)
    with open(NODE_DIR / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # xdist workers install one at a time
        if installed_version() != TUS_JS_VERSION:
            done = subprocess.run(
                [
                    *(npm, "install", "--no-audit", "--no-fund", "--save-exact"),
                    *("--prefix", str(NODE_DIR), f"tus-js-client@{TUS_JS_VERSION}"),
                ],
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            if done.returncode or installed_version() != TUS_JS_VERSION:
                unavailable(f"npm could not install tus-js-client: {done.stderr.strip()[-500:]}")
    return node


def run_js(node: str, **options: Any) -> dict[str, Any]:
    options = {"moduleDir": str(NODE_DIR), **options}
    done = subprocess.run(
        [node, str(SCRIPT), json.dumps(options)],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines, done.stderr
    return json.loads(lines[-1])


@pytest.fixture
def endpoint(live_server: Any) -> str:
    # The live server listens on IPv4; node may try ::1 first for "localhost".
    return live_server.url.replace("localhost", "127.0.0.1") + UPLOADS_URL


@pytest.fixture
def auth(world: Any, visit: Any) -> dict[str, str]:
    return {"Authorization": f"Token {world.client(world.agent_a, 'phone-a').token}"}


def js_metadata(visit: Any, data: bytes) -> dict[str, str]:
    return {k: str(v) for k, v in segment_meta(visit, data).items() if v != ""}


def assert_stored(url: str, data: bytes) -> None:
    segment = AudioSegment.objects.get()
    assert segment.id == upload_id(url)
    assert (segment.file_id, segment.format) == (sha(data), "m4a")
    assert stored_files() == {final_path(sha(data)): data}
    assert not partial_path(url).exists()


@pytest.mark.parametrize(
    "variant",
    [{}, {"overridePatchMethod": True, "uploadDataDuringCreation": True}],
    ids=["patch", "creation-with-upload+method-override"],
)
def test_tus_js_client_uploads_a_segment(node, endpoint, auth, visit, variant):
    data = audio(SEGMENT)

    result = run_js(
        node,
        endpoint=endpoint,
        file=str(AUDIO / SEGMENT),
        headers=auth,
        metadata=js_metadata(visit, data),
        chunkSize=CHUNK,
        **variant,
    )

    assert result["ok"], result
    assert result["offset"] == len(data)
    requests = result["requests"]
    assert requests[0]["method"] == "POST"
    assert requests[0]["status"] == 201
    patches = requests[1:]
    if variant:  # every PATCH went as a POST saying what it is
        assert {(r["method"], r["override"]) for r in patches} == {("POST", "PATCH")}
    else:
        assert {(r["method"], r["override"]) for r in patches} == {("PATCH", None)}
    assert {r["status"] for r in patches} == {204}
    offsets = [r["answered"] for r in requests]
    first = CHUNK if variant else 0  # the POST carried the first chunk
    assert offsets == [*range(first, len(data), CHUNK), len(data)]
    assert {r["tusResumable"] for r in requests} == {"1.0.0"}
    assert_stored(result["url"], data)


def test_tus_js_client_resumes_an_aborted_upload(node, endpoint, auth, visit):
    data = audio(SEGMENT)
    options = {"file": str(AUDIO / SEGMENT), "headers": auth, "chunkSize": CHUNK}

    aborted = run_js(
        node, endpoint=endpoint, metadata=js_metadata(visit, data), abortAfterChunks=1, **options
    )

    assert aborted["aborted"] and not aborted["ok"], aborted
    assert aborted["offset"] == CHUNK
    url = aborted["url"]
    assert Upload.objects.get(pk=upload_id(url)).offset == CHUNK
    assert partial_path(url).read_bytes() == data[:CHUNK]

    # A new Upload given the URL asks where to go on (HEAD), then PATCHes from there.
    resumed = run_js(node, uploadUrl=url, **options)

    assert resumed["ok"], resumed
    requests = resumed["requests"]
    assert (requests[0]["method"], requests[0]["answered"]) == ("HEAD", CHUNK)
    assert "POST" not in {r["method"] for r in requests}
    assert requests[1]["offset"] == str(CHUNK)
    assert requests[-1]["answered"] == len(data)
    assert Upload.objects.count() == 1
    assert_stored(url, data)
