"""Route proposal rules: priority, adjacent grouping, caps, nearest neighbour + 2-opt, hours."""

from __future__ import annotations

import datetime as dt
import itertools
import random
import zoneinfo
from decimal import Decimal

import pytest

from fieldvisit.rules import planning as rules
from fieldvisit.rules.checkins import distance_m

ZONE = zoneinfo.ZoneInfo("Asia/Shanghai")
DAY = dt.date(2026, 11, 25)
# About 111 m per 0.001 degree of latitude near Shanghai.
LAT, LON = 31.2304, 121.4737


def cand(key: str, **fields: object) -> rules.Candidate:
    defaults: dict[str, object] = {
        "case_number": f"C-{key}",
        "debtor": f"d-{key}",
        "reachable": True,
        "amount_due": Decimal("1000"),
        "lat": LAT,
        "lon": LON,
    }
    return rules.Candidate(key=key, **{**defaults, **fields})  # type: ignore[arg-type]


# --- priority and selection -------------------------------------------------------------


def test_reachable_accounts_come_before_higher_amounts() -> None:
    rich_unreachable = cand("a", reachable=False, amount_due=Decimal("90000"))
    poor_reachable = cand("b", amount_due=Decimal("10"))
    rich_reachable = cand("c", amount_due=Decimal("500"))
    ranked = sorted([rich_unreachable, poor_reachable, rich_reachable], key=rules.priority)
    assert [c.key for c in ranked] == ["c", "b", "a"]


def test_home_address_before_workplace_for_the_same_case() -> None:
    work = cand("w", case_number="C-1", kind="work")
    home = cand("h", case_number="C-1", kind="home")
    assert sorted([work, home], key=rules.priority)[0] is home


def test_adjacent_addresses_are_grouped_and_come_along_with_the_best() -> None:
    far = 0.05  # about 5.5 km away
    candidates = [
        cand("top", amount_due=Decimal("9000")),
        cand("second", amount_due=Decimal("8000"), lat=LAT + far),
        cand("neighbour", amount_due=Decimal("10"), lat=LAT + 0.002),  # ~220 m from top
        cand("chain", amount_due=Decimal("5"), lat=LAT + 0.004),  # ~220 m from neighbour
    ]
    groups = rules.group_adjacent(candidates)
    assert groups == [[0, 2, 3], [1]]
    chosen, left = rules.select(candidates, capacity=3)
    # The top account brings its neighbours: the second-largest amount waits for another day.
    assert sorted(chosen) == [0, 2, 3]
    assert left == {1: "the route is full (3 stops)"}


def test_a_debtor_is_chosen_only_as_often_as_their_cap_allows() -> None:
    candidates = [
        cand("home", case_number="C-1", debtor="d-1", visits_allowed=1),
        cand("work", case_number="C-1", debtor="d-1", kind="work", lat=LAT + 0.01),
        cand("other-case-same-debtor", case_number="C-2", debtor="d-1", lat=LAT + 0.02),
        cand("twice-allowed-1", debtor="d-2", visits_allowed=2, lat=LAT + 0.03),
        cand("twice-allowed-2", debtor="d-2", visits_allowed=2, lat=LAT + 0.04),
    ]
    chosen, left = rules.select(candidates, capacity=10)
    assert sorted(chosen) == [0, 3, 4]
    assert set(left) == {1, 2}
    assert all("frequency cap" in reason for reason in left.values())


def test_selection_is_deterministic_whatever_the_input_order() -> None:
    rng = random.Random(7)
    candidates = [
        cand(
            f"{n:03d}",
            amount_due=Decimal(rng.randint(1, 50)),
            reachable=rng.random() < 0.7,
            lat=LAT + rng.uniform(-0.03, 0.03),
            lon=LON + rng.uniform(-0.03, 0.03),
        )
        for n in range(40)
    ]
    shuffled = candidates[:]
    rng.shuffle(shuffled)
    first, _ = rules.select(candidates, 10)
    second, _ = rules.select(shuffled, 10)
    assert [candidates[i].key for i in first] == [shuffled[i].key for i in second]


# --- frequency caps, through the check-in rule ----------------------------------------------


@pytest.mark.parametrize(
    ("other_days", "per_day", "per_week", "allowed"),
    [
        ([], 1, 3, 1),
        ([DAY], 1, 3, 0),  # already visited that day
        ([DAY], 2, 3, 1),
        ([DAY - dt.timedelta(days=1), DAY - dt.timedelta(days=3)], 1, 3, 1),
        (
            [DAY - dt.timedelta(days=1), DAY - dt.timedelta(days=3), DAY - dt.timedelta(days=6)],
            1,
            3,
            0,
        ),
        # Planned visits after the day count too: any rolling 7 days containing it.
        (
            [DAY + dt.timedelta(days=2), DAY + dt.timedelta(days=5), DAY - dt.timedelta(days=1)],
            1,
            3,
            0,
        ),
        # Seven days before is outside every window that contains the day.
        ([DAY - dt.timedelta(days=7)] * 3, 1, 3, 1),
        ([], 3, 3, 3),
    ],
)
def test_visits_allowed(
    other_days: list[dt.date], per_day: int, per_week: int, allowed: int
) -> None:
    got, verdict = rules.visits_allowed(other_days, DAY, per_day, per_week)
    assert got == allowed
    assert verdict.code == "frequency_cap"


