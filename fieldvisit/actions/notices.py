"""Who is told of an alert at each step of the team's on-call chain, through which channels,
and in what words (inside the caller's transaction: the notices are stored with the step,
and sent after commit by ``actions.deliveries``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils.translation import gettext

from fieldvisit.channels import Message, Recipient
from fieldvisit.channels import registry as channels
from fieldvisit.choices import ContactKind
from fieldvisit.geo import local_text
from fieldvisit.models import Alert, AlertNotice, ContactPoint, OnCallEntry, Team
from fieldvisit.rules.alerting import ChainEntry, step_positions
from fieldvisit.words import person_name

ACK_SALT = "fieldvisit.alert-ack"
# A link to acknowledge stays good for a day: long after anyone would still press it.
ACK_MAX_AGE_S = 24 * 3600


def chain_of(team: Team) -> list[Any]:
    """The people on the team's on-call chain, in order. A team set up before chains
    existed has none: its supervisor, then its risk manager, stand in.

    A deactivated account stays on the chain here: an alert's steps are positions in this
    list, read again at every step, so taking someone off while an alert is under way would
    skip the next person, and a chain left with nobody reachable would tell nobody. A route
    is not approved on a deactivated account (``chain_facts``), and a link sent to one does
    not acknowledge (``alerts.notice_of_link``)."""
    entries = OnCallEntry.objects.filter(team=team).select_related("user").order_by("position")
    people = [entry.user for entry in entries]
    if people:
        return people
    return list(dict.fromkeys(p for p in (team.supervisor, team.risk_manager) if p is not None))


def chain_facts(team: Team) -> list[ChainEntry]:
    """The team's chain as the rules judge it (one query for the entries, one for the
    contacts)."""
    users = list(
        OnCallEntry.objects.filter(team=team, user__is_active=True)
        .order_by("position")
        .values_list("user", flat=True)
    )
    verified = set(
        ContactPoint.objects.filter(user__in=users, verified_at__isnull=False).values_list(
            "user", flat=True
        )
    )
    return [ChainEntry(user_id=u, verified=u in verified) for u in users]


def recipient_of(user: Any) -> Recipient:
    """A person as the channels reach them: their verified e-mail and mobile (the oldest
    verified of each). An unverified contact is never used: anyone may type an address, and
    alerts say where agents are."""
    found: dict[str, str] = {}
    contacts = sorted(
        (c for c in user.contact_points.all() if c.verified_at is not None),
        key=lambda c: (c.verified_at, c.pk),
    )
    for contact in contacts:
        found.setdefault(contact.kind, contact.value)
    return Recipient(
        name=person_name(user),
        email=found.get(ContactKind.EMAIL, ""),
        mobile=found.get(ContactKind.MOBILE, ""),
    )


def tell(alert: Alert, step: int, now: dt.datetime, chain: list[Any]) -> list[AlertNotice]:
    """Store the notices of ``step``: each person ``chain`` (``chain_of`` the alert's team)
    puts there, through every channel the alert's severity uses that can reach them. Empty
    when nobody can be reached at this step (the caller moves on)."""
    people = [chain[i] for i in step_positions(len(chain), step)]
    through = channels.for_severity(alert.severity)
    notices = []
    for user in people:
        recipient = recipient_of(user)
        for channel in through:
            target = channel.target(recipient)
            if target:
                notices.append(
                    AlertNotice(
                        alert=alert,
                        step=step,
                        recipient=user,
                        channel=channel.name,
                        target=target[:254],
                        next_try_at=now,
                        created_at=now,
                    )
                )
    return AlertNotice.objects.bulk_create(notices)


def ack_token(notice: AlertNotice) -> str:
    return signing.dumps(str(notice.pk), salt=ACK_SALT)


def notice_of_token(token: str) -> str:
    """The notice id a link was made for; ``signing.BadSignature`` (or its subclass
    ``SignatureExpired``) when forged or older than a day."""
    return str(signing.loads(token, salt=ACK_SALT, max_age=ACK_MAX_AGE_S))


def message_for(notice: AlertNotice) -> Message:
    """What a notice says: the alert in words, where, who is told and why, and a link to
    acknowledge it in one tap; in the language active (``deliveries`` sends it
    ``languages.speaking_to`` its recipient)."""
    alert = notice.alert
    zone = alert.team.timezone
    headline = f"{alert.get_kind_display()}: {alert.team}"
    lines = [
        headline,
        gettext("Severity: {severity}").format(severity=alert.get_severity_display()),
        gettext("Raised: {at}").format(at=local_text(alert.raised_at, zone)),
    ]
    if alert.raised_by_id:
        lines.append(gettext("By: {who}").format(who=person_name(alert.raised_by)))
    if alert.agent_id:
        lines.append(gettext("Agent: {who}").format(who=person_name(alert.agent)))
    if alert.lat is not None and alert.lon is not None:
        lines.append(
            gettext("Where: {lat:.5f}, {lon:.5f} (WGS-84)").format(lat=alert.lat, lon=alert.lon)
        )
    lines += ["", alert.detail, ""]
    if notice.step > 1:
        lines.append(
            gettext("Escalated (step {step}): nobody acknowledged it before.").format(
                step=notice.step
            )
        )
    # The one-tap link goes where each channel puts it (after the text, in the SMS, as the
    # webhook's ack_url): written here too, it came twice.
    ack_url = settings.PUBLIC_BASE_URL.rstrip("/") + reverse("alert-ack", args=[ack_token(notice)])
    return Message(
        subject=f"[{alert.get_severity_display()}] {headline}",
        text="\n".join(lines),
        severity=alert.severity,
        reference=f"alert:{alert.pk}:step:{notice.step}",
        ack_url=ack_url,
        facts={
            "alert": str(alert.pk),
            "kind": alert.kind,
            "severity": alert.severity,
            "team": alert.team.name,
            "step": notice.step,
            "raised_at": alert.raised_at.isoformat(),
            "lat": alert.lat,
            "lon": alert.lon,
            "route": str(alert.route_id) if alert.route_id else None,
            "visit": str(alert.visit_id) if alert.visit_id else None,
        },
    )
