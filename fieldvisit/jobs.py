"""Background jobs as plain functions: the Celery tasks and the quick start's in-process
scheduler both call these, so the same code runs everywhere.

Each job is idempotent: run twice, or by two workers at once, it does its work once
(row locks on the route, and a unique constraint per agent and missed due time as the
backstop).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import Max, Min, QuerySet
from django.utils import timezone

from fieldvisit.actions import alerts, deliveries, uploads
from fieldvisit.choices import AlertKind, AlertStatus, CheckInKind, RouteStatus, VisitStatus
from fieldvisit.compliance import judge
from fieldvisit.evidence.storage import sweep_staging
from fieldvisit.geo import local_text, local_today
from fieldvisit.ledger import timestamps, witnessing
from fieldvisit.ledger.checkpoints import make_checkpoint
from fieldvisit.models import AgentClock, AgentProfile, Alert, CheckIn, Creditor, Route, Team, Visit
from fieldvisit.queries.visits import visit_records
from fieldvisit.rules.checkins import DEPART_TOGETHER, check_departed_together, silence_level
from fieldvisit.rules.day_close import LATEST, VisitClose, close_deadline, day_close_problems
from fieldvisit.rules.qualifications import expiring, paper_name
from fieldvisit.texts import _, format_lazy
from fieldvisit.words import person_name

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
    """Raise the silence alert of one agent's clock; return 1 when raised. The alert then
    goes along the team's on-call chain every escalation delay until acknowledged."""
    with transaction.atomic(durable=True):
        clock, route = _locked(clock_id)
        if route.status != RouteStatus.IN_PROGRESS or clock.alert_at is None:
            return 0
        if silence_level(now, clock.alert_at, clock.escalate_at) == 0 or clock.alerted:
            return 0
        clock.alerted = 1
        clock.save(update_fields=["alerted"])
        if Alert.objects.filter(
            route=route, agent=clock.agent, kind=AlertKind.AGENT_SILENT, due_at=clock.next_due_at
        ).exists():
            return 0
        zone = route.team.timezone
        alerts.raise_alert(
            kind=AlertKind.AGENT_SILENT,
            team=route.team,
            detail=format_lazy(
                _("{agent} has not reported since {last}; a check-in was due at {due}."),
                agent=person_name(clock.agent),
                last=local_text(clock.last_report_at, zone, "%H:%M %Z"),
                due=local_text(clock.next_due_at, zone, "%H:%M %Z"),
            ),
            actor=alerts.SYSTEM,
            route=route,
            agent=clock.agent,
            due_at=clock.next_due_at,
        )
        return 1


def silent_clocks(now: dt.datetime) -> QuerySet[AgentClock]:
    """The clocks the watchdog has work on: past their alert time and not yet alerted (one
    query over an indexed column). Escalation is the alert's (``escalate_alerts``)."""
    return AgentClock.objects.filter(
        alert_at__lt=now, alerted__lt=1, route__status=RouteStatus.IN_PROGRESS
    )


def _watch_phone(clock_id: object, now: dt.datetime) -> int:
    """A phone that stopped sending its heartbeat while its agent is out: ``phone_silent``
    (a warning), once per silence."""
    with transaction.atomic(durable=True):
        clock, route = _locked(clock_id)
        if (
            route.status != RouteStatus.IN_PROGRESS
            or clock.returned_at is not None
            or clock.phone_alerted
            or clock.phone_silent_at is None
            or clock.phone_silent_at >= now
        ):
            return 0
        clock.phone_alerted = True
        clock.save(update_fields=["phone_alerted"])
        zone = route.team.timezone
        alerts.raise_alert(
            kind=AlertKind.PHONE_SILENT,
            team=route.team,
            detail=format_lazy(
                _(
                    "The phone of {agent} has sent no heartbeat since {last} "
                    "(battery {battery} %): switched off, broken or out of coverage."
                ),
                agent=person_name(clock.agent),
                last=local_text(clock.heartbeat_at, zone, "%H:%M %Z"),
                battery=clock.battery if clock.battery is not None else "?",
            ),
            actor=alerts.SYSTEM,
            route=route,
            agent=clock.agent,
        )
        return 1


