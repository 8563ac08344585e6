"""Celery tasks: thin wrappers around ``fieldvisit.jobs``."""

from __future__ import annotations

from celery import shared_task

from fieldvisit import jobs


@shared_task(name="fieldvisit.watchdog", ignore_result=True)
def watchdog() -> int:
    return jobs.watchdog()


@shared_task(name="fieldvisit.lone_departs", ignore_result=True)
def lone_departs() -> int:
    return jobs.lone_departs()


@shared_task(name="fieldvisit.day_close", ignore_result=True)
def day_close() -> int:
    return jobs.day_close()


@shared_task(name="fieldvisit.expiring_papers", ignore_result=True)
def expiring_papers() -> int:
    return jobs.expiring_papers()


@shared_task(name="fieldvisit.escalate_alerts", ignore_result=True)
def escalate_alerts() -> int:
    return jobs.escalate_alerts()


@shared_task(name="fieldvisit.deliver_alerts", ignore_result=True)
def deliver_alerts() -> int:
    return jobs.deliver_alerts()


@shared_task(name="fieldvisit.deliver_alert", ignore_result=True)
def deliver_alert(alert_id: str) -> int:
    """An alert's notices, right after it was raised or escalated (``deliveries.dispatch``)."""
    return jobs.deliver_alert(alert_id)


@shared_task(name="fieldvisit.checkpoint", ignore_result=True)
def checkpoint() -> int | None:
    return jobs.checkpoint()


@shared_task(name="fieldvisit.expire_uploads", ignore_result=True)
def expire_uploads() -> int:
    return jobs.expire_uploads()


@shared_task(name="fieldvisit.sweep_evidence", ignore_result=True)
def sweep_evidence() -> dict[str, int]:
    return jobs.sweep_evidence()


@shared_task(name="fieldvisit.timestamp_checkpoints", ignore_result=True)
def timestamp_checkpoints() -> dict[str, int]:
    return jobs.timestamp_checkpoints()
