"""The fixture world every test can use: named actors, like healthchecks' ``BaseTestCase``.

Agent A and agent B form the Huangpu team; the outsider agent (and a partner) form another
team; the planner, supervisor, legal user and auditor work in admin and the legal API.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from rest_framework.test import APIClient

from fieldvisit.actions import routes as route_actions
from fieldvisit.actions.auth import issue_token
from fieldvisit.choices import Role
from fieldvisit.models import Address, Case, Creditor, Route, Team
from tests import factories

ZONE = zoneinfo.ZoneInfo("Asia/Shanghai")
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"


@pytest.fixture(scope="session", autouse=True)
def _flushable_append_only_tables_on_sqlite() -> Any:
    """Transactional tests empty every table between tests. PostgreSQL does it with TRUNCATE,
    which row triggers do not see; SQLite does it with DELETE, which the append-only
    triggers refuse. For tests only, the flush lifts those triggers and puts them back."""
    from django.db import connection

    if connection.vendor != "sqlite":
        yield
        return
    from django.db.backends.sqlite3.base import DatabaseOperations

    from fieldvisit.db.append_only import guarded_models, install_sql, uninstall_sql

    original = DatabaseOperations.sql_flush

    def sql_flush(self: Any, style: Any, tables: Any, **kwargs: Any) -> list[str]:
        statements = original(self, style, tables, **kwargs)
        guarded = [m for m in guarded_models() if m._meta.db_table in tables]
        lift = [sql for m in guarded for sql in uninstall_sql("sqlite", m._meta.db_table)]
        restore = [
            sql
            for m in guarded
            for sql in install_sql("sqlite", m._meta.db_table, m.refused_statements)
        ]
        return lift + statements + restore

    DatabaseOperations.sql_flush = sql_flush
    yield
    DatabaseOperations.sql_flush = original


@pytest.fixture(scope="session")
def ledger_key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ledger-keys")


@pytest.fixture(autouse=True)
def _test_settings(settings: Any, ledger_key_dir: Path, tmp_path: Path) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.LEDGER_SIGNING_KEY_FILE = ledger_key_dir / "ledger-ed25519.pem"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "evidence": {
            "BACKEND": "fieldvisit.evidence.storage.EvidenceFileSystemStorage",
            "OPTIONS": {"location": tmp_path / "evidence", "base_url": None},
        },
    }
    settings.TUS_UPLOAD_DIR = tmp_path / "uploads"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    cache.clear()


def today() -> dt.date:
    return dt.datetime.now(ZONE).date()


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=ZONE)


@dataclass
class World:
    agent_a: User
    agent_b: User
    outsider: User
    outsider_partner: User
    planner: User
    supervisor: User
    legal: User
    auditor: User
    team: Team
    other_team: Team
    creditor: Creditor
    cases: list[Case]
    addresses: list[Address]
    route: Route
    clients: dict[str, APIClient] = field(default_factory=dict)

    def client(self, user: User, device: str = "phone-1") -> APIClient:
        """An API client signed in as ``user`` on ``device`` (one token per device)."""
        key = f"{user.username}/{device}"
        if key not in self.clients:
            token, _ = issue_token(user, device, f"{user.username}'s {device}", "android")
            api = APIClient()
            api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
            api.token = token  # type: ignore[attr-defined]
            self.clients[key] = api
        return self.clients[key]


def approve(route: Route, planner: User, supervisor: User) -> Route:
    """Submit the evening before and approve, as the procedure requires."""
    evening = at(route.date - dt.timedelta(days=1), 18)
    route_actions.submit_route(route.pk, planner, now=evening)
    return route_actions.decide_route(
        route.pk, supervisor, True, "ok", now=evening + dt.timedelta(minutes=5)
    )


@pytest.fixture
def world(db: Any) -> World:
    supervisor = factories.user("supervisor", Role.SUPERVISOR)
    team = Team.objects.create(
        name="Huangpu", supervisor=supervisor, risk_manager=supervisor, timezone="Asia/Shanghai"
    )
    other_team = Team.objects.create(name="Pudong", supervisor=None, timezone="Asia/Shanghai")
    agent_a = factories.agent("agent_a", team)
    agent_b = factories.agent("agent_b", team)
    outsider = factories.agent("outsider", other_team)
    outsider_partner = factories.agent("outsider_partner", other_team)
    planner = factories.user("planner", Role.PLANNER)
    legal = factories.user("legal", Role.LEGAL)
    auditor = factories.user("auditor", Role.AUDITOR)
    creditor = factories.creditor(name="Acme Finance", code="acme")
    cases = [factories.case(team, creditor) for _ in range(4)]
    addresses = [
        factories.address(c, lat=31.2304 + 0.002 * n, lon=121.4737) for n, c in enumerate(cases)
    ]
    route = factories.route(team, planner, today(), addresses[:3])
    approve(route, planner, supervisor)
    route.refresh_from_db()
    return World(
        agent_a=agent_a,
        agent_b=agent_b,
        outsider=outsider,
        outsider_partner=outsider_partner,
        planner=planner,
        supervisor=supervisor,
        legal=legal,
        auditor=auditor,
        team=team,
        other_team=other_team,
        creditor=creditor,
        cases=cases,
        addresses=addresses,
        route=route,
    )


@pytest.fixture
def anon() -> APIClient:
    return APIClient()
