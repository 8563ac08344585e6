"""A real Celery worker, over Redis, runs the jobs against the same PostgreSQL database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection, transaction

from config.celery import app
from fieldvisit import tasks
from fieldvisit.ledger import store
from fieldvisit.models import Checkpoint

REDIS = ("127.0.0.1", 6379)


def redis_reachable() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=0.5):
            return True
    except OSError:
        return False


@pytest.mark.django_db(transaction=True)
def test_a_worker_runs_the_checkpoint_job(tmp_path: Path) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the worker needs a database it can share (set DATABASE_URL to PostgreSQL)")
    if not redis_reachable():
        pytest.skip("no Redis on 127.0.0.1:6379")
    with transaction.atomic():
        for n in range(3):
            store.append("test.event", {"type": "system", "name": "test"}, f"test:{n}", {})
    broker = "redis://127.0.0.1:6379/15"
    queue = f"test-{os.getpid()}"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": broker,
        "LEDGER_SIGNING_KEY_FILE": str(settings.LEDGER_SIGNING_KEY_FILE),
        "STATE_DIR": str(tmp_path),
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo",
         "--concurrency=1", "-Q", queue, "--without-gossip", "--without-mingle",
         "--loglevel=WARNING"],
        cwd=settings.BASE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    saved: dict[str, Any] = {k: app.conf[k] for k in ("broker_url", "task_always_eager")}
    try:
        app.conf.update(broker_url=broker, task_always_eager=False)
        tasks.checkpoint.apply_async(queue=queue)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not Checkpoint.objects.exists():
            time.sleep(0.25)
        assert Checkpoint.objects.filter(tree_size=3).exists(), "the worker signed nothing"
    finally:
        app.conf.update(**saved)
        worker.terminate()
        output = worker.communicate(timeout=30)[0].decode(errors="replace")
    assert "Traceback" not in output, output
