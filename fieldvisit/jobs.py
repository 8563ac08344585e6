"""Background jobs as plain functions: the Celery tasks and the quick start's in-process
scheduler both call these, so the same code runs everywhere.

Each job is idempotent: run twice, or by two workers at once, it does its work once
(row locks on the route, and a unique constraint per missed due time as the backstop).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from fieldvisit.actions import alerts, uploads
from fieldvisit.choices import AlertKind, AlertLevel, AlertStatus, RouteStatus
from fieldvisit.evidence.storage import sweep_staging
from fieldvisit.geo import local_text
from fieldvisit.ledger import timestamps
from fieldvisit.ledger.checkpoints import make_checkpoint
from fieldvisit.models import Alert, Route
from fieldvisit.queries.timing import next_due_at, route_timing
from fieldvisit.rules.checkins import missed_checkin_level

logger = logging.getLogger(__name__)


def _watch_route(route_id: object, now: dt.datetime) -> int:
    """Raise or escalate this route's missed check-in alert; return how many steps were taken."""
    with transaction.atomic(durable=True):
        # NO KEY, as check-ins lock routes (see ``checkins.record_checkin``).
        route = Route.objects.select_for_update(no_key=True).select_related("team").get(pk=route_id)
        if route.status != RouteStatus.IN_PROGRESS:  # the last return completes the route
            return 0
        timing = route_timing(route)
        due = next_due_at(route, timing)
        if due is None:
            return 0
        level = missed_checkin_level(now, due, timing.grace, timing.escalation)
        if level is None:
            return 0
        steps = 0
        alert = Alert.objects.filter(route=route, kind=AlertKind.MISSED_CHECKIN, due_at=due).first()
        if alert is None:
            alert = alerts.raise_alert(
                kind=AlertKind.MISSED_CHECKIN,
                team=route.team,
                detail="No check-in from the team since "
                f"{local_text(due - timing.interval, route.team.timezone, '%H:%M %Z')}; "
                f"one was due at {local_text(due, route.team.timezone, '%H:%M %Z')}.",
                actor=alerts.SYSTEM,
                route=route,
                due_at=due,
            )
            steps += 1
        if (
            level == AlertLevel.RISK_MANAGER
            and alert.escalated_at is None
            and alert.status != AlertStatus.RESOLVED
        ):
            alerts.escalate(alert, now)
            steps += 1
        return steps


def watchdog(now: dt.datetime | None = None) -> int:
    """Check every route under way for an overdue check-in (run every minute)."""
    now = now or timezone.now()
    steps = 0
    for route_id in Route.objects.filter(status=RouteStatus.IN_PROGRESS).values_list(
        "pk", flat=True
    ):
        try:
            steps += _watch_route(route_id, now)
        except IntegrityError:
            # Another worker raised the same alert a moment earlier: nothing left to do.
            logger.info("missed check-in alert for route %s raised elsewhere", route_id)
    return steps


def checkpoint() -> int | None:
    """Sign the ledger's tree head (run every few minutes), then ask the time-stamp authority
    for its token (when one is configured); None when the ledger is empty."""
    signed = make_checkpoint()
    timestamp_checkpoints()
    return signed.tree_size if signed else None


def timestamp_checkpoints() -> dict[str, int]:
    """RFC 3161 tokens for checkpoints that have none yet (run every minute): the retry of
    an authority that was down or slow. Outside any transaction, each request with a short
    timeout; every attempt is recorded, so a gap shows until it is filled."""
    run = timestamps.stamp_pending()
    return {"stamped": run.stamped, "failed": run.failed, "pending": run.pending}


def expire_uploads() -> int:
    """tus expiration: end unfinished uploads past their time and free their bytes (hourly)."""
    return uploads.expire_uploads()


def sweep_evidence(older_than: dt.timedelta = dt.timedelta(hours=1)) -> dict[str, int]:
    """Finish evidence promotions a crash interrupted; drop staged bytes nobody cites, and
    the files of ended uploads a crash left in the upload directory."""
    done = sweep_staging(older_than)
    done["upload_leftovers"] = uploads.sweep_upload_dir(older_than)
    return done
