"""The quick start's job runner: APScheduler in the server process, no broker needed.

It runs the same job functions on the same schedule as Celery beat does in production.
"""

from __future__ import annotations

import logging
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from django.conf import settings
from django.db import close_old_connections

from fieldvisit import jobs

logger = logging.getLogger(__name__)


def _run(job: Any) -> None:
    close_old_connections()
    try:
        job()
    except Exception:
        logger.exception("background job %s failed", job.__name__)
    finally:
        close_old_connections()


def start() -> Any:
    scheduler = BackgroundScheduler(daemon=True)
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        job = getattr(jobs, name)
        scheduler.add_job(
            _run, "interval", seconds=entry["schedule"], args=[job], id=name, coalesce=True,
            max_instances=1,
        )  # fmt: skip
    scheduler.start()
    return scheduler
