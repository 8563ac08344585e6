"""Migrations: none pending, named by hand, role groups as designed, reversible to zero."""

from __future__ import annotations

import importlib
import io
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader

BASE_DIR = Path(settings.BASE_DIR)
role_groups = importlib.import_module("fieldvisit.migrations.0003_role_groups")
GRANTS = [
    importlib.import_module("fieldvisit.migrations.0005_alert_permissions").GRANTS,
    importlib.import_module("fieldvisit.migrations.0007_evidence_permissions").GRANTS,
    importlib.import_module("fieldvisit.migrations.0009_report_permissions").GRANTS,
    {"auditor": ["view_evidenceaccess"]},  # 0010_evidence_access
    importlib.import_module("fieldvisit.migrations.0011_ledger_timestamps").GRANTS,
    importlib.import_module("fieldvisit.migrations.0012_case_import").GRANTS,
    importlib.import_module("fieldvisit.migrations.0020_oncall_permissions").GRANTS,
    importlib.import_module("fieldvisit.migrations.0029_photo_acceptance_permissions").GRANTS,
    importlib.import_module("fieldvisit.migrations.0031_conduct_incidents").GRANTS,
    importlib.import_module("fieldvisit.migrations.0033_qualifications_team_lead").GRANTS,
]


# Every role the migrations create: 0003's five, and those later grants made (0033: the
# team lead and the risk manager).
MIGRATED_ROLES = sorted(set(role_groups.ROLE_PERMISSIONS).union(*GRANTS))


def granted_by_migrations(role: str) -> set[str]:
    granted = set(role_groups.ROLE_PERMISSIONS.get(role, []))
    for grants in GRANTS:
        granted |= set(grants.get(role, []))
    return granted


@pytest.mark.parametrize("role", MIGRATED_ROLES)
def test_the_current_role_list_matches_the_migrations(role: str) -> None:
    from fieldvisit.roles import ROLE_PERMISSIONS

    assert set(ROLE_PERMISSIONS[role]) == granted_by_migrations(role)


@pytest.mark.django_db
def test_no_pending_migrations() -> None:
    out = io.StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit as exc:  # makemigrations --check exits 1 when something is pending
        pytest.fail(f"models and migrations disagree (exit {exc.code}):\n{out.getvalue()}")
    assert "No changes detected" in out.getvalue()


@pytest.mark.django_db
def test_migrations_are_named_by_hand() -> None:
    loader = MigrationLoader(connection, ignore_no_migrations=True)
    names = [name for app, name in loader.disk_migrations if app == "fieldvisit"]
    assert names
    assert not [name for name in names if "auto_" in name]


@pytest.mark.django_db
@pytest.mark.parametrize("role", MIGRATED_ROLES)
def test_role_groups_have_exactly_their_permissions(role: str) -> None:
    group = Group.objects.get(name=role)
    granted = set(group.permissions.values_list("content_type__app_label", "codename"))
    assert granted == {("fieldvisit", codename) for codename in granted_by_migrations(role)}


def test_nobody_may_delete_evidence_or_decide_their_own_plans() -> None:
    perms = role_groups.ROLE_PERMISSIONS
    for role, codenames in perms.items():
        for codename in codenames:
            if codename.startswith(("delete_", "change_", "add_")):
                model = codename.split("_", 1)[1]
                assert model not in {"ledgerentry", "checkpoint", "signingkey", "devicetoken"}, (
                    role,
                    codename,
                )
    # Maker-checker by role: planners do not decide, supervisors do not plan.
    assert "decide_route" not in perms["planner"]
    assert not {"add_route", "change_route"} & set(perms["supervisor"])
    assert perms["agent"] == []


# --- migrating to zero and back, on a scratch database --------------------------------------


@pytest.fixture
def scratch_database(tmp_path: Path) -> Iterator[str]:
    """A DATABASE_URL for an empty database of the engine the tests run on."""
    if connection.vendor == "sqlite":
        yield f"sqlite:///{tmp_path / 'scratch.sqlite3'}"
        return
    if connection.vendor != "postgresql":
        pytest.skip(f"no scratch database recipe for {connection.vendor}")
    import psycopg

    params = connection.get_connection_params()
    name = f"fv_migrations_{secrets.token_hex(4)}"
    admin_params = {k: v for k, v in params.items() if k in {"host", "port", "user", "password"}}
    with psycopg.connect(dbname="postgres", autocommit=True, **admin_params) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    user = params.get("user") or ""
    password = f":{params['password']}" if params.get("password") else ""
    host = params.get("host") or "127.0.0.1"
    port = params.get("port") or 5432
    try:
        yield f"postgres://{user}{password}@{host}:{port}/{name}"
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **admin_params) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


