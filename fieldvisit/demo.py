"""A small demo world: two teams, a planner, a supervisor, legal and an auditor, three cases
and an approved route for one day. Every run builds a new, independent world.

Routes are planned and approved through the real actions (so the ledger records them), with
the clock set to the evening before, as the procedure requires.

Visits are allowed 08:00-21:00 in the address's own zone, so a demo in Shanghai refuses every
arrival from 13:00 to 24:00 UTC. The quick start therefore builds its world where it is
visiting time now (``zone_for``): Shanghai when it is, else the Chinatown of London, New York
or San Francisco, with real addresses a few hundred metres apart in each.
"""

from __future__ import annotations

import datetime as dt
import secrets
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import Group, User
from django.db import transaction
from django.utils import timezone

from fieldvisit.actions import qualifications as paper_actions
from fieldvisit.actions import routes as route_actions
from fieldvisit.choices import AddressKind, ContactKind, DocumentKind, RelationKind, Role
from fieldvisit.models import (
    Address,
    Agency,
    AgentProfile,
    Case,
    ContactPoint,
    Creditor,
    OnCallEntry,
    Relation,
    Route,
    Stop,
    Team,
)

ZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class Area:
    """Where a demo world's team works: its name and four addresses in one zone."""

    name: str
    places: tuple[tuple[str, float, float], ...]


# Real-looking addresses, a few hundred metres apart (walkable in one morning), by zone, in
# the order the quick start prefers them.
AREAS = {
    "Asia/Shanghai": Area(
        "Huangpu",
        (
            ("上海市黄浦区南京东路 300 号 5 楼", 31.23590, 121.48430),
            ("上海市黄浦区福州路 181 号 2 单元 1201 室", 31.23380, 121.48520),
            ("上海市黄浦区九江路 421 号 3 楼", 31.23490, 121.47990),
            ("上海市黄浦区汉口路 266 号", 31.23250, 121.48120),
        ),
    ),
    "Europe/London": Area(
        "Chinatown London",
        (
            ("Flat 3, 12 Gerrard Street, London W1D 5PR", 51.51153, -0.13174),
            ("2nd floor, 25 Lisle Street, London WC2H 7BA", 51.51113, -0.13039),
            ("Flat 5, 8 Macclesfield Street, London W1D 6AY", 51.51201, -0.13141),
            ("31 Wardour Street, London W1D 6PT", 51.51153, -0.13267),
        ),
    ),
    "America/New_York": Area(
        "Chinatown Manhattan",
        (
            ("Apt 4B, 41 Mott Street, New York, NY 10013", 40.71470, -73.99844),
            ("Apt 2F, 23 Pell Street, New York, NY 10013", 40.71452, -73.99792),
            ("Apt 6, 12 Doyers Street, New York, NY 10013", 40.71426, -73.99813),
            ("18 Bayard Street, New York, NY 10013", 40.71555, -73.99883),
        ),
    ),
    "America/Los_Angeles": Area(
        "Chinatown San Francisco",
        (
            ("Apt 3, 950 Grant Avenue, San Francisco, CA 94108", 37.79452, -122.40643),
            ("Apt 12, 841 Stockton Street, San Francisco, CA 94108", 37.79388, -122.40827),
            ("Apt 5, 15 Ross Alley, San Francisco, CA 94108", 37.79495, -122.40713),
            ("827 Washington Street, San Francisco, CA 94108", 37.79528, -122.40661),
        ),
    ),
}
# The creditor's default visiting hours (``Creditor``), and how much of them the demo needs
# left: a world built at 20:30 would refuse every arrival half an hour later.
HOURS = (dt.time(8, 0), dt.time(21, 0))
TIME_LEFT = dt.timedelta(hours=2)


def in_visiting_hours(now: dt.datetime, zone: str) -> bool:
    """Is it visiting time in ``zone`` with at least ``TIME_LEFT`` of it to go?"""
    local = now.astimezone(zoneinfo.ZoneInfo(zone))
    last_start = dt.datetime.combine(local.date(), HOURS[1], tzinfo=local.tzinfo) - TIME_LEFT
    return HOURS[0] <= local.time() and local <= last_start


def zone_for(now: dt.datetime) -> str:
    """The first zone of ``AREAS`` where it is visiting time: Shanghai when it is there."""
    for zone in AREAS:
        if in_visiting_hours(now, zone):
            return zone
    return ZONE  # the areas cover every hour of the day; kept for an edited list


DEBTORS = [
    ("王建国", "310101198203154511", Decimal("86500.00")),
    ("李秀英", "310104197911082226", Decimal("42300.50")),
    ("张伟", "310115199005023310", Decimal("12800.00")),
    ("陈静", "310110198507193428", Decimal("5600.00")),
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
    ("duty_manager", Role.SUPERVISOR, True, "Qiang", "Ma"),
    ("team_lead", Role.TEAM_LEAD, True, "Li", "Chen"),
    ("risk_manager", Role.RISK_MANAGER, True, "Hong", "Lin"),
    ("legal", Role.LEGAL, True, "Hui", "Huang"),
    ("auditor", Role.AUDITOR, True, "Ning", "Xu"),
]


