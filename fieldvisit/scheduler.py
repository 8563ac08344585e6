"""The quick start's job runner: APScheduler in the server process, no broker needed.

It runs the same job functions on the same schedule as Celery beat does in production. Each
run is one log line named after its job (``job watchdog: 2 in 14 ms``): at INFO when the job
did something, at DEBUG when it had nothing to do, with the traceback when it failed.
APScheduler's own two lines per run ("Running job ...", "... executed successfully") are
turned down to warnings.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from django.conf import settings
from django.db import close_old_connections

from fieldvisit import jobs

logger = logging.getLogger(__name__)


def run_job(name: str, job: Callable[[], Any]) -> None:
    """Run one job, in a clean database connection, and say in one line how it went."""
    close_old_connections()
    started = time.monotonic()
    try:
        result = job()
    except Exception:
        logger.exception("job %s failed", name)
        return
    finally:
        close_old_connections()
    # Counts by kind ({"stamped": 0, ...}) did something only when one is not zero.
    did = any(result.values()) if isinstance(result, dict) else bool(result)
    level = logging.INFO if did else logging.DEBUG
    ms = (time.monotonic() - started) * 1000
    logger.log(level, "job %s: %s in %.0f ms", name, result, ms)


def start() -> Any:
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    scheduler = BackgroundScheduler(daemon=True)
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        scheduler.add_job(
            run_job, "interval", seconds=entry["schedule"], args=[name, getattr(jobs, name)],
            id=name, name=name, coalesce=True, max_instances=1,
        )  # fmt: skip
    scheduler.start()
    return scheduler
