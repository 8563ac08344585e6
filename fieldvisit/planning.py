"""A route proposal for a team and a day, from the team's open cases (see rules/planning.py).

Reads only: the planner edits the proposal and ``actions.routes.create_route`` writes it.
A fixed number of queries whatever the number of cases: the cases with their creditors, their
addresses, and the debtors' other visits around the day.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db.models import Q

from fieldvisit.choices import CaseStatus, RouteStatus, StopStatus
from fieldvisit.models import Address, Case, Stop, Team
from fieldvisit.rules import Verdict
from fieldvisit.rules import planning as rules
from fieldvisit.texts import _


@dataclass
class ProposedStop:
    address: Address
    arrive: dt.datetime
    leave: dt.datetime
    walk_m: float  # from the previous stop


@dataclass
class LeftOut:
    case: Case
    address: Address | None
    reason: str


@dataclass
class Proposal:
    team: Team
    day: dt.date
    stops: list[ProposedStop] = field(default_factory=list)
    left_out: list[LeftOut] = field(default_factory=list)
    length_m: float = 0.0  # the proposed order
    nearest_neighbour_m: float = 0.0  # the same stops in nearest-neighbour order
    priority_order_m: float = 0.0  # the same stops in priority order


def debtor_key(case: Case) -> str:
    """The frequency cap counts per debtor: all cases with one ID number together."""
    return f"id:{case.debtor_id_number}" if case.debtor_id_number else f"case:{case.number}"


def other_visit_days(cases: Sequence[Case], day: dt.date) -> dict[str, list[dt.date]]:
    """Each debtor's stops on live routes (any team) within six days of ``day``: planned
    visits count against the cap like walked ones. One query."""
    ids = {c.debtor_id_number for c in cases if c.debtor_id_number}
    bare = [c.pk for c in cases if not c.debtor_id_number]
    stops = (
        Stop.objects.filter(Q(case__debtor_id_number__in=ids) | Q(case_id__in=bare))
        .filter(route__date__range=(day - dt.timedelta(days=6), day + dt.timedelta(days=6)))
        .exclude(route__status=RouteStatus.REJECTED)
        .exclude(status=StopStatus.SKIPPED)
        .values_list("case__debtor_id_number", "case__number", "route__date")
    )
    days: dict[str, list[dt.date]] = {}
    for id_number, number, date in stops:
        key = f"id:{id_number}" if id_number else f"case:{number}"
        days.setdefault(key, []).append(date)
    return days


def cap_verdicts(cases: Sequence[Case], day: dt.date) -> dict[str, tuple[int, Verdict]]:
    """Per debtor: how many more visits ``day`` may hold, and the verdict that stops the next."""
    days = other_visit_days(cases, day)
    verdicts: dict[str, tuple[int, Verdict]] = {}
    for case in cases:
        key = debtor_key(case)
        allowed, verdict = rules.visits_allowed(
            days.get(key, []),
            day,
            case.creditor.max_visits_per_day,
            case.creditor.max_visits_per_7_days,
        )
        if key in verdicts:  # two creditors, two caps: the stricter one holds
            allowed = min(allowed, verdicts[key][0])
            verdict = verdict if allowed < verdicts[key][0] else verdicts[key][1]
        verdicts[key] = (allowed, verdict)
    return verdicts


def open_cases(team: Team) -> list[Case]:
    return list(
        Case.objects.filter(team=team, status=CaseStatus.OPEN)
        .select_related("creditor")
        .prefetch_related("addresses")
        .order_by("number")
    )


def _candidate(case: Case, address: Address, allowed: int) -> rules.Candidate:
    return rules.Candidate(
        key=str(address.pk),
        case_number=case.number,
        debtor=debtor_key(case),
        reachable=case.reachable,
        amount_due=case.amount_due,
        lat=address.lat,
        lon=address.lon,
        kind=address.kind,
        zone=address.zone_name,
        hours_start=case.creditor.visit_hours_start,
        hours_end=case.creditor.visit_hours_end,
        visits_allowed=allowed,
    )


def _candidates(
    proposal: Proposal, cases: list[Case]
) -> tuple[list[rules.Candidate], list[Address]]:
    """Every address that may be visited that day, as a candidate (and its address, at the
    same position); the others are left out of ``proposal`` with the reason."""
    caps = cap_verdicts(cases, proposal.day)
    candidates: list[rules.Candidate] = []
    places: list[Address] = []
    for case in cases:
        allowed, verdict = caps[debtor_key(case)]
        addresses = list(case.addresses.all())
        if not addresses:
            proposal.left_out.append(LeftOut(case, None, _("no address")))
        for address in addresses:
            if not address.geocoded:
                proposal.left_out.append(LeftOut(case, address, _("no coordinates")))
            elif allowed == 0:
                proposal.left_out.append(LeftOut(case, address, verdict.detail))
            else:
                places.append(address)
                candidates.append(_candidate(case, address, allowed))
    return candidates, places


def _place_stops(proposal: Proposal, places: list[Address], kept: list[rules.Timed]) -> None:
    """The stops in walking order, each with the walk from the one before."""
    previous: Address | None = None
    for timed in kept:
        address = places[timed.index]
        walk = (
            0.0
            if previous is None
            else rules.distance_m(previous.lat, previous.lon, address.lat, address.lon)
        )
        proposal.stops.append(ProposedStop(address, timed.arrive, timed.leave, walk))
        previous = address


def propose(
    team: Team,
    day: dt.date,
    capacity: int = rules.DEFAULT_STOPS,
    start: dt.time = rules.DEFAULT_START,
) -> Proposal:
    """Choose and order the stops of ``team``'s route for ``day`` (see rules/planning.py)."""
    proposal = Proposal(team=team, day=day)
    candidates, places = _candidates(proposal, open_cases(team))
    chosen, left = rules.select(candidates, capacity)
    for i, reason in sorted(left.items()):
        proposal.left_out.append(LeftOut(places[i].case, places[i], reason))
    if not chosen:
        return proposal
    # ``chosen`` is most pressing first: the walk starts at the most pressing account.
    order, _nearest, _final = rules.shortest_walk(
        [(candidates[i].lat, candidates[i].lon) for i in chosen]
    )
    depart = dt.datetime.combine(day, start, tzinfo=zoneinfo.ZoneInfo(team.timezone))
    kept, dropped = rules.fit_visit_hours(candidates, [chosen[k] for k in order], depart)
    for timed in dropped:
        address = places[timed.index]
        proposal.left_out.append(LeftOut(address.case, address, timed.verdict.detail))
    _place_stops(proposal, places, kept)
    measure(proposal)
    return proposal


def measure(proposal: Proposal) -> None:
    """The proposed walk's length against nearest neighbour alone and the priority order."""
    points = [(s.address.lat, s.address.lon) for s in proposal.stops]
    matrix = rules.distance_matrix(points)
    proposal.length_m = rules.path_length(matrix, range(len(points)))
    proposal.nearest_neighbour_m = rules.path_length(matrix, rules.nearest_neighbour(matrix, 0))

    def pressing(i: int) -> tuple[object, ...]:
        case = proposal.stops[i].address.case
        return (
            not case.reachable,
            -case.amount_due,
            case.number,
            str(proposal.stops[i].address.pk),
        )

    proposal.priority_order_m = rules.path_length(matrix, sorted(range(len(points)), key=pressing))