def build_world(day: dt.date | None = None, zone_name: str = ZONE) -> dict[str, Any]:
    """Build a new demo world in ``zone_name`` (one of ``AREAS``) for ``day`` (today there by
    default): its logins, its approved route and the route's stops."""
    area = AREAS[zone_name]
    zone = zoneinfo.ZoneInfo(zone_name)
    day = day or timezone.localdate(timezone.now(), zone)
    suffix = _suffix()
    with transaction.atomic():
        people, logins = _people(suffix)
        creditor = Creditor.objects.create(
            name=f"Demo Consumer Finance{suffix}", code=f"demo{suffix.replace('_', '-')}"
        )
        team = _teams(people, suffix, day, area, zone_name)
        addresses = _cases(creditor, team, day, area, zone_name)
        route = Route.objects.create(team=team, date=day, planned_by=people["planner"])
        for sequence, address in enumerate(addresses[:3], start=1):
            Stop.objects.create(route=route, sequence=sequence, case=address.case, address=address)
    _approve_evening_before(route, people, day, zone)
    stops = Stop.objects.filter(route=route).select_related("address", "visit").order_by("sequence")
    return {
        "users": logins,
        "zone": zone_name,
        "area": area.name,
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


def _teams(people: dict[str, User], suffix: str, day: dt.date, area: Area, zone: str) -> Team:
    """The demo team (with agents A and B) and another team (with the outsiders), every agent
    qualified; returns the demo team."""
    team = Team.objects.create(
        name=f"{area.name} field team{suffix}",
        supervisor=people["supervisor"],
        lead=people["team_lead"],
        risk_manager=people["risk_manager"],
        timezone=zone,
    )
    # The on-call chain: the supervisor, then the duty manager, each reached by e-mail (the
    # quick start prints e-mail to the console). Demo addresses are marked verified; a real
    # contact is verified by the test message sent from admin (Contact points).
    for position, key in enumerate(["supervisor", "duty_manager"], start=1):
        user = people[key]
        ContactPoint.objects.create(
            user=user, kind=ContactKind.EMAIL, value=f"{user.username}@example.com",
            verified_at=timezone.now(),
        )  # fmt: skip
        OnCallEntry.objects.create(team=team, position=position, user=user, role=key)
    other = Team.objects.create(
        name=f"{area.name} second team{suffix}", supervisor=people["supervisor"], timezone=zone
    )
    # The second team's partner is outsourced: an agency with its agreement on file.
    agency = Agency.objects.create(
        name=f"{area.name} Field Services{suffix}", registration_number="91310000MA1FL0000X"
    )
    paper_actions.record_agreement(
        agency_id=agency.pk,
        reference=f"AG-{secrets.token_hex(3).upper()}",
        issued_by=agency.name,
        issued_on=min(day, timezone.localdate()) - dt.timedelta(days=200),
        expires_on=day + dt.timedelta(days=165),
        by=people["supervisor"],
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
        profile = AgentProfile.objects.create(
            user=people[key],
            team=member_of,
            badge_number=f"B{secrets.token_hex(3).upper()}{number}",
            background_check_on=checked,
            background_check_reference=f"PSB-{secrets.token_hex(4)}",
            agency=agency if key == "outsider_partner" else None,
        )
        _papers(profile, people["supervisor"], day, soon=key == "agent_b")
    return team


# Each paper: who issues it and how long it is in force.
PAPERS = {
    DocumentKind.CRIMINAL_RECORD: ("公安局派出所", 180),
    DocumentKind.CREDIT_REPORT: ("中国人民银行征信中心", 90),
    DocumentKind.TRAINING: ("Compliance training", 365),
}


def _papers(profile: AgentProfile, by: User, day: dt.date, soon: bool) -> None:
    """The agent's papers, issued 60 days before the route's day (or today); with ``soon``,
    the credit report runs out 20 days after it (the agent list and the job warn of it)."""
    issued = min(day, timezone.localdate()) - dt.timedelta(days=60)
    for kind, (issuer, days) in PAPERS.items():
        expires = day + dt.timedelta(days=days - 60)  # in force on the route's day
        if soon and kind == DocumentKind.CREDIT_REPORT:
            expires = day + dt.timedelta(days=20)
        paper_actions.record_document(
            agent_id=profile.pk,
            kind=kind,
            reference=f"{kind[:2].upper()}-{secrets.token_hex(4).upper()}",
            issued_by=issuer,
            issued_on=issued,
            expires_on=expires,
            by=by,
        )


def _cases(creditor: Creditor, team: Team, day: dt.date, area: Area, zone: str) -> list[Address]:
    """One case per debtor, each with its home address and a relation; the addresses."""
    stamp = secrets.token_hex(3).upper()
    addresses = []
    for number, ((debtor, id_number, amount), (text, lat, lon)) in enumerate(
        zip(DEBTORS, area.places, strict=True), start=1
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
                case=case, kind=AddressKind.HOME, text=text, lat=lat, lon=lon, timezone=zone
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
    # The risk manager approves (seeds: 上门催收个案的确定).
    route_actions.decide_route(
        route.pk,
        people["risk_manager"],
        approve=True,
        comment="Demo route approved.",
        now=evening_before + dt.timedelta(minutes=30),
    )
