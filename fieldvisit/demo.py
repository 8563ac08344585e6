"""A small demo world: two teams, a planner, a supervisor, legal and an auditor, three cases
and an approved route for one day. Every run builds a new, independent world.

Routes are planned and approved through the real actions (so the ledger records them), with
the clock set to the evening before, as the procedure requires.
"""

from __future__ import annotations

import datetime as dt
import secrets
import zoneinfo
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import Group, User
from django.db import transaction
from django.utils import timezone

from fieldvisit.actions import routes as route_actions
from fieldvisit.choices import AddressKind, RelationKind, Role
from fieldvisit.models import (
    Address,
    AgentProfile,
    Case,
    Creditor,
    Relation,
    Route,
    Stop,
    Team,
)

ZONE = "Asia/Shanghai"

# Real-looking Shanghai addresses, a few hundred metres apart (walkable in one morning).
PLACES = [
    ("上海市黄浦区南京东路 300 号 5 楼", 31.23590, 121.48430),
    ("上海市黄浦区福州路 181 号 2 单元 1201 室", 31.23380, 121.48520),
    ("上海市黄浦区九江路 421 号 3 楼", 31.23490, 121.47990),
    ("上海市黄浦区汉口路 266 号", 31.23250, 121.48120),
]
DEBTORS = [
    ("王建国", "310101198203154512", Decimal("86500.00")),
    ("李秀英", "310104197911082227", Decimal("42300.50")),
    ("张伟", "31011519900502331X", Decimal("12800.00")),
    ("陈静", "310110198507193426", Decimal("5600.00")),
]


def _suffix() -> str:
    """'' for the first world, then '_2', '_3', ...: usernames stay short and unique."""
    if not User.objects.filter(username="agent_a").exists():
        return ""
    number = 2
    while User.objects.filter(username=f"agent_a_{number}").exists():
        number += 1
    return f"_{number}"


def _user(name: str, role: str, staff: bool, first: str, last: str) -> tuple[User, str]:
    password = secrets.token_urlsafe(9)
    user = User.objects.create_user(
        username=name, password=password, first_name=first, last_name=last, is_staff=staff
    )
    user.groups.add(Group.objects.get(name=role))
    return user, password


# Who the demo world holds: key, role, staff (admin access), first and last name.
PEOPLE = [
    ("agent_a", Role.AGENT, False, "Wei", "Zhao"),
    ("agent_b", Role.AGENT, False, "Lei", "Sun"),
    ("outsider_agent", Role.AGENT, False, "Gang", "Zhou"),
    ("outsider_partner", Role.AGENT, False, "Min", "Wu"),
    ("planner", Role.PLANNER, True, "Fang", "Liu"),
    ("supervisor", Role.SUPERVISOR, True, "Jun", "Yang"),
    ("legal", Role.LEGAL, True, "Hui", "Huang"),
    ("auditor", Role.AUDITOR, True, "Ning", "Xu"),
]


def build_world(day: dt.date | None = None) -> dict[str, Any]:
    """Build a new demo world for ``day`` (today in Shanghai by default): its logins, its
    approved route and the route's stops."""
    zone = zoneinfo.ZoneInfo(ZONE)
    day = day or timezone.localdate(timezone.now(), zone)
    suffix = _suffix()
    with transaction.atomic():
        people, logins = _people(suffix)
        creditor = Creditor.objects.create(
            name=f"Demo Consumer Finance{suffix}", code=f"demo{suffix.replace('_', '-')}"
        )
        team = _teams(people, suffix, day)
        addresses = _cases(creditor, team, day)
        route = Route.objects.create(team=team, date=day, planned_by=people["planner"])
        for sequence, address in enumerate(addresses[:3], start=1):
            Stop.objects.create(route=route, sequence=sequence, case=address.case, address=address)
    _approve_evening_before(route, people, day, zone)
    stops = Stop.objects.filter(route=route).select_related("address", "visit").order_by("sequence")
    return {
        "users": logins,
        "route": {"id": str(route.pk), "date": day.isoformat()},
        "stops": [
            {
                "id": str(stop.pk),
                "visit_id": str(stop.visit.pk),
                "case_id": str(stop.case_id),
                "notice_number": stop.notice_number,
                "lat": stop.address.lat,
                "lon": stop.address.lon,
                "timezone": stop.address.zone_name,
            }
            for stop in stops
        ],
    }


def _people(suffix: str) -> tuple[dict[str, User], dict[str, dict[str, str]]]:
    """The world's users by key, and their logins (each with a new random password)."""
    people: dict[str, User] = {}
    logins: dict[str, dict[str, str]] = {}
    for key, role, staff, first, last in PEOPLE:
        user, password = _user(key + suffix, role, staff, first, last)
        people[key] = user
        logins[key] = {"username": user.username, "password": password}
    return people, logins


def _teams(people: dict[str, User], suffix: str, day: dt.date) -> Team:
    """The demo team (with agents A and B) and another team (with the outsiders), every agent
    qualified; returns the demo team."""
    team = Team.objects.create(
        name=f"Huangpu field team{suffix}",
        supervisor=people["supervisor"],
        risk_manager=people["supervisor"],
        timezone=ZONE,
    )
    other = Team.objects.create(
        name=f"Pudong field team{suffix}", supervisor=people["supervisor"], timezone=ZONE
    )
    checked = day - dt.timedelta(days=400)
    for number, (key, member_of) in enumerate(
        [
            ("agent_a", team),
            ("agent_b", team),
            ("outsider_agent", other),
            ("outsider_partner", other),
        ],
        start=1,
    ):
        AgentProfile.objects.create(
            user=people[key],
            team=member_of,
            badge_number=f"B{secrets.token_hex(3).upper()}{number}",
            background_check_on=checked,
            background_check_reference=f"PSB-{secrets.token_hex(4)}",
        )
    return team


def _cases(creditor: Creditor, team: Team, day: dt.date) -> list[Address]:
    """One case per debtor, each with its home address and a relation; the addresses."""
    stamp = secrets.token_hex(3).upper()
    addresses = []
    for number, ((debtor, id_number, amount), (text, lat, lon)) in enumerate(
        zip(DEBTORS, PLACES, strict=True), start=1
    ):
        case = Case.objects.create(
            number=f"DEMO-{stamp}-{number:03d}",
            creditor=creditor,
            team=team,
            debtor_name=debtor,
            debtor_id_number=id_number,
            amount_due=amount,
            overdue_since=day - dt.timedelta(days=90 + 30 * number),
        )
        addresses.append(
            Address.objects.create(
                case=case, kind=AddressKind.HOME, text=text, lat=lat, lon=lon, timezone=ZONE
            )
        )
        Relation.objects.create(case=case, name=f"{debtor[0]}女士", kind=RelationKind.FAMILY)
    return addresses


def _approve_evening_before(
    route: Route, people: dict[str, User], day: dt.date, zone: zoneinfo.ZoneInfo
) -> None:
    """Planned and approved the evening before, as the procedure requires."""
    evening_before = dt.datetime.combine(day - dt.timedelta(days=1), dt.time(18, 0), tzinfo=zone)
    route_actions.submit_route(route.pk, people["planner"], now=evening_before)
    route_actions.decide_route(
        route.pk,
        people["supervisor"],
        approve=True,
        comment="Demo route approved.",
        now=evening_before + dt.timedelta(minutes=30),
    )
