"""Builders for test data: plain functions with sensible defaults, one per model."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import Group, User

from fieldvisit.choices import AddressKind, DocumentKind, Role, RouteStatus
from fieldvisit.models import (
    Address,
    AgentProfile,
    Case,
    ContactPoint,
    Creditor,
    OnCallEntry,
    QualificationDocument,
    Route,
    Stop,
    Team,
)

_seq = itertools.count(1)
PASSWORD = "correct horse battery staple"


def user(username: str, *roles: str, staff: bool | None = None, **fields: Any) -> User:
    if staff is None:
        staff = any(role != Role.AGENT for role in roles)
    created = User.objects.create_user(
        username=username, password=PASSWORD, is_staff=staff, **fields
    )
    for role in roles:
        created.groups.add(Group.objects.get(name=role))
    return created


PAPERS_ISSUED = dt.date(2025, 1, 15)
PAPERS_EXPIRE = dt.date(2099, 12, 31)


def agent(username: str, team: Team | None, papers: bool = True, **profile: Any) -> User:
    """A field agent; with their papers on file (in force for years) unless ``papers`` is
    False."""
    created = user(username, Role.AGENT)
    made = AgentProfile.objects.create(
        user=created,
        team=team,
        badge_number=profile.pop("badge_number", f"B{next(_seq):05d}"),
        background_check_on=profile.pop("background_check_on", PAPERS_ISSUED),
        **profile,
    )
    if papers:
        for kind in DocumentKind.values:
            document(made, kind)
    return created


def document(
    profile: AgentProfile,
    kind: str,
    issued_on: dt.date = PAPERS_ISSUED,
    expires_on: dt.date = PAPERS_EXPIRE,
    **fields: Any,
) -> QualificationDocument:
    return QualificationDocument.objects.create(
        agent=profile,
        kind=kind,
        reference=fields.pop("reference", f"{kind.upper()}-{next(_seq):05d}"),
        issued_on=issued_on,
        expires_on=expires_on,
        recorded_by=fields.pop("recorded_by", profile.user),
        recorded_at=fields.pop("recorded_at", dt.datetime(2025, 1, 16, tzinfo=dt.UTC)),
        **fields,
    )


def creditor(**fields: Any) -> Creditor:
    n = next(_seq)
    return Creditor.objects.create(
        name=fields.pop("name", f"Creditor {n}"), code=fields.pop("code", f"cr{n}"), **fields
    )


def case(team: Team | None, creditor_: Creditor, **fields: Any) -> Case:
    n = next(_seq)
    return Case.objects.create(
        number=fields.pop("number", f"C-{n:05d}"),
        creditor=creditor_,
        team=team,
        debtor_name=fields.pop("debtor_name", f"Debtor {n}"),
        # A distinct debtor per case (the visit frequency cap counts per debtor); the first
        # three and last four digits stay fixed, so the masked form is predictable.
        debtor_id_number=fields.pop("debtor_id_number", f"3101011982{n % 10000:04d}4512"),
        amount_due=fields.pop("amount_due", Decimal("1000.00") * n),
        **fields,
    )


def address(case_: Case, lat: float = 31.2304, lon: float = 121.4737, **fields: Any) -> Address:
    return Address.objects.create(
        case=case_,
        kind=fields.pop("kind", AddressKind.HOME),
        text=fields.pop("text", f"{next(_seq)} Nanjing Road, Shanghai"),
        lat=lat,
        lon=lon,
        timezone=fields.pop("timezone", "Asia/Shanghai"),
        **fields,
    )


def route(
    team: Team, planner: User, day: dt.date, addresses: list[Address], **fields: Any
) -> Route:
    created = Route.objects.create(
        team=team, date=day, planned_by=planner, status=fields.pop("status", RouteStatus.DRAFT)
    )
    for sequence, place in enumerate(addresses, start=1):
        Stop.objects.create(route=created, sequence=sequence, case=place.case, address=place)
    return created


def oncall(team: Team, *people: User, verified: bool = True, start: int = 1) -> list[OnCallEntry]:
    """Put ``people`` on the team's on-call chain in order, each with an e-mail contact
    (verified unless told otherwise; the test of verification itself goes through the
    action)."""
    entries = []
    for position, person in enumerate(people, start=start):
        ContactPoint.objects.get_or_create(
            user=person,
            kind="email",
            value=f"{person.get_username()}@example.com",
            defaults={"verified_at": dt.datetime(2026, 1, 5, tzinfo=dt.UTC) if verified else None},
        )
        entries.append(OnCallEntry.objects.create(team=team, position=position, user=person))
    return entries
