"""Sending the notices of alerts, each attempt recorded with its outcome and ledgered.

The notices are stored with the alert step that made them (``actions.notices.tell``), so no
alarm is lost if the process dies: ``deliver_due`` (a job every few seconds) sends whatever is
due. Right after the alert's transaction commits, ``dispatch`` sends its notices without
waiting for the job: on a Celery worker when there is a broker, else on a small pool of
threads in the server process.

Each attempt runs outside any transaction (a channel may take its whole timeout), on a notice
claimed for the time it may take, then is recorded in one transaction with its ledger entry:
delivered, retried later with backoff (``rules.alerting.next_try``) or failed. When every
notice of the alert's current step failed, nobody was reached: the alert is marked
``undelivered`` (the alerts page shows it, with a sound) and, if it escalates, the next
person on the chain is told at once.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import close_old_connections, transaction
from django.db.models import Q
from django.utils import timezone

from fieldvisit.actions import notices
from fieldvisit.channels import Outcome
from fieldvisit.channels import registry as channels
from fieldvisit.choices import AlertStatus, NoticeState
from fieldvisit.languages import speaking_to
from fieldvisit.ledger import store as ledger
from fieldvisit.models import Alert, AlertNotice, DeliveryAttempt
from fieldvisit.queries.timing import route_timing
from fieldvisit.rules.alerting import escalates, next_try, step_every
from fieldvisit.texts import _
from fieldvisit.words import person_name

logger = logging.getLogger(__name__)

SYSTEM = ledger.actor_for(system="fieldvisit")
# How long a sender holds a notice: longer than any channel's timeout.
CLAIM = dt.timedelta(seconds=60)

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def dispatch(alert_id: uuid.UUID) -> None:
    """Send an alert's due notices now (called after its transaction commits), as
    ``ALERT_DISPATCH`` says: ``celery`` (a worker), ``thread`` (the server's pool),
    ``inline`` (this thread; tests) or ``job`` (leave it to ``deliver_due``)."""
    mode = settings.ALERT_DISPATCH
    if mode == "celery":
        from celery import current_app

        current_app.send_task("fieldvisit.deliver_alert", args=[str(alert_id)])
    elif mode == "thread":
        _thread_pool().submit(_deliver_in_thread, alert_id)
    elif mode == "inline":
        deliver_due(alert_id=alert_id)


def _thread_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="alert-delivery")
        return _pool


def _deliver_in_thread(alert_id: uuid.UUID) -> None:
    close_old_connections()
    try:
        deliver_due(alert_id=alert_id)
    except Exception:
        logger.exception("delivering the notices of alert %s failed; the job will retry", alert_id)
    finally:
        close_old_connections()


def due_notices(now: dt.datetime, alert_id: uuid.UUID | None = None) -> Any:
    """Pending notices whose time has come and that no sender holds (one indexed query)."""
    due = AlertNotice.objects.filter(state=NoticeState.PENDING, next_try_at__lte=now).filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    )
    return due.filter(alert_id=alert_id) if alert_id else due


def deliver_due(now: dt.datetime | None = None, alert_id: uuid.UUID | None = None) -> int:
    """Try every due notice once (of one alert, or all); the number of attempts made."""
    now = now or timezone.now()
    ids = list(due_notices(now, alert_id).order_by("created_at").values_list("pk", flat=True))
    return sum(_attempt(notice_id, now) for notice_id in ids)


def _claim(notice_id: uuid.UUID, now: dt.datetime) -> bool:
    """Take the notice for this sender; False when another sender holds it or it is done."""
    return bool(due_notices(now).filter(pk=notice_id).update(claimed_until=now + CLAIM))


def _attempt(notice_id: uuid.UUID, now: dt.datetime) -> int:
    if not _claim(notice_id, now):
        return 0
    notice = AlertNotice.objects.select_related(
        "alert__team", "alert__raised_by", "alert__agent", "recipient"
    ).get(pk=notice_id)
    if notice.alert.status != AlertStatus.OPEN:
        _record(notice_id, None, 0, timezone.now())
        return 0
    channel = channels.configured().get(notice.channel)
    started = time.monotonic()
    if channel is None:
        outcome = Outcome(ok=False, detail="channel no longer configured", retryable=False)
    else:
        # In its recipient's language, the message and what the channel adds to it.
        with speaking_to(notice.recipient):
            outcome = channel.send(
                notices.message_for(notice), notices.recipient_of(notice.recipient)
            )
    took_ms = round((time.monotonic() - started) * 1000)
    _record(notice_id, outcome, took_ms, timezone.now())
    return 1


def _record(notice_id: uuid.UUID, outcome: Outcome | None, took_ms: int, now: dt.datetime) -> None:
    """The attempt's outcome, in one transaction with its ledger entry (``None``: the alert
    was acknowledged meanwhile, the notice is cancelled without sending)."""
    with transaction.atomic(durable=True):
        # Lock order as escalation and acknowledgement take it: the alert, then its notices.
        alert_id = AlertNotice.objects.values_list("alert_id", flat=True).get(pk=notice_id)
        alert = (
            Alert.objects.select_for_update(of=("self",)).select_related("team").get(pk=alert_id)
        )
        notice = (
            AlertNotice.objects.select_for_update(of=("self",))
            .select_related("recipient")
            .get(pk=notice_id)
        )
        notice.claimed_until = None
        if outcome is None:
            if notice.state == NoticeState.PENDING:
                notice.state, notice.next_try_at = NoticeState.CANCELLED, None
            notice.save(update_fields=["state", "next_try_at", "claimed_until"])
            return
        # An attempt was made: it is recorded whatever happened meanwhile (an acknowledgement
        # that cancelled the notice while it was being sent leaves the notice cancelled).
        pending = notice.state == NoticeState.PENDING
        notice.attempts += 1
        DeliveryAttempt.objects.create(
            notice=notice,
            number=notice.attempts,
            at=now,
            ok=outcome.ok,
            detail=outcome.detail[:300],
            duration_ms=took_ms,
        )
        if pending and outcome.ok:
            notice.state, notice.next_try_at, notice.delivered_at = (
                NoticeState.DELIVERED,
                None,
                now,
            )
        elif pending:
            again = next_try(notice.attempts, now) if outcome.retryable else None
            notice.next_try_at = again
            if again is None:
                notice.state = NoticeState.FAILED
        notice.save()
        alert_entry(
            alert,
            "alert.delivery",
            SYSTEM,
            notice=notice.pk,
            notice_step=notice.step,
            channel=notice.channel,
            to=notice.recipient.get_username() if notice.recipient else None,
            target=notice.target,
            attempt=notice.attempts,
            ok=outcome.ok,
            outcome=outcome.detail[:300],
            next_try_at=notice.next_try_at,
        )
        if outcome.ok and alert.undelivered:
            alert.undelivered = False
            alert.save(update_fields=["undelivered"])
        elif notice.state == NoticeState.FAILED:
            _after_failure(alert, notice.step, now)


def _after_failure(alert: Alert, step: int, now: dt.datetime) -> None:
    """A notice failed for good. If it was the step's last hope, nobody was reached: the
    alert shows ``undelivered``, and an escalating alert goes to the next person at once."""
    if step != alert.step:
        return
    hope = AlertNotice.objects.filter(alert=alert, step=step).exclude(state=NoticeState.FAILED)
    if hope.exists():
        return
    alert.undelivered = True
    alert.save(update_fields=["undelivered"])
    alert_entry(
        alert,
        "alert.undelivered",
        SYSTEM,
        detail=_("Every channel failed every retry for everyone at this step."),
    )
    # The next person at once, while there is one; past the chain's end everyone was just
    # tried, and the regular schedule tries them all again (a channel refusing every
    # message, a wrong URL, must not spin).
    chain_length = len(notices.chain_of(alert.team))
    if alert.status == AlertStatus.OPEN and escalates(alert.severity) and step <= chain_length:
        step_up(alert, now)


def alert_entry(alert: Alert, kind: str, actor: dict[str, Any], **data: Any) -> None:
    """An alert's ledger entry (raised, notified, escalated, delivered, acknowledged, ...)."""
    ledger.append(
        kind,
        actor,
        f"alert:{alert.id}",
        {
            "alert_kind": alert.kind,
            "severity": alert.severity,
            "step": alert.step,
            "team": alert.team.name,
            "route": alert.route_id,
            "visit": alert.visit_id,
            "checkin": alert.checkin_id,
            **data,
        },
    )


