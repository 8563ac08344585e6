"""Celery tasks: thin wrappers around ``fieldvisit.jobs``."""

from __future__ import annotations

from celery import shared_task

from fieldvisit import jobs


@shared_task(name="fieldvisit.watchdog", ignore_result=True)
def watchdog() -> int:
    return jobs.watchdog()


@shared_task(name="fieldvisit.checkpoint", ignore_result=True)
def checkpoint() -> int | None:
    return jobs.checkpoint()
