"""The quick start's in-process job runner logs one line per run, named after its job: INFO
when the job did something, DEBUG when it had nothing to do, the traceback when it failed;
APScheduler's own per-run lines are turned down."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.conf import settings

from fieldvisit import jobs, scheduler

pytestmark = pytest.mark.django_db  # each run closes stale connections, as in the server


def test_one_line_per_run_named_after_its_job(caplog: Any) -> None:
    with caplog.at_level(logging.DEBUG, logger="fieldvisit.scheduler"):
        scheduler.run_job("watchdog", lambda: 2)
        scheduler.run_job("checkpoint", lambda: None)
        scheduler.run_job("timestamp_checkpoints", lambda: {"stamped": 0, "failed": 0})
    lines = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert len(lines) == 3
    assert lines[2][0] == logging.DEBUG  # counts that are all zero: nothing done
    assert lines[0][0] == logging.INFO and lines[0][1].startswith("job watchdog: 2 in ")
    assert lines[1][0] == logging.DEBUG and lines[1][1].startswith("job checkpoint: None in ")


def test_a_failing_job_is_logged_with_its_name_and_traceback(caplog: Any) -> None:
    def broken() -> None:
        raise RuntimeError("disk full")

    with caplog.at_level(logging.INFO, logger="fieldvisit.scheduler"):
        scheduler.run_job("sweep_evidence", broken)
    [record] = caplog.records
    assert record.levelno == logging.ERROR and record.getMessage() == "job sweep_evidence failed"
    assert record.exc_info and "disk full" in str(record.exc_info[1])


def test_every_scheduled_job_is_named_and_apscheduler_is_quiet() -> None:
    running = scheduler.start()
    try:
        names = {job.id: job.name for job in running.get_jobs()}
        assert names == {name: name for name in settings.CELERY_BEAT_SCHEDULE}
        assert all(callable(getattr(jobs, name)) for name in names)
        assert logging.getLogger("apscheduler").getEffectiveLevel() == logging.WARNING
    finally:
        running.shutdown(wait=False)