def waits_for(alert: Alert) -> dt.timedelta:
    """How long a step of ``alert`` waits for an acknowledgement before the next person is
    told (``rules.alerting.step_every``): a panic three minutes; an alert about a route its
    escalation delay (the strictest creditor's ``escalation_after_min``, as missed check-ins
    always had); any other ``ALERT_STEP_EVERY_MIN``."""
    if alert.route_id is not None:
        escalation = route_timing(alert.route).escalation
    else:
        escalation = dt.timedelta(minutes=settings.ALERT_STEP_EVERY_MIN)
    return step_every(alert.kind, escalation)


def advance(alert: Alert, now: dt.datetime) -> dict[str, Any]:
    """Tell the next step of the chain (inside the caller's transaction, the alert locked or
    new), sent after commit: when nobody there can be reached, the step after it at once, so
    an alert never waits on a person it cannot reach. What was done, for the ledger entry."""
    chain = notices.chain_of(alert.team)
    told: list[AlertNotice] = []
    skipped: list[int] = []
    while not told:
        alert.step += 1
        told = notices.tell(alert, alert.step, now, chain)
        if told or alert.step > len(chain):
            break
        skipped.append(alert.step)
    if not told:
        alert.undelivered = True
    alert.next_step_at = now + waits_for(alert) if escalates(alert.severity) else None
    if told:
        alert_id = alert.pk
        transaction.on_commit(lambda: dispatch(alert_id))
    return {
        "told": sorted({person_name(n.recipient) for n in told if n.recipient_id}),
        "channels": sorted({n.channel for n in told}),
        "unreachable_steps": skipped,
        "next_step_at": alert.next_step_at,
    }


def step_up(alert: Alert, now: dt.datetime) -> None:
    """Nobody acknowledged in time (or nobody could be reached): the next person on the
    chain is told (inside the caller's transaction, the alert locked)."""
    done = advance(alert, now)
    alert.escalated_at = now
    alert.save(update_fields=["step", "next_step_at", "undelivered", "escalated_at"])
    alert_entry(alert, "alert.escalated", SYSTEM, escalated_at=now, **done)
