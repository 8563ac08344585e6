"""Route proposal: walk length and time for 200 candidate addresses, run by hand.

    .venv/bin/python bench/routes.py [--db sqlite|postgres] [--seed 1] [--rounds 5]

One run, one set of cases scattered over about 8 x 8 km of central Shanghai (seeded):

- ordering 200 addresses (rules/planning.py): the proposal's walk (nearest neighbour + 2-opt
  on great-circle distances) against nearest neighbour alone and against the planner's input
  order (the cases as listed, by number), as ratios of total length;
- the full proposal through the database (``planning.propose``: cases, caps, grouping,
  ordering, visit hours) for a team with 200 candidate addresses against a team with 20, as a
  ratio of time (best of ``--rounds``), with the query count of each.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
import zoneinfo
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _django import setup

CENTRE = (31.2304, 121.4737)
SPREAD_DEG = 0.036  # about 4 km each way


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print("database:", setup(args.db, "routes"))

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from fieldvisit import planning
    from fieldvisit.models import Address, Case, Creditor, Team
    from fieldvisit.rules import planning as rules

    rng = random.Random(args.seed)
    creditor = Creditor.objects.create(name="Bench Finance", code="bench")

    def team_with(size: int, name: str) -> Team:
        team = Team.objects.create(name=name, timezone="Asia/Shanghai")
        for n in range(size):
            case = Case.objects.create(
                number=f"{name}-{n:04d}",
                creditor=creditor,
                team=team,
                debtor_name=f"Debtor {n}",
                debtor_id_number=f"{name}{n:012d}",
                amount_due=Decimal(rng.randint(500, 200_000)),
                reachable=rng.random() < 0.7,
            )
            Address.objects.create(
                case=case,
                kind="home",
                text=f"{n} Bench Road",
                lat=CENTRE[0] + rng.uniform(-SPREAD_DEG, SPREAD_DEG),
                lon=CENTRE[1] + rng.uniform(-SPREAD_DEG, SPREAD_DEG),
                timezone="Asia/Shanghai",
            )
        return team

    big, small = team_with(200, "B200"), team_with(20, "S020")
    day = dt.datetime.now(zoneinfo.ZoneInfo("Asia/Shanghai")).date() + dt.timedelta(days=1)

    # --- ordering 200 addresses -------------------------------------------------------------
    points = list(
        Address.objects.filter(case__team=big).order_by("case__number").values_list("lat", "lon")
    )
    matrix = rules.distance_matrix(points)
    input_m = rules.path_length(matrix, range(len(points)))
    _, nn_m, best_m = rules.shortest_walk(points)

    def best_time(fn) -> float:  # type: ignore[no-untyped-def]
        times = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            fn()
            times.append(time.perf_counter() - started)
        return min(times)

    order_s = best_time(lambda: rules.shortest_walk(points))
    order_20_s = best_time(lambda: rules.shortest_walk(points[:20]))
    print(f"ordering {len(points)} addresses (start: the first listed):")
    print(f"  input order  {input_m / 1000:8.1f} km")
    print(f"  nearest nb.  {nn_m / 1000:8.1f} km")
    print(
        f"  NN + 2-opt   {best_m / 1000:8.1f} km   "
        f"in {order_s * 1000:.0f} ms (best of {args.rounds})"
    )
    print(f"  RATIO 2-opt / nearest neighbour = {best_m / nn_m:.3f}")
    print(f"  RATIO 2-opt / input order       = {best_m / input_m:.3f}")
    print(f"  RATIO time 200 / 20 addresses (ordering only) = {order_s / order_20_s:.0f}")

    # --- the full proposal through the database -----------------------------------------------
    def timed(team: Team) -> tuple[float, int, planning.Proposal]:
        times = []
        for _ in range(args.rounds):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                proposal = planning.propose(team, day)
                times.append(time.perf_counter() - started)
        return min(times), len(queries), proposal

    timed(small)  # warm up (timezone lookups, imports)
    big_s, big_q, big_p = timed(big)
    small_s, small_q, small_p = timed(small)
    print(f"proposal ({rules.DEFAULT_STOPS} stops at most, best of {args.rounds}):")
    print(
        f"  200 candidates: {big_s * 1000:7.1f} ms, {big_q} queries, "
        f"{len(big_p.stops)} stops, walk {big_p.length_m / 1000:.1f} km "
        f"(NN {big_p.nearest_neighbour_m / 1000:.1f} km)"
    )
    print(
        f"   20 candidates: {small_s * 1000:7.1f} ms, {small_q} queries, "
        f"{len(small_p.stops)} stops, walk {small_p.length_m / 1000:.1f} km"
    )
    print(f"  RATIO time 200 / 20 candidates = {big_s / small_s:.1f}")


if __name__ == "__main__":
    main()
