"""Raising, escalating, acknowledging and resolving alerts; each step a ledger entry.

An alert goes to the first person on its team's on-call chain at once, and, while nobody
acknowledges it, to the next one every ``rules.alerting.step_every`` (panics every three
minutes): the notices of each step are stored with it and sent after commit
(``actions.deliveries``), every attempt recorded. People acknowledge (in admin, or in one
tap from the link in the message) and resolve alerts with a note. Nothing clears an alert by
itself.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.core import signing
from django.db import transaction
from django.utils import timezone

from fieldvisit.access import oncall_teams, oversight_scope, team_in_scope, team_of
from fieldvisit.actions import deliveries, notices
from fieldvisit.actions.common import require_perm
from fieldvisit.choices import (
    AckChannel,
    AlertKind,
    AlertSeverity,
    AlertStatus,
    NoticeState,
    RouteStatus,
)
from fieldvisit.ledger import store as ledger
from fieldvisit.models import Alert, AlertNotice, Route, Team
from fieldvisit.rules import RuleViolation
from fieldvisit.texts import _, for_records, format_lazy

SYSTEM = ledger.actor_for(system="fieldvisit")

__all__ = ["SYSTEM", "acknowledge", "panic", "raise_alert", "resolve"]


def raise_alert(
    *,
    kind: str,
    team: Team,
    detail: str,
    actor: dict[str, Any],
    severity: int | None = None,
    alert_id: uuid.UUID | None = None,
    **fields: Any,
) -> Alert:
    """Record an alert inside the caller's transaction and tell the first person on the
    team's on-call chain (sent after commit); while nobody acknowledges it, the next one
    every ``deliveries.waits_for``."""
    default = {
        AlertKind.PANIC: AlertSeverity.CRITICAL,
        AlertKind.TEAM_SPLIT: AlertSeverity.HIGH,
        AlertKind.MISSED_CHECKIN: AlertSeverity.HIGH,
        AlertKind.AGENT_SILENT: AlertSeverity.HIGH,
        AlertKind.LONE_DEPART: AlertSeverity.HIGH,
        AlertKind.LONE_AGENT: AlertSeverity.HIGH,
        AlertKind.RULE_BREAK: AlertSeverity.MEDIUM,
        AlertKind.LATE_EVIDENCE: AlertSeverity.MEDIUM,
        AlertKind.PHONE_SILENT: AlertSeverity.MEDIUM,
        AlertKind.LOW_BATTERY: AlertSeverity.MEDIUM,
        AlertKind.DAY_NOT_CLOSED: AlertSeverity.MEDIUM,
        AlertKind.THIRD_PARTY: AlertSeverity.MEDIUM,
        AlertKind.INCIDENT: AlertSeverity.HIGH,
        AlertKind.QUALIFICATION_EXPIRING: AlertSeverity.LOW,
    }[kind]
    now = timezone.now()
    alert = Alert.objects.create(
        id=alert_id or uuid.uuid4(),
        kind=kind,
        severity=severity or default,
        team=team,
        detail=for_records(detail),
        raised_at=now,
        **fields,
    )
    done = deliveries.advance(alert, now)
    alert.save(update_fields=["step", "next_step_at", "undelivered"])
    deliveries.alert_entry(
        alert,
        "alert.raised",
        actor,
        detail=alert.detail,
        lat=alert.lat,
        lon=alert.lon,
        captured_at=alert.captured_at,
        due_at=alert.due_at,
        discreet=alert.discreet,
        **done,
    )
    return alert


def panic(
    *,
    alert_id: uuid.UUID,
    agent: Any,
    lat: float,
    lon: float,
    captured_at: dt.datetime,
    note: str,
    discreet: bool,
    device_id: str,
    fingerprint: str,
) -> Alert:
    """An agent in danger: raised at once to the first person on the team's on-call chain
    (the next one every three minutes until someone acknowledges), with the route the team
    is walking (if any)."""
    team = team_of(agent)
    if team is None:
        raise RuleViolation("not_team_member", _("Only field agents of a team raise panic alerts."))
    with transaction.atomic(durable=True):
        route = (
            Route.objects.filter(team=team, status=RouteStatus.IN_PROGRESS)
            .order_by("-date")
            .first()
        )
        return raise_alert(
            kind=AlertKind.PANIC,
            team=team,
            detail=note or _("Panic raised by an agent."),
            actor=ledger.actor_for(agent, device_id),
            alert_id=alert_id,
            route=route,
            raised_by=agent,
            lat=lat,
            lon=lon,
            captured_at=captured_at,
            discreet=discreet,
            request_sha256=fingerprint,
        )


def may_handle(user: Any, team_id: int) -> bool:
    """Who handles a team's alerts (with the permission): its supervisor and risk manager,
    and the people on its on-call chain."""
    return team_in_scope(oversight_scope(user, ""), team_id) or (
        oncall_teams(user).filter(pk=team_id).exists()
    )


def _handle(
    alert_id: uuid.UUID, by: Any, note: str, resolve: bool, via: str, notified: bool = False
) -> Alert:
    """Acknowledge or resolve. Those who handle the team's alerts may, in admin; a person the
    alert was sent to may acknowledge it from the message's link (``notified``: the signed
    link proves they received it), whatever their role. The chain stops moving and what was
    still being sent is cancelled."""
    note = note.strip()
    if not note:
        raise RuleViolation("note_required", _("Say what was done about the alert."))
    now = timezone.now()
    with transaction.atomic(durable=True):
        alert = Alert.objects.select_for_update().select_related("team").get(pk=alert_id)
        if not notified:
            require_perm(by, "fieldvisit.handle_alert", _("handle alerts"))
            if not may_handle(by, alert.team_id):
                raise RuleViolation("not_found", _("No such alert."))
        if alert.status == AlertStatus.RESOLVED:
            raise RuleViolation("alert_resolved", _("The alert is already resolved."))
        if alert.status == AlertStatus.OPEN:
            alert.status = AlertStatus.ACKNOWLEDGED
            alert.acknowledged_at = now
            alert.acknowledged_by = by
            alert.acknowledged_via = via
            alert.acknowledge_note = note if not resolve else ""
        elif not resolve:
            raise RuleViolation("alert_acknowledged", _("The alert is already acknowledged."))
        if resolve:
            alert.status = AlertStatus.RESOLVED
            alert.resolved_at = now
            alert.resolved_by = by
            alert.resolution_note = note
        alert.next_step_at = None
        alert.save()
        cancelled = AlertNotice.objects.filter(alert=alert, state=NoticeState.PENDING).update(
            state=NoticeState.CANCELLED, next_try_at=None
        )
        deliveries.alert_entry(
            alert,
            "alert.resolved" if resolve else "alert.acknowledged",
            ledger.actor_for(by),
            note=note,
            via=via,
            notices_cancelled=cancelled,
        )
    return alert


def acknowledge(alert_id: uuid.UUID, by: Any, note: str, via: str = AckChannel.ADMIN) -> Alert:
    return _handle(alert_id, by, note, resolve=False, via=via)


def resolve(alert_id: uuid.UUID, by: Any, note: str) -> Alert:
    return _handle(alert_id, by, note, resolve=True, via=AckChannel.ADMIN)


# Channels whose messages a whole group reads (a DingTalk or WeCom group, the company's
# own system): their link does not say who opened it, so it asks the person to sign in.
SHARED_CHANNELS = frozenset({"dingtalk", "wecom", "webhook"})


def link_needs_sign_in(notice: AlertNotice) -> bool:
    return notice.channel in SHARED_CHANNELS


def notice_of_link(token: str) -> AlertNotice:
    """The notice a link was made for; ``invalid_link`` when forged or more than a day old."""
    try:
        notice_id = notices.notice_of_token(token)
    except signing.BadSignature as exc:
        raise RuleViolation("invalid_link", _("This link is not valid or has expired.")) from exc
    notice = (
        AlertNotice.objects.select_related("recipient", "alert__team").filter(pk=notice_id).first()
    )
    if notice is None or notice.recipient is None or not notice.recipient.is_active:
        # A deactivated account's link acknowledges nothing: it would stop the chain.
        raise RuleViolation("invalid_link", _("This link is not valid or has expired."))
    return notice


def acknowledge_from_link(token: str, note: str = "", by: Any = None) -> Alert:
    """Acknowledge in one tap from the link in a message, recorded with the channel that
    brought it. A personal message's link (e-mail, SMS) stands for its recipient; a group's
    (``SHARED_CHANNELS``) for the signed-in ``by``, who must be on the team's on-call chain
    or handle its alerts."""
    notice = notice_of_link(token)
    via = AckChannel(notice.channel) if notice.channel in AckChannel.values else AckChannel.ADMIN
    note = note.strip() or format_lazy(_("Acknowledged in one tap ({label})."), label=via.label)
    if not link_needs_sign_in(notice):
        return _handle(notice.alert_id, notice.recipient, note, False, via, notified=True)
    if by is None or not by.is_authenticated:
        raise RuleViolation("not_authenticated", _("Sign in to acknowledge from a group message."))
    # Whoever opened it acknowledges as any handler would (``may_handle``: on the chain, or
    # overseeing the team).
    return _handle(notice.alert_id, by, note, False, via)
