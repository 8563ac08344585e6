"""Background jobs as plain functions: the Celery tasks and the quick start's in-process
scheduler both call these, so the same code runs everywhere.

Each job is idempotent: run twice, or by two workers at once, it does its work once
(row locks on the route, and a unique constraint per agent and missed due time as the
backstop).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from fieldvisit.actions import alerts, uploads
from fieldvisit.choices import AlertKind, AlertStatus, RouteStatus
from fieldvisit.evidence.storage import sweep_staging
from fieldvisit.geo import local_text
from fieldvisit.ledger import timestamps
from fieldvisit.ledger.checkpoints import make_checkpoint
from fieldvisit.models import AgentClock, Alert, Route
from fieldvisit.rules.checkins import DEPART_TOGETHER, check_departed_together, silence_level

logger = logging.getLogger(__name__)


def _locked(clock_id: object) -> tuple[AgentClock, Route]:
    """An agent's clock, read again under its route's lock (inside the caller's transaction).

    The lock is NO KEY, as check-ins take it (``checkins.record_checkin``): a report being
    recorded now moves the clock before or after the caller's work, never during it."""
    clock = AgentClock.objects.select_related("agent").get(pk=clock_id)
    route = (
        Route.objects.select_for_update(no_key=True).select_related("team").get(pk=clock.route_id)
    )
    clock.refresh_from_db()
    return clock, route


def _watch_clock(clock_id: object, now: dt.datetime) -> int:
    """Raise or escalate the silence alert of one agent's clock; return the steps taken."""
    with transaction.atomic(durable=True):
        clock, route = _locked(clock_id)
        if route.status != RouteStatus.IN_PROGRESS or clock.alert_at is None:
            return 0
        level = silence_level(now, clock.alert_at, clock.escalate_at)
        if level <= clock.alerted:
            return 0
        steps = 0
        alert = Alert.objects.filter(
            route=route, agent=clock.agent, kind=AlertKind.AGENT_SILENT, due_at=clock.next_due_at
        ).first()
        if alert is None:
            zone = route.team.timezone
            alert = alerts.raise_alert(
                kind=AlertKind.AGENT_SILENT,
                team=route.team,
                detail=f"{alerts.person(clock.agent)} has not reported since "
                f"{local_text(clock.last_report_at, zone, '%H:%M %Z')}; a check-in was due at "
                f"{local_text(clock.next_due_at, zone, '%H:%M %Z')}.",
                actor=alerts.SYSTEM,
                route=route,
                agent=clock.agent,
                due_at=clock.next_due_at,
            )
            steps += 1
        if level == 2 and alert.escalated_at is None and alert.status != AlertStatus.RESOLVED:
            alerts.escalate(alert, now)
            steps += 1
        clock.alerted = level
        clock.save(update_fields=["alerted"])
        return steps


def silent_clocks(now: dt.datetime) -> QuerySet[AgentClock]:
    """The clocks the watchdog has work on: past their alert time and not yet alerted, or
    past their escalation time and not yet escalated (one query over two indexed columns)."""
    return AgentClock.objects.filter(
        Q(alert_at__lt=now, alerted__lt=1) | Q(escalate_at__lt=now, alerted__lt=2),
        route__status=RouteStatus.IN_PROGRESS,
    )


def _check_depart(clock_id: object, now: dt.datetime) -> int:
    """Did the partner match this agent's depart? If not, ``lone_depart`` (once)."""
    with transaction.atomic(durable=True):
        clock, route = _locked(clock_id)
        if clock.depart_checked or clock.departed_at is None:
            return 0
        partners = (
            AgentClock.objects.filter(route=route, departed_at__isnull=False)
            .exclude(pk=clock.pk)
            .values_list("departed_at", flat=True)
        )
        verdict = check_departed_together(clock.departed_at, list(partners))
        clock.depart_checked = True
        clock.save(update_fields=["depart_checked"])
        if verdict.ok:
            return 0
        zone = route.team.timezone
        alerts.raise_alert(
            kind=AlertKind.LONE_DEPART,
            team=route.team,
            detail=f"{alerts.person(clock.agent)} departed at "
            f"{local_text(clock.departed_at, zone, '%H:%M %Z')} alone: {verdict.detail}",
            actor=alerts.SYSTEM,
            route=route,
            agent=clock.agent,
        )
        return 1


def unmatched_departs(now: dt.datetime) -> QuerySet[AgentClock]:
    """Departs old enough to judge and not judged yet."""
    return AgentClock.objects.filter(
        depart_checked=False,
        departed_at__lte=now - DEPART_TOGETHER,
        route__status=RouteStatus.IN_PROGRESS,
    )


def watchdog(now: dt.datetime | None = None) -> int:
    """Raise an alert for every agent whose report is overdue, and escalate the ones still
    silent (run every minute). Each agent reports on their own clock (``AgentClock``)."""
    now = now or timezone.now()
    steps = 0
    for clock_id in silent_clocks(now).values_list("pk", flat=True):
        try:
            steps += _watch_clock(clock_id, now)
        except IntegrityError:
            # Another worker raised the same alert a moment earlier: nothing left to do.
            logger.info("silence alert for clock %s raised elsewhere", clock_id)
    return steps


def lone_departs(now: dt.datetime | None = None) -> int:
    """Raise ``lone_depart`` for every depart no partner matched within ten minutes (run
    every minute); each depart is judged once."""
    now = now or timezone.now()
    return sum(
        _check_depart(clock_id, now)
        for clock_id in unmatched_departs(now).values_list("pk", flat=True)
    )


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
