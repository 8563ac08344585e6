"""Proposing a day's route from a team's open cases (seeds: 上门催收个案的确定).

"高金额案件优先处理, 相邻地址的账户集中编排, 能够联系的账户优先安排外访" and the route is
planned the day before "以快捷、经济、安全为主". Read as rules for a proposal:

- who gets on the route (its capacity is limited): reachable accounts first, then higher
  amounts; accounts at adjacent addresses are arranged together, so a chosen account brings
  its neighbours along;
- in which order the stops are walked: the shortest path, a nearest-neighbour tour improved
  by 2-opt on great-circle distances, starting from the most pressing account;
- what may not be proposed at all: a debtor at their visit frequency cap, and a stop that
  cannot be reached inside its creditor's visit hours (judged by the check-in rules).

Plain functions over plain values, deterministic: the same candidates give the same proposal.
"""

from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from fieldvisit.rules import Verdict
from fieldvisit.rules.checkins import check_frequency_cap, check_visit_hours, distance_m
from fieldvisit.texts import _, format_lazy

# Addresses closer than this are "adjacent" (相邻): one chosen account brings the others.
ADJACENT_M = 300.0
# Door-to-door work on public transport: a conservative average over great-circle distance.
TRAVEL_KMH = 12.0
# A visit with its recording statements, photos and the notice: about half an hour.
VISIT_MIN = 30
DEFAULT_STOPS = 12
DEFAULT_START = dt.time(9, 0)
# Home first (seeds: 住宅地址通常是上门的首选地址), then workplace, mailing, registration, other.
KIND_RANK = {"home": 0, "work": 1, "mailing": 2, "household_registration": 3, "other": 4}


@dataclass(frozen=True)
class Candidate:
    """One address that could become a stop, with what the proposal weighs."""

    key: str  # the address id
    case_number: str
    debtor: str  # the debtor's ID number, or the case number when it has none
    reachable: bool
    amount_due: Decimal
    lat: float
    lon: float
    kind: str = "home"
    zone: str = "Asia/Shanghai"
    hours_start: dt.time = dt.time(8, 0)
    hours_end: dt.time = dt.time(21, 0)
    visits_allowed: int = 1  # more visits the debtor may have that day (frequency caps)


def priority(candidate: Candidate) -> tuple[object, ...]:
    """Sort key, most pressing first: reachable, then the larger amount; ties broken by case
    number, address kind and id so that the order never depends on the database's."""
    return (
        not candidate.reachable,
        -candidate.amount_due,
        candidate.case_number,
        KIND_RANK.get(candidate.kind, len(KIND_RANK)),
        candidate.key,
    )


def visits_counted(other_days: Sequence[dt.date], day: dt.date) -> tuple[int, int]:
    """The debtor's other visits as the frequency cap counts them around ``day``: those on
    the day itself, and the most in any 7-day window that contains the day (a visit on
    ``day`` must keep every such rolling window under the weekly cap)."""
    same_day = sum(1 for d in other_days if d == day)
    busiest = 0
    for first in (day - dt.timedelta(days=back) for back in range(7)):
        last = first + dt.timedelta(days=6)
        busiest = max(busiest, sum(1 for d in other_days if first <= d <= last))
    return same_day, busiest


def visits_allowed(
    other_days: Sequence[dt.date], day: dt.date, per_day: int, per_7_days: int
) -> tuple[int, Verdict]:
    """How many visits the debtor may still have on ``day``, by the check-in cap rule, and
    the verdict that stops the next one."""
    days = list(other_days)
    allowed = 0
    while True:
        verdict = check_frequency_cap(*visits_counted(days, day), per_day, per_7_days)
        if not verdict.ok:
            return allowed, verdict
        allowed += 1
        days.append(day)


