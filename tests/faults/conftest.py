"""Fault tests: a real server process (``manage.py runserver``) on a database and state
directory of its own, which a test may kill with SIGKILL and start again.

The child database follows the suite's: a SQLite file, or a fresh PostgreSQL database next to
the test database when ``DATABASE_URL`` names PostgreSQL (dropped afterwards).
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import uuid
import wave
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests

from tests.childserver import ROOT, ChildServer

MANAGE = [sys.executable, str(ROOT / "manage.py")]


def wait_for(condition: Callable[[], Any], timeout: float = 20, what: str = "") -> Any:
    """Poll until ``condition()`` is truthy (never a fixed sleep); its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.02)


def wav(seconds: float, rate: int = 16000) -> bytes:
    """A mono 16-bit WAV of noise: unique bytes, ``32 kB`` a second."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(os.urandom(int(seconds * rate) * 2))
    return out.getvalue()


def postgres_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else None


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def admin_sql(url: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run SQL on the server's ``postgres`` database, outside any transaction."""
    import psycopg

    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        cursor = conn.execute(sql, params)  # type: ignore[arg-type]
        return cursor.fetchall() if cursor.description else []


@dataclass
class Child:
    """The child server, its environment and the demo world seeded into its database."""

    server: ChildServer
    env: dict[str, str]
    state: Path
    world: dict[str, Any]
    pg_name: str | None = None
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def pid(self) -> int:
        assert self.server.process is not None
        return self.server.process.pid

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind runs in the server."""
        assert self.server.process is not None
        os.kill(self.server.process.pid, signal.SIGKILL)
        assert self.server.process.wait(10) == -signal.SIGKILL

    def start(self) -> None:
        self.server.start()

    def token(self, who: str = "agent_a") -> str:
        if who not in self.tokens:
            user = self.world["users"][who]
            answer = requests.post(
                f"{self.url}/auth/token/",
                json={"username": user["username"], "password": user["password"],
                      "device_id": f"{who}-phone", "device_name": "phone",
                      "platform": "android"},
                timeout=10,
            )  # fmt: skip
            assert answer.status_code in (200, 201), answer.text
            self.tokens[who] = answer.json()["token"]
        return self.tokens[who]

    def headers(self, who: str = "agent_a") -> dict[str, str]:
        return {"Authorization": f"Token {self.token(who)}"}

    def visit_id(self, index: int = 0) -> str:
        return self.world["stops"][index]["visit_id"]

    def state_report(self, *options: str) -> dict[str, Any]:
        """What the database and the storage hold, from the child's point of view
        (``--sweep``, ``--verify``: see ``state_report.main``)."""
        done = subprocess.run(
            [sys.executable, str(Path(__file__).with_name("state_report.py")), *options],
            cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def evidence_files(self) -> set[str]:
        """Every file under the evidence root, relative to it."""
        root = self.state / "evidence"
        return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}

    def upload_dir_files(self) -> set[str]:
        root = self.state / "uploads"
        return {p.name for p in root.iterdir()} if root.exists() else set()


# One process for both (each Django start costs a second or two).
MIGRATE_AND_SEED = """
import io
from django.core.management import call_command
call_command("migrate", verbosity=0)
seeded = io.StringIO()
call_command("seed_demo", json=True, stdout=seeded)
print(seeded.getvalue())
"""


@pytest.fixture(scope="module")
def child(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Child]:
    state = tmp_path_factory.mktemp("faults")
    env = {
        **os.environ,
        "STATE_DIR": str(state),
        "LEDGER_SIGNING_KEY_FILE": str(state / "ledger.pem"),
        "DEBUG": "0",
        "THROTTLE_USER": "100000/min",
        "THROTTLE_ANON": "100000/min",
    }
    for name in ("DJANGO_SETTINGS_MODULE", "EVIDENCE_ROOT", "TUS_UPLOAD_DIR", "REDIS_URL",
                 "CELERY_BROKER_URL", "EVIDENCE_S3_BUCKET"):  # fmt: skip
        env.pop(name, None)
    pg = postgres_url()
    pg_name = None
    if pg:
        pg_name = f"{urlsplit(pg).path.lstrip('/') or 'fieldvisit'}_child_{uuid.uuid4().hex[:8]}"
        admin_sql(pg, f'CREATE DATABASE "{pg_name}"')
        env["DATABASE_URL"] = with_database(pg, pg_name)
    else:
        env["DATABASE_URL"] = f"sqlite:///{state / 'db.sqlite3'}"
    try:
        seeded = subprocess.run(
            [*MANAGE, "shell", "-v0", "-c", MIGRATE_AND_SEED],
            cwd=ROOT, env=env, check=True, capture_output=True, text=True,
        )  # fmt: skip
        server = ChildServer(env)
        running = Child(server, env, state, json.loads(seeded.stdout), pg_name)
        running.start()
        yield running
        if server.process is not None and server.process.poll() is None:
            server.stop()
    finally:
        if pg and pg_name:
            admin_sql(
                pg,
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (pg_name,),
            )
            admin_sql(pg, f'DROP DATABASE IF EXISTS "{pg_name}"')