def silent_phones(now: dt.datetime) -> QuerySet[AgentClock]:
    return AgentClock.objects.filter(
        phone_silent_at__lt=now,
        phone_alerted=False,
        returned_at__isnull=True,
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
            detail=format_lazy(
                _("{agent} departed at {at} alone: {detail}"),
                agent=person_name(clock.agent),
                at=local_text(clock.departed_at, zone, "%H:%M %Z"),
                detail=verdict.detail,
            ),
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
    """Raise an alert for every agent whose report is overdue, and a warning for every phone
    whose heartbeat stopped (run every minute). Each agent reports on their own clock
    (``AgentClock``)."""
    now = now or timezone.now()
    steps = 0
    for clock_id in silent_clocks(now).values_list("pk", flat=True):
        try:
            steps += _watch_clock(clock_id, now)
        except IntegrityError:
            # Another worker raised the same alert a moment earlier: nothing left to do.
            logger.info("silence alert for clock %s raised elsewhere", clock_id)
    for clock_id in silent_phones(now).values_list("pk", flat=True):
        steps += _watch_phone(clock_id, now)
    return steps


def _escalate(alert_id: object, now: dt.datetime) -> int:
    with transaction.atomic(durable=True):
        alert = (
            Alert.objects.select_for_update(of=("self",)).select_related("team").get(pk=alert_id)
        )
        if alert.status != AlertStatus.OPEN or alert.next_step_at is None:
            return 0
        if alert.next_step_at > now:
            return 0
        deliveries.step_up(alert, now)
        return 1


def escalate_alerts(now: dt.datetime | None = None) -> int:
    """Tell the next person on the chain of every alert nobody acknowledged in time (run
    every few seconds; one indexed query when there is nothing to do). Each alert is locked
    and read again, so two runners never move it two steps."""
    now = now or timezone.now()
    due = Alert.objects.filter(next_step_at__lte=now, status=AlertStatus.OPEN)
    return sum(_escalate(alert_id, now) for alert_id in due.values_list("pk", flat=True))


def deliver_alert(alert_id: str) -> int:
    """Send one alert's due notices now (the Celery task ``deliveries.dispatch`` sends)."""
    return deliveries.deliver_due(alert_id=uuid.UUID(alert_id))


def deliver_alerts(now: dt.datetime | None = None) -> int:
    """Send every notice that is due: new ones a crash kept from being sent at once, and
    retries (run every few seconds)."""
    return deliveries.deliver_due(now)


def lone_departs(now: dt.datetime | None = None) -> int:
    """Raise ``lone_depart`` for every depart no partner matched within ten minutes (run
    every minute); each depart is judged once."""
    now = now or timezone.now()
    return sum(
        _check_depart(clock_id, now)
        for clock_id in unmatched_departs(now).values_list("pk", flat=True)
    )


def _day_close_deadline(route: Route) -> dt.datetime | None:
    """When the route's day must be closed (``rules.day_close``); None before anyone left."""
    last_leave = CheckIn.objects.filter(route=route, kind=CheckInKind.LEAVE).aggregate(
        last=Max("captured_at")
    )["last"]
    if last_leave is None:
        return None
    after = Creditor.objects.filter(cases__stops__route=route).aggregate(
        after=Min("day_close_after_min")
    )["after"]
    return close_deadline(
        last_leave, dt.timedelta(minutes=after or 120), route.team.timezone, route.date
    )


def _close_day(route_id: object, now: dt.datetime) -> int:
    """Judge one route's day once its deadline has passed: alert when a visit lacks its
    co-signed report or its recording, or an agent has not returned."""
    with transaction.atomic(durable=True):
        route = Route.objects.select_for_update(no_key=True).select_related("team").get(pk=route_id)
        deadline = _day_close_deadline(route)
        if route.day_close_checked_at is not None or deadline is None or now < deadline:
            return 0
        away = route.clocks.filter(departed_at__isnull=False, returned_at__isnull=True)
        latest = dt.datetime.combine(route.date, LATEST, tzinfo=ZoneInfo(route.team.timezone))
        if away.exists() and now < latest:
            # The team is still out (a long pause between stops): more visits may come.
            return 0
        route.day_close_checked_at = now
        route.save(update_fields=["day_close_checked_at", "updated_at"])
        visits = []
        begun = Visit.objects.filter(stop__route=route).exclude(status=VisitStatus.PLANNED)
        for visit in begun.select_related("stop"):
            checks = judge(visit_records(visit)).checks
            visits.append(
                VisitClose(
                    visit.stop.sequence, checks["report_cosigned"].ok, checks["recording"].ok
                )
            )
        problems = day_close_problems(visits, [person_name(c.agent) for c in away])
        if not problems:
            return 0
        alerts.raise_alert(
            kind=AlertKind.DAY_NOT_CLOSED,
            team=route.team,
            detail=format_lazy(
                _("The day of route {date} was not closed by {deadline}: {problems}."),
                date=route.date,
                deadline=local_text(deadline, route.team.timezone, "%H:%M %Z"),
                problems=format_lazy("; ".join(["{}"] * len(problems)), *problems),
            ),
            actor=alerts.SYSTEM,
            route=route,
        )
        return 1


def day_close(now: dt.datetime | None = None) -> int:
    """Judge the close of every recent field day whose deadline has passed (run every few
    minutes); each route's day is judged once."""
    now = now or timezone.now()
    recent = Route.objects.filter(
        # Approved too: a team may visit without reporting its depart; the leaves decide.
        status__in=[RouteStatus.APPROVED, RouteStatus.IN_PROGRESS, RouteStatus.COMPLETED],
        day_close_checked_at__isnull=True,
        date__gte=(now - dt.timedelta(days=2)).date(),
    )
    return sum(_close_day(route_id, now) for route_id in recent.values_list("pk", flat=True))


# Names the warning of one paper's expiry: raised once, however often the job runs.
PAPERS_WARNING = uuid.UUID("5d1c1c5e-4b0e-4f57-9a57-0a6e2d0c3a11")


def _warn_papers(agent_id: int, now: dt.datetime) -> int:
    """Warn the team (its on-call chain, low severity) of each of the agent's papers that
    runs out within 30 days with no renewal on file, once per paper and expiry date."""
    with transaction.atomic(durable=True):
        agent = (
            AgentProfile.objects.select_related("user", "team", "agency")
            .prefetch_related("documents", "agency__agreements")
            .get(pk=agent_id)
        )
        team = Team.objects.select_for_update().get(pk=agent.team_id)
        raised = 0
        for kind, until in expiring(agent.papers(), local_today(team.timezone, now)):
            alert_id = uuid.uuid5(PAPERS_WARNING, f"{agent.pk}:{kind}:{until.isoformat()}")
            if Alert.objects.filter(pk=alert_id).exists():
                continue
            alerts.raise_alert(
                kind=AlertKind.QUALIFICATION_EXPIRING,
                team=team,
                detail=format_lazy(
                    _(
                        "{agent} ({badge}): {paper} is in force until {until}; record its "
                        "renewal, or the agent is kept off routes after that day."
                    ),
                    agent=person_name(agent.user),
                    badge=agent.badge_number,
                    paper=paper_name(kind),
                    until=until.isoformat(),
                ),
                actor=alerts.SYSTEM,
                alert_id=alert_id,
            )
            raised += 1
        return raised


def expiring_papers(now: dt.datetime | None = None) -> int:
    """Warn, 30 days ahead, of every active agent's paper about to run out (run daily or
    more often: each paper's expiry is warned of once)."""
    now = now or timezone.now()
    agents = AgentProfile.objects.filter(active=True, team__isnull=False, team__active=True)
    return sum(_warn_papers(agent_id, now) for agent_id in agents.values_list("pk", flat=True))


def checkpoint() -> int | None:
    """Sign the ledger's tree head (run every few minutes), then ask the configured witnesses
    to cosign it (each must see every checkpoint in order: none cosigns an older one after a
    newer) and the time-stamp authorities for their tokens; None when the ledger is empty."""
    signed = make_checkpoint()
    if signed is not None:
        witnessing.witness_checkpoint(signed)
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
