"""A real server restart between chunks: the server process is stopped after half an upload
and a new one started on the same database and upload directory; a fresh tuspy uploader
resumes at the stored offset and the segment completes with the right SHA-256.

The live_server fixture cannot be restarted, so this test runs ``manage.py runserver`` in a
child process on a database of its own (SQLite file), seeded with ``seed_demo``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from time_machine import escape_hatch
from tusclient import client as tus

from tests.childserver import ChildServer
from tests.helpers import AUDIO

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ChildServer, dict[str, Any]]]:
    state = tmp_path_factory.mktemp("restart")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{state / 'db.sqlite3'}",
        "STATE_DIR": str(state),
        "LEDGER_SIGNING_KEY_FILE": str(state / "ledger.pem"),
        "DEBUG": "0",
        "THROTTLE_USER": "100000/min",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    seeded = subprocess.run(
        [*manage, "seed_demo", "--json"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    running = ChildServer(env)
    running.start()
    yield running, json.loads(seeded.stdout)
    running.stop()


def test_an_upload_resumes_after_the_server_process_restarts(
    server: tuple[ChildServer, dict[str, Any]],
) -> None:
    running, world = server
    user = world["users"]["agent_a"]
    token = requests.post(
        f"{running.url}/auth/token/",
        json={"username": user["username"], "password": user["password"],
              "device_id": "restart-phone", "device_name": "phone", "platform": "android"},
        timeout=10,
    ).json()["token"]  # fmt: skip
    data = (AUDIO / "recording_seg0.m4a").read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    metadata = {
        "visit": world["stops"][0]["visit_id"],
        "recording": str(uuid.uuid4()),
        "segment": "0",
        # The server runs on the machine's clock, not the tests' pinned one.
        "started_at": escape_hatch.datetime.datetime.now(dt.UTC).isoformat(),
        "sha256": digest,
        "prev_sha256": "",
        "filename": "seg0.m4a",
    }
    headers = {"Authorization": f"Token {token}"}
    client = tus.TusClient(f"{running.url}/uploads/", headers=headers)
    first = client.uploader(file_stream=io.BytesIO(data), chunk_size=16 * 1024, metadata=metadata)
    first.upload(stop_at=40 * 1024)
    assert first.offset == 40 * 1024

    running.stop()
    running.start()  # a new process: nothing of the upload survives in memory

    status = requests.head(first.url, headers={**headers, "Tus-Resumable": "1.0.0"}, timeout=10)
    assert status.headers["Upload-Offset"] == str(40 * 1024)
    resumed = client.uploader(
        file_stream=io.BytesIO(data), chunk_size=16 * 1024, url=first.url, metadata=metadata
    )
    assert resumed.offset == 40 * 1024
    resumed.upload()
    recording = requests.get(
        f"{running.url}/visits/{metadata['visit']}/recording/", headers=headers, timeout=10
    ).json()
    assert [(s["index"], s["sha256"], s["size"]) for s in recording["segments"]] == [
        (0, digest, len(data))
    ]
