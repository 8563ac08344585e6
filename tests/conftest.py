"""The fixtures every test can use: named actors, like healthchecks' ``BaseTestCase``.

Agent A and agent B form the Huangpu team; the outsider agent (and a partner) form another
team; the planner, supervisor, legal user and auditor work in admin and the legal API.

``clock`` pins the time to a Tuesday morning in Shanghai (``tests.helpers.START``), inside the
allowed visit hours, and keeps it ticking. A folder whose tests run visits makes it autouse in
its own conftest (the clock must be set before ``world`` is built); a single module asks for it
with ``pytestmark = pytest.mark.usefixtures("clock")``. Plain helpers live in tests/helpers.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache
from django.utils import translation
from django.utils.translation import trans_real
from rest_framework.test import APIClient

from fieldvisit.choices import Role
from fieldvisit.models import Team, Visit
from tests import factories
from tests.helpers import START, World, approve, arrive_pair, stops_of, today

# The RFC 3161 time-stamp authorities' fixtures (``authority``, ``second_authority``, ``tsa``).
pytest_plugins = ["tests.tsa"]

# The tests read English unless they ask for another language (Accept-Language, a profile,
# ``translation.override``): a deployment's default is Simplified Chinese (config/settings.py).
settings.LANGUAGE_CODE = "en"
# ... and forget a default language read before this line (django.setup() may translate).
trans_real._default = None


@pytest.fixture(autouse=True)
def _no_language_left_active() -> Any:
    """A request activates its language in the thread that serves it (LocaleMiddleware), and
    the test client serves in the test's own thread: each test starts with none active."""
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(scope="session", autouse=True)
def _quick_flush() -> Any:
    """Transactional tests empty every table between tests (Django's flush), each engine its
    own way, changed here for tests only:

    - SQLite flushes with DELETE, which the append-only triggers refuse: the flush lifts those
      triggers and puts them back.
    - PostgreSQL flushes with TRUNCATE, which makes new files for every table: 0.15-0.3 s for
      the 60 tables, after each of about 570 transactional tests. DELETE with every trigger
      off for the flush's transaction (``session_replication_role``: the foreign keys' and the
      append-only ones) empties them in 4-14 ms. It needs a superuser, as CI connects; as
      another role, the flush is Django's.
    """
    from django.db import connection

    if connection.vendor == "postgresql":
        from django.db.backends.postgresql.operations import DatabaseOperations as PostgreSQL

        original_pg = PostgreSQL.sql_flush
        superuser: dict[str, bool] = {}

        def is_superuser(ops: Any) -> bool:
            alias = ops.connection.alias
            if alias not in superuser:
                with ops.connection.cursor() as cursor:
                    cursor.execute("SHOW is_superuser")
                    superuser[alias] = cursor.fetchone()[0] == "on"
            return superuser[alias]

        def sql_flush_pg(self: Any, style: Any, tables: Any, **kwargs: Any) -> list[str]:
            if not tables or kwargs.get("reset_sequences") or not is_superuser(self):
                return original_pg(self, style, tables, **kwargs)
            deletes = [f"DELETE FROM {self.quote_name(table)};" for table in tables]
            return ["SET LOCAL session_replication_role = replica;", *deletes]

        PostgreSQL.sql_flush = sql_flush_pg
        yield
        PostgreSQL.sql_flush = original_pg
        return
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
    # Alerts are sent in the thread that raised them, after commit (no pool outliving a test).
    settings.ALERT_DISPATCH = "inline"
    cache.clear()


@pytest.fixture
def world(db: Any) -> World:
    supervisor = factories.user("supervisor", Role.SUPERVISOR)
    lead = factories.user("team_lead", Role.TEAM_LEAD)
    team = Team.objects.create(
        name="Huangpu",
        supervisor=supervisor,
        risk_manager=supervisor,
        lead=lead,
        timezone="Asia/Shanghai",
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
    duty = factories.user("duty_manager", Role.SUPERVISOR, first_name="Min", last_name="Duty")
    factories.oncall(team, supervisor, duty)
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
        duty=duty,
        lead=lead,
        risk=factories.user("risk_officer", Role.RISK_MANAGER),
    )


@pytest.fixture
def anon() -> APIClient:
    return APIClient()


@pytest.fixture
def clock() -> Any:
    with time_machine.travel(START, tick=True) as traveller:
        yield traveller


@pytest.fixture
def visit(world: World) -> Visit:
    """The first stop's visit, opened by agents A and B arriving together."""
    stop = stops_of(world.route)[0]
    arrive_pair(world, stop)
    return Visit.objects.select_related("stop__route", "stop__address").get(stop=stop)


@pytest.fixture
def agent(world: World) -> APIClient:
    """Agent A's phone, which arrived at the visit."""
    return world.client(world.agent_a, "phone-a")


@pytest.fixture
def phone_a(world: World) -> APIClient:
    """Agent A's phone ("phone-a")."""
    return world.client(world.agent_a, "phone-a")


@pytest.fixture
def phone_b(world: World) -> APIClient:
    """Agent B's phone ("phone-b")."""
    return world.client(world.agent_b, "phone-b")