def group_adjacent(
    candidates: Sequence[Candidate], radius_m: float = ADJACENT_M
) -> list[list[int]]:
    """Indexes of candidates linked by chains of addresses within ``radius_m`` of each other,
    each group most pressing first, the groups ordered by their most pressing member."""
    parent = list(range(len(candidates)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    # A degree of latitude is at least 110.5 km anywhere: farther apart in latitude alone,
    # two addresses cannot be adjacent, and the great-circle distance need not be computed.
    lat_reach = radius_m / 110_500
    for i, a in enumerate(candidates):
        for j in range(i + 1, len(candidates)):
            b = candidates[j]
            if abs(a.lat - b.lat) > lat_reach:
                continue
            if distance_m(a.lat, a.lon, b.lat, b.lon) <= radius_m:
                parent[root(j)] = root(i)
    groups: dict[int, list[int]] = {}
    for i in range(len(candidates)):
        groups.setdefault(root(i), []).append(i)
    ordered = [sorted(g, key=lambda i: priority(candidates[i])) for g in groups.values()]
    return sorted(ordered, key=lambda g: priority(candidates[g[0]]))


def select(
    candidates: Sequence[Candidate], capacity: int, radius_m: float = ADJACENT_M
) -> tuple[list[int], dict[int, str]]:
    """Who gets on the route: groups of adjacent accounts, most pressing group first, until
    the route is full, and no debtor more often than their cap allows (``visits_allowed``,
    judged beforehand). Returns the chosen indexes (most pressing first) and why each other
    candidate was left out."""
    chosen: list[int] = []
    left_out: dict[int, str] = {}
    used: dict[str, int] = {}
    for group in group_adjacent(candidates, radius_m):
        for i in group:
            candidate = candidates[i]
            if used.get(candidate.debtor, 0) >= candidate.visits_allowed:
                left_out[i] = _("frequency cap: the debtor is already on this route")
            elif len(chosen) >= capacity:
                left_out[i] = format_lazy(
                    _("the route is full ({capacity} stops)"), capacity=capacity
                )
            else:
                chosen.append(i)
                used[candidate.debtor] = used.get(candidate.debtor, 0) + 1
    return sorted(chosen, key=lambda i: priority(candidates[i])), left_out


DistanceFn = Callable[[int, int], float]


def distance_matrix(points: Sequence[tuple[float, float]]) -> list[list[float]]:
    n = len(points)
    matrix = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            d = distance_m(*points[i], *points[j])
            matrix[i][j] = matrix[j][i] = d
    return matrix


def path_length(matrix: Sequence[Sequence[float]], order: Sequence[int]) -> float:
    """Length of the open path that walks ``order`` (no return to the start)."""
    return sum(matrix[a][b] for a, b in itertools.pairwise(order))


def nearest_neighbour(matrix: Sequence[Sequence[float]], start: int = 0) -> list[int]:
    """Always walk to the closest stop not yet visited (ties: the lower index)."""
    n = len(matrix)
    if n == 0:
        return []
    order = [start]
    left = set(range(n)) - {start}
    while left:
        here = matrix[order[-1]]
        step = min(left, key=lambda j: (here[j], j))
        order.append(step)
        left.remove(step)
    return order


def two_opt(matrix: Sequence[Sequence[float]], order: Sequence[int]) -> list[int]:
    """Improve an open path by reversing segments while that shortens it; the first stop
    stays first. Each accepted move shortens the path, so the result is never longer than
    the input and the loop ends."""
    route = list(order)
    n = len(route)
    improved = True
    while improved:
        improved = False
        for i in range(1, n - 1):
            a, b = route[i - 1], route[i]
            for j in range(i + 1, n):
                c = route[j]
                # Reversing route[i..j]: edges a-b and c-d become a-c and b-d (no d at the end).
                delta = matrix[a][c] - matrix[a][b]
                if j + 1 < n:
                    d = route[j + 1]
                    delta += matrix[b][d] - matrix[c][d]
                if delta < -1e-6:
                    route[i : j + 1] = reversed(route[i : j + 1])
                    b = route[i]
                    improved = True
    return route


def shortest_walk(points: Sequence[tuple[float, float]]) -> tuple[list[int], float, float]:
    """Order for the shortest walk from ``points[0]``: nearest neighbour, then 2-opt.
    Returns the order and the lengths (metres) of the nearest-neighbour and final paths."""
    matrix = distance_matrix(points)
    first = nearest_neighbour(matrix, 0)
    better = two_opt(matrix, first)
    return better, path_length(matrix, first), path_length(matrix, better)


@dataclass(frozen=True)
class Timed:
    index: int
    arrive: dt.datetime
    leave: dt.datetime
    verdict: Verdict


def fit_visit_hours(
    candidates: Sequence[Candidate],
    order: Sequence[int],
    depart: dt.datetime,
    travel_kmh: float = TRAVEL_KMH,
    visit_min: int = VISIT_MIN,
) -> tuple[list[Timed], list[Timed]]:
    """Walk the order from ``depart`` and keep the stops the team reaches inside their
    creditor's hours, in the address's zone; arriving early, the team waits for the opening.
    Both the arrival and the departure are judged as the check-in rule judges them. Returns
    the kept stops with their times and the dropped ones with the failed verdict."""
    speed_m_per_s = travel_kmh * 1000 / 3600
    visit = dt.timedelta(minutes=visit_min)
    kept: list[Timed] = []
    dropped: list[Timed] = []
    clock = depart
    here: Candidate | None = None
    for i in order:
        stop = candidates[i]
        travel = 0.0 if here is None else distance_m(here.lat, here.lon, stop.lat, stop.lon)
        arrive = clock + dt.timedelta(seconds=travel / speed_m_per_s)
        zone = zoneinfo.ZoneInfo(stop.zone)
        local = arrive.astimezone(zone)
        opening = dt.datetime.combine(local.date(), stop.hours_start, tzinfo=zone)
        if local < opening:
            arrive = opening
        leave = arrive + visit
        verdict = check_visit_hours(
            arrive.astimezone(zone).time(), stop.hours_start, stop.hours_end
        )
        if verdict.ok:
            # The leave check-in must be inside the hours too (the window's end is open).
            verdict = check_visit_hours(
                (leave - dt.timedelta(seconds=1)).astimezone(zone).time(),
                stop.hours_start,
                stop.hours_end,
            )
        if verdict.ok and leave.astimezone(zone).date() != depart.astimezone(zone).date():
            verdict = Verdict.failed("outside_visit_hours", _("The visit would end the next day."))
        if verdict.ok:
            kept.append(Timed(i, arrive, leave, verdict))
            clock, here = leave, stop
        else:
            dropped.append(Timed(i, arrive, leave, verdict))
    return kept, dropped
