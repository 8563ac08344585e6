"""Raising, escalating, acknowledging and resolving alerts; each step a ledger entry.

Supervisors hear of an alert at once (e-mail through Django's mail framework, sent after the
transaction commits, and the live alerts page); people acknowledge and resolve alerts with a
note. Nothing clears an alert by itself.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from fieldvisit.access import oversight_scope, team_of
from fieldvisit.actions.common import require_perm, require_record_in_scope
from fieldvisit.choices import AlertKind, AlertLevel, AlertSeverity, AlertStatus, RouteStatus
from fieldvisit.ledger import store as ledger
from fieldvisit.models import Alert, Route, Team
from fieldvisit.rules import RuleViolation

SYSTEM = ledger.actor_for(system="fieldvisit")


def _recipients(alert: Alert) -> list[str]:
    team = alert.team
    people = [team.supervisor]
    if alert.level == AlertLevel.RISK_MANAGER or alert.kind == AlertKind.PANIC:
        people.append(team.risk_manager)
    return sorted({p.email for p in people if p is not None and p.email})


def _notify(alert: Alert, headline: str) -> None:
    recipients = _recipients(alert)
    if not recipients:
        return
    where = f" at {alert.lat:.5f},{alert.lon:.5f}" if alert.lat is not None else ""
    body = (
        f"{headline}\n\nTeam: {alert.team}\nKind: {alert.get_kind_display()}\n"
        f"Severity: {alert.get_severity_display()}\nRaised: {alert.raised_at:%Y-%m-%d %H:%M:%S %Z}"
        f"{where}\n\n{alert.detail}\n\nAlert id: {alert.id}\n"
    )
    subject = f"[{alert.get_severity_display()}] {headline}"
    transaction.on_commit(lambda: send_mail(subject, body, None, recipients, fail_silently=True))


def _ledger(alert: Alert, kind: str, actor: dict[str, Any], **data: Any) -> None:
    ledger.append(
        kind,
        actor,
        f"alert:{alert.id}",
        {
            "alert_kind": alert.kind,
            "severity": alert.severity,
            "level": alert.level,
            "team": alert.team.name,
            "route": alert.route_id,
            "visit": alert.visit_id,
            "checkin": alert.checkin_id,
            **data,
        },
    )


def person(user: Any) -> str:
    """A person as an alert names them: "Wei Zhao (agent_a)", or the username alone."""
    full = user.get_full_name()
    return f"{full} ({user.get_username()})" if full else user.get_username()


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
    """Record an alert inside the caller's transaction and tell the supervisor after commit."""
    default = {
        AlertKind.PANIC: AlertSeverity.CRITICAL,
        AlertKind.TEAM_SPLIT: AlertSeverity.HIGH,
        AlertKind.MISSED_CHECKIN: AlertSeverity.HIGH,
        AlertKind.AGENT_SILENT: AlertSeverity.HIGH,
        AlertKind.LONE_DEPART: AlertSeverity.HIGH,
        AlertKind.LONE_AGENT: AlertSeverity.HIGH,
        AlertKind.RULE_BREAK: AlertSeverity.MEDIUM,
        AlertKind.LATE_EVIDENCE: AlertSeverity.MEDIUM,
    }[kind]
    alert = Alert.objects.create(
        id=alert_id or uuid.uuid4(),
        kind=kind,
        severity=severity or default,
        team=team,
        detail=detail,
        raised_at=timezone.now(),
        **fields,
    )
    _ledger(
        alert,
        "alert.raised",
        actor,
        detail=detail,
        lat=alert.lat,
        lon=alert.lon,
        captured_at=alert.captured_at,
        due_at=alert.due_at,
        discreet=alert.discreet,
    )
    _notify(alert, f"{alert.get_kind_display()}: {team}")
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
    """An agent in danger: raised at once, to the supervisor and the risk manager, with the
    route the team is walking (if any)."""
    team = team_of(agent)
    if team is None:
        raise RuleViolation("not_team_member", "Only field agents of a team raise panic alerts.")
    with transaction.atomic(durable=True):
        route = (
            Route.objects.filter(team=team, status=RouteStatus.IN_PROGRESS)
            .order_by("-date")
            .first()
        )
        return raise_alert(
            kind=AlertKind.PANIC,
            team=team,
            detail=note or "Panic raised by an agent.",
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


def escalate(alert: Alert, now: dt.datetime) -> None:
    """Still unanswered: the risk manager is told too (inside the caller's transaction)."""
    alert.level = AlertLevel.RISK_MANAGER
    alert.escalated_at = now
    alert.save(update_fields=["level", "escalated_at"])
    _ledger(alert, "alert.escalated", SYSTEM, escalated_at=now)
    _notify(alert, f"ESCALATED {alert.get_kind_display()}: {alert.team}")


def _handle(alert_id: uuid.UUID, by: Any, note: str, resolve: bool) -> Alert:
    note = note.strip()
    if not note:
        raise RuleViolation("note_required", "Say what was done about the alert.")
    now = timezone.now()
    with transaction.atomic(durable=True):
        alert = Alert.objects.select_for_update().select_related("team").get(pk=alert_id)
        require_perm(by, "fieldvisit.handle_alert", "handle alerts")
        require_record_in_scope(oversight_scope(by, ""), alert.team_id, "alert")
        if alert.status == AlertStatus.RESOLVED:
            raise RuleViolation("alert_resolved", "The alert is already resolved.")
        if alert.status == AlertStatus.OPEN:
            alert.status = AlertStatus.ACKNOWLEDGED
            alert.acknowledged_at = now
            alert.acknowledged_by = by
            alert.acknowledge_note = note if not resolve else ""
        elif not resolve:
            raise RuleViolation("alert_acknowledged", "The alert is already acknowledged.")
        if resolve:
            alert.status = AlertStatus.RESOLVED
            alert.resolved_at = now
            alert.resolved_by = by
            alert.resolution_note = note
        alert.save()
        _ledger(
            alert,
            "alert.resolved" if resolve else "alert.acknowledged",
            ledger.actor_for(by),
            note=note,
        )
    return alert


def acknowledge(alert_id: uuid.UUID, by: Any, note: str) -> Alert:
    return _handle(alert_id, by, note, resolve=False)


def resolve(alert_id: uuid.UUID, by: Any, note: str) -> Alert:
    return _handle(alert_id, by, note, resolve=True)
