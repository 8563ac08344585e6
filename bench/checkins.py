"""Check-in throughput through the full stack, run by hand.

    .venv/bin/python bench/checkins.py [--db sqlite|postgres] [--count 1000]

Both sides go through Django's request handling, middleware, DRF, token authentication and
JSON rendering in this process; the baseline is an authenticated endpoint that does nothing
else. Prints the ratio (goal >= 0.5), the queries one periodic check-in costs, and each
statement's mean time (the COMMIT's too) next to the whole request's, and what the goal
leaves for the rest once the statements are paid.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _django import setup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--database", help="PostgreSQL database (dropped!; default bench_checkins)")
    parser.add_argument("--profile", action="store_true", help="Profile check-ins only.")
    parser.add_argument("--sort", default="cumulative", help="pstats sort key for --profile")
    parser.add_argument("--callees", help="with --profile: what these functions call (regex)")
    args = parser.parse_args()
    import os

    os.environ["THROTTLE_USER"] = "100000000/min"
    os.environ["THROTTLE_WRITE"] = "100000000/min"
    print("database:", setup(args.db, "checkins", args.database))

    from django.conf import settings
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import path
    from rest_framework.response import Response
    from rest_framework.test import APIClient
    from rest_framework.views import APIView

    import config.urls
    from fieldvisit.actions.auth import issue_token
    from fieldvisit.demo import build_world, zone_for
    from fieldvisit.models import Route

    class Noop(APIView):
        def get(self, request):  # type: ignore[no-untyped-def]
            return Response({"ok": True})

    config.urls.urlpatterns.append(path("bench/noop/", Noop.as_view()))
    settings.ALLOWED_HOSTS = ["*"]

    world = build_world(zone_name=zone_for(dt.datetime.now(dt.UTC)))  # visiting time
    route = Route.objects.get(pk=world["route"]["id"])
    clients = []
    for name in ("agent_a", "agent_b"):
        user = User.objects.get(username=world["users"][name]["username"])
        token, _ = issue_token(user, f"{name}-bench", "bench", "android")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        clients.append(client)
    stop = world["stops"][0]

    def checkin(n: int, kind: str = "periodic") -> None:
        body = {
            "id": str(uuid.uuid4()),
            "route": str(route.pk),
            "kind": kind,
            "lat": stop["lat"] + 0.0001 * (n % 3),
            "lon": stop["lon"],
            "accuracy_m": 8,
            "captured_at": dt.datetime.now(dt.UTC).isoformat(),
        }
        response = clients[n % 2].post("/api/v1/checkins/", body, format="json")
        assert response.status_code == 201, response.content

    def noop(n: int) -> None:
        assert clients[n % 2].get("/bench/noop/").status_code == 200

    for n in range(2):
        checkin(n, "depart")
    for n in range(20):  # warm up both paths
        checkin(n)
        noop(n)

    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.runcall(lambda: [checkin(n) for n in range(args.count)])
        stats = pstats.Stats(profiler).sort_stats(args.sort)
        stats.print_stats(40)
        if args.callees:
            stats.print_callees(args.callees)
        return

    def rate(fn) -> float:  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        for n in range(args.count):
            fn(n)
        return args.count / (time.perf_counter() - started)

    best_checkin, best_noop = 0.0, 0.0
    for _ in range(3):  # interleaved rounds: noise hits both sides alike
        best_noop = max(best_noop, rate(noop))
        best_checkin = max(best_checkin, rate(checkin))
    with CaptureQueriesContext(connection) as queries:
        checkin(0)
    with CaptureQueriesContext(connection) as noop_queries:
        noop(0)
    print(f"check-ins: {best_checkin:,.0f}/s; authenticated no-op: {best_noop:,.0f}/s")
    print(f"  RATIO check-ins / no-op = {best_checkin / best_noop:.2f}  (goal >= 0.5)")
    print(f"  queries per periodic check-in: {len(queries)} (no-op: {len(noop_queries)})")
    parts = statement_times(connection, checkin, args.count)
    print(f"  a check-in's statements, mean over {args.count} (the rest is Python):")
    for sql, seconds in parts:
        print(f"    {seconds * 1000:6.3f} ms  {sql[:90]}")
    # What the goal leaves: the whole check-in in twice the no-op's time, its statements
    # included (their times include the driver's call; the no-op's one query is among them).
    statements = sum(seconds for _, seconds in parts[:-1])
    allowed = 2 / best_noop
    print(
        f"  goal: a whole check-in in {allowed * 1000:.3f} ms (twice the no-op's "
        f"{1000 / best_noop:.3f}); its statements take {statements * 1000:.3f} ms of it, "
        f"leaving {(allowed - statements) * 1000:.3f} ms for everything else "
        f"(now {(parts[-1][1] - statements) * 1000:.3f} ms)"
    )


def statement_times(connection, checkin, count: int) -> list[tuple[str, float]]:  # type: ignore[no-untyped-def]
    """Each statement's mean time over ``count`` check-ins (clocked around the driver's call,
    the round trip included), and the COMMIT's, with the whole request's last."""
    import collections

    totals: collections.Counter[str] = collections.Counter()

    def clocked(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            # One line for a statement however many rows it writes (the Merkle nodes).
            rows = re.sub(r"(\((?:%s, )*%s\))(?:, \((?:%s, )*%s\))+", r"\1, ...", sql)
            totals[" ".join(rows.split())] += time.perf_counter() - started

    wrapper = connection._connections[connection._alias]
    commit = type(wrapper)._commit

    def clocked_commit(self):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return commit(self)
        finally:
            totals["COMMIT"] += time.perf_counter() - started

    type(wrapper)._commit = clocked_commit
    try:
        started = time.perf_counter()
        with connection.execute_wrapper(clocked):
            for n in range(count):
                checkin(n)
        whole = time.perf_counter() - started
    finally:
        type(wrapper)._commit = commit
    parts = [(sql, seconds / count) for sql, seconds in totals.most_common()]
    return [*parts, ("the whole request", whole / count)]


if __name__ == "__main__":
    main()