def test_visits_counted_takes_the_busiest_window() -> None:
    days = [DAY - dt.timedelta(days=6), DAY + dt.timedelta(days=6), DAY + dt.timedelta(days=1)]
    assert rules.visits_counted(days, DAY) == (0, 2)


# --- ordering: nearest neighbour and 2-opt ----------------------------------------------------


def brute_force(matrix: list[list[float]]) -> float:
    n = len(matrix)
    return min(
        rules.path_length(matrix, [0, *rest]) for rest in itertools.permutations(range(1, n))
    )


def test_known_small_instance_on_a_line() -> None:
    # Stops on one street, listed out of order: the shortest walk goes straight along it.
    lats = [0.0, 0.004, 0.001, 0.003, 0.002]
    order, nn, best = rules.shortest_walk([(LAT + d, LON) for d in lats])
    assert order == [0, 2, 4, 3, 1]
    assert best == pytest.approx(distance_m(LAT, LON, LAT + 0.004, LON))
    assert nn == pytest.approx(best)


def test_two_opt_repairs_a_crossing_nearest_neighbour_leaves() -> None:
    # A classic trap for nearest neighbour: it runs to the near side, then has to cross back.
    points = [(LAT, LON), (LAT, LON + 0.010), (LAT, LON - 0.011), (LAT + 0.02, LON + 0.010)]
    matrix = rules.distance_matrix(points)
    nn = rules.nearest_neighbour(matrix)
    better = rules.two_opt(matrix, nn)
    assert rules.path_length(matrix, better) < rules.path_length(matrix, nn)
    assert rules.path_length(matrix, better) == pytest.approx(brute_force(matrix))
    assert better[0] == 0


@pytest.mark.parametrize("seed", range(25))
def test_two_opt_is_never_longer_than_nearest_neighbour(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(2, 9)
    points = [(LAT + rng.uniform(-0.05, 0.05), LON + rng.uniform(-0.05, 0.05)) for _ in range(n)]
    matrix = rules.distance_matrix(points)
    nn = rules.nearest_neighbour(matrix)
    better = rules.two_opt(matrix, nn)
    assert sorted(better) == list(range(n)) and better[0] == 0
    assert rules.path_length(matrix, better) <= rules.path_length(matrix, nn) + 1e-6
    # Never better than the optimum, and on these sizes usually close to it.
    assert rules.path_length(matrix, better) >= brute_force(matrix) - 1e-6


def test_ordering_is_deterministic() -> None:
    rng = random.Random(3)
    points = [(LAT + rng.uniform(-0.05, 0.05), LON + rng.uniform(-0.05, 0.05)) for _ in range(60)]
    assert rules.shortest_walk(points) == rules.shortest_walk(points)


def test_empty_and_single_stop() -> None:
    assert rules.shortest_walk([]) == ([], 0.0, 0.0)
    assert rules.shortest_walk([(LAT, LON)]) == ([0], 0.0, 0.0)


# --- visit hours --------------------------------------------------------------------------


def test_stops_outside_visit_hours_are_dropped_and_the_team_waits_for_opening() -> None:
    depart = dt.datetime.combine(DAY, dt.time(9, 0), tzinfo=ZONE)
    candidates = [
        cand("early", hours_start=dt.time(8, 0), hours_end=dt.time(21, 0)),
        cand("opens-late", hours_start=dt.time(10, 0), hours_end=dt.time(21, 0)),
        cand("closes-early", hours_start=dt.time(8, 0), hours_end=dt.time(10, 15)),
        cand("open", hours_start=dt.time(8, 0), hours_end=dt.time(21, 0)),
    ]
    kept, dropped = rules.fit_visit_hours(candidates, [0, 1, 2, 3], depart, visit_min=30)
    assert [(t.index, t.arrive.astimezone(ZONE).time()) for t in kept] == [
        (0, dt.time(9, 0)),
        (1, dt.time(10, 0)),  # waited for the creditor's opening
        (3, dt.time(10, 30)),
    ]
    # Reached at 10:30, it would close during the visit: the leave check-in would break hours.
    assert [(t.index, t.verdict.code) for t in dropped] == [(2, "outside_visit_hours")]


def test_visit_hours_are_judged_in_the_address_zone() -> None:
    depart = dt.datetime.combine(DAY, dt.time(9, 0), tzinfo=ZONE)  # 02:00 in Berlin
    berlin = cand("berlin", zone="Europe/Berlin")
    kept, dropped = rules.fit_visit_hours([berlin], [0], depart)
    # The team waits for 08:00 in Berlin: the visit is judged there, not in Shanghai.
    assert not dropped
    assert kept[0].arrive.astimezone(zoneinfo.ZoneInfo("Europe/Berlin")).time() == dt.time(8, 0)


def test_the_day_ends_when_hours_run_out() -> None:
    depart = dt.datetime.combine(DAY, dt.time(19, 45), tzinfo=ZONE)
    candidates = [cand(str(n), lat=LAT + 0.001 * n) for n in range(4)]
    kept, dropped = rules.fit_visit_hours(candidates, [0, 1, 2, 3], depart, visit_min=30)
    assert [t.index for t in kept] == [0, 1]
    assert {t.verdict.code for t in dropped} == {"outside_visit_hours"}
