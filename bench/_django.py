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


def demo_agent() -> tuple[str, str]:
    """A fresh demo world: agent A's API token and the visit of the route's first stop."""
    from django.contrib.auth.models import User

    from fieldvisit.actions.auth import issue_token
    from fieldvisit.demo import build_world, zone_for

    world = build_world(zone_name=zone_for(datetime.datetime.now(datetime.UTC)))  # visiting time
    agent = User.objects.get(username=world["users"]["agent_a"]["username"])
    token, _ = issue_token(agent, "bench-phone", "bench", "android")
    return token, world["stops"][0]["visit_id"]
