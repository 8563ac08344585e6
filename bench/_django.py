"""Start Django for a benchmark on a fresh database of its own (SQLite file or PostgreSQL)."""

from __future__ import annotations

import datetime
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def setup(engine: str, name: str, database: str | None = None) -> str:
    """Point Django at an empty database for this run and migrate it; return a description.

    On PostgreSQL the database is ``bench_<name>`` unless ``database`` names it.
    """
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    state = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    os.environ.setdefault("STATE_DIR", str(state))
    os.environ.setdefault("LEDGER_SIGNING_KEY_FILE", str(state / "ledger.pem"))
    if engine == "postgres":
        import psycopg

        db = database or f"bench_{name}"
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{db}"')
            c.execute(f'CREATE DATABASE "{db}"')
        os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{db}"
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{state / 'bench.sqlite3'}"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    return f"{engine} ({os.environ['DATABASE_URL']})"


def demo_agent(at_the_door: bool = False) -> tuple[str, str]:
    """A fresh demo world: agent A's API token and the visit of the route's first stop; with
    ``at_the_door``, both agents have departed and arrived there, so the visit is open (as it
    is for nearly every photo: a photo by an agent alone raises a lone-agent alert)."""
    from django.contrib.auth.models import User

    from fieldvisit.actions.auth import issue_token
    from fieldvisit.demo import build_world, zone_for

    world = build_world(zone_name=zone_for(datetime.datetime.now(datetime.UTC)))  # visiting time
    tokens = {}
    for name in ("agent_a", "agent_b"):
        agent = User.objects.get(username=world["users"][name]["username"])
        tokens[name], _ = issue_token(agent, f"bench-phone-{name}", "bench", "android")
    if at_the_door:
        _arrive_together(world, tokens.values())
    return tokens["agent_a"], world["stops"][0]["visit_id"]


def _arrive_together(world: dict, tokens: object) -> None:
    """Both agents depart and arrive at the first stop through the API."""
    import uuid

    from django.test import override_settings
    from rest_framework.test import APIClient

    stop = world["stops"][0]
    clients = []
    for token in tokens:  # type: ignore[attr-defined]
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        clients.append(client)
    with override_settings(ALLOWED_HOSTS=["*"]):
        for kind in ("depart", "arrive"):
            for client in clients:
                body = {
                    "id": str(uuid.uuid4()),
                    "route": world["route"]["id"],
                    "kind": kind,
                    "lat": stop["lat"],
                    "lon": stop["lon"],
                    "accuracy_m": 8,
                    "captured_at": datetime.datetime.now(datetime.UTC).isoformat(),
                }
                if kind == "arrive":
                    body["stop"] = stop["id"]
                response = client.post("/api/v1/checkins/", body, format="json")
                if response.status_code != 201:
                    raise RuntimeError(
                        f"{kind} answered {response.status_code}: {response.content!r}"
                    )