SCRIPT = """
import django
django.setup()
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from fieldvisit.db.append_only import guarded_models, installed_triggers

def state():
    applied = MigrationRecorder(connection).migration_qs.filter(app="fieldvisit").count()
    tables = set(connection.introspection.table_names())
    guarded = [m._meta.db_table for m in guarded_models()]
    triggers = sum(len(installed_triggers(connection, t)) for t in guarded if t in tables)
    groups = sorted(Group.objects.values_list("name", flat=True))
    print(applied, "fieldvisit_route" in tables, triggers, ",".join(groups))

call_command("migrate", interactive=False, verbosity=0)
state()
# Back before 0034, which has SQLite rebuild the ledger's tables, and forward again.
call_command("migrate", "fieldvisit", "0033", interactive=False, verbosity=0)
state()
call_command("migrate", interactive=False, verbosity=0)
call_command("migrate", "fieldvisit", "zero", interactive=False, verbosity=0)
state()
call_command("migrate", interactive=False, verbosity=0)
state()
"""


def test_migrate_to_zero_and_forward_again(scratch_database: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": scratch_database,
        "STATE_DIR": str(tmp_path / "state"),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    roles = ",".join(MIGRATED_ROLES)
    loader = MigrationLoader(None, ignore_no_migrations=True)
    migrations = len([1 for app, _ in loader.disk_migrations if app == "fieldvisit"])
    from fieldvisit.db.append_only import guarded_models

    triggers = sum(len(m.refused_statements) for m in guarded_models())
    # applied fieldvisit migrations, route table present, append-only triggers, groups
    assert done.stdout.splitlines() == [
        f"{migrations} True {triggers} {roles}",  # forward: every guarded table's triggers
        f"33 True {triggers} {roles}",  # back to 0033: the rebuilt ledger tables' triggers too
        "0 False 0 ",  # zero: tables, triggers and role groups gone
        f"{migrations} True {triggers} {roles}",  # forward again
    ]


def test_every_role_is_created_by_the_migrations() -> None:
    from fieldvisit.roles import ROLE_PERMISSIONS

    assert sorted(ROLE_PERMISSIONS) == MIGRATED_ROLES


# --- operations applied together (fieldvisit.db.together) -----------------------------------


def _field_definitions(state: Any) -> dict[tuple[str, str], Any]:
    """Every model's fields and options as rendered from ``state``: what a migration's
    database operations are given."""
    found = {}
    for model in state.apps.get_models():
        meta = model._meta
        fields = {f.name: f.deconstruct()[1:] for f in meta.get_fields(include_hidden=True)
                  if hasattr(f, "deconstruct")}  # fmt: skip
        options = (str(meta.verbose_name), str(meta.verbose_name_plural), meta.ordering)
        found[(meta.app_label, meta.model_name)] = (fields, options)
    return found


# transaction: SQLite's schema editor refuses to start inside the test's transaction.
@pytest.mark.django_db(transaction=True)
def test_operations_together_leave_the_state_each_one_alone_would() -> None:
    """0022's 376 relabelling operations, applied together, render the same models (fields,
    relations and names) as applied one after another, and in the database do nothing."""
    from fieldvisit.db.together import Together

    loader = MigrationLoader(None, ignore_no_migrations=True)
    migration = loader.disk_migrations[("fieldvisit", "0022_names_for_people")]
    (together,) = migration.operations
    assert isinstance(together, Together)
    before = loader.project_state(("fieldvisit", "0021_preferences"))
    # The reference: each operation's change to the model states, then all rendered afresh.
    one_by_one = before.clone()
    for operation in together.operations:
        operation.state_forwards("fieldvisit", one_by_one)
    # Together's: on models already rendered (as the executor has them), re-rendered once.
    at_once = before.clone()
    assert at_once.apps.get_models()
    together.state_forwards("fieldvisit", at_once)
    assert _field_definitions(at_once) == _field_definitions(one_by_one)
    assert _field_definitions(at_once) != _field_definitions(before)  # it did change names

    with connection.schema_editor(collect_sql=True) as editor:
        together.database_forwards("fieldvisit", editor, before, at_once)
        together.database_backwards("fieldvisit", editor, at_once, before)
    assert editor.collected_sql == []


def test_operations_together_must_each_change_something_different() -> None:
    from django.db import migrations, models

    from fieldvisit.db.together import Together

    label = migrations.AlterField("case", "number", models.CharField("number", max_length=40))
    with pytest.raises(ValueError, match="different"):
        Together(label, label)
    assert Together(label, migrations.AlterModelOptions("case", {})).operations
