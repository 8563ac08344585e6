"""Panic delivery: the time from a panic request to its first delivery at a local receiver,
while 100 teams walk their routes (``bench/load.py``'s scenario), through gunicorn on
PostgreSQL. Run by hand.

    .venv/bin/python bench/panic_delivery.py [--teams 100] [--panics 200] [--duration 120]
                                             [--dispatch thread|job]

The alerts' only channel besides e-mail is the signed webhook, pointed at a receiver in this
process (``tests/receiver.py``), so "delivered" is the moment the receiver holds the POST.
``--dispatch thread`` (the default without a broker) sends each alert's notices on the
server's own threads right after the panic commits; ``--dispatch job`` leaves them to the
``deliver_alerts`` job, run here every ``DELIVER_ALERTS_EVERY_S`` (5 s) as Celery beat would.

Reported: panic request round trip p50/p99, time to delivery p50/p99/max, the ratio of
delivery p50 to the panic request's own p50 (both measured in this run), every panic
delivered exactly once (by its ``Idempotency-Key``), and the load's errors. Goal (issue 24):
delivery p99 under 5 s.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from load import (  # noqa: E402
    Pace,
    Phone,
    Stats,
    check_visit_hours,
    percentile,
    run_load,
    seed,
    start_gunicorn,
    wait_for,
)

from tests.receiver import Receiver  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--teams", type=int, default=100)
    parser.add_argument("--panics", type=int, default=200)
    parser.add_argument("--duration", type=float, default=120.0, help="seconds of load")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--dispatch", choices=["thread", "job"], default="thread")
    parser.add_argument("--database", default="panicbench", help="PostgreSQL database (dropped!)")
    args = parser.parse_args()
    import datetime as dt

    check_visit_hours(dt.datetime.now(dt.UTC), args.duration)

    from _django import setup

    with Receiver() as receiver:
        os.environ["ALERT_WEBHOOK_URL"] = f"{receiver.url}/hooks"
        os.environ["ALERT_WEBHOOK_SECRET"] = secrets.token_hex(16)
        os.environ["ALERT_CHANNELS_CRITICAL"] = "webhook,email"
        os.environ["ALERT_DISPATCH"] = args.dispatch
        # The e-mails of 200 panics stay in memory, here and in the server.
        os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
        print("database:", setup("postgres", "panic", database=args.database))
        from django.db import close_old_connections, connection

        from tests.childserver import free_port

        plans = seed(args.teams, 3)
        connection.close()
        print(f"seeded {len(plans)} teams; dispatch: {args.dispatch}")
        port = free_port()
        server, _log = start_gunicorn(port, args.workers, args.threads)
        stop_jobs = threading.Event()
        try:
            wait_for(port)
            if args.dispatch == "job":
                from fieldvisit import jobs

                def job_runner() -> None:
                    every = int(os.environ.get("DELIVER_ALERTS_EVERY_S", "5"))
                    while not stop_jobs.wait(every):
                        close_old_connections()
                        jobs.deliver_alerts()

                threading.Thread(target=job_runner, daemon=True).start()
            stats = Stats()
            pace = Pace(
                duration_s=args.duration, periodic_s=30.0, segment_s=10.0, photos=1,
                stagger_s=10.0,
            )  # fmt: skip
            load = threading.Thread(
                target=run_load, args=(plans, "127.0.0.1", port, pace, stats), daemon=True
            )
            load.start()
            sent: dict[str, float] = {}
            round_trips: list[float] = []
            lock = threading.Lock()
            panic_stats = Stats()
            rng = random.Random(7)
            times = sorted(rng.uniform(5.0, args.duration - 5.0) for _ in range(args.panics))
            begin = time.monotonic()

            def fire(at: float, n: int) -> None:
                plan = plans[n % len(plans)]
                phone = Phone("127.0.0.1", port, plan.tokens[n % 2], panic_stats)
                delay = begin + at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                alert_id = str(uuid.uuid4())
                stop = plan.stops[0]
                body = {"id": alert_id, "lat": stop.lat, "lon": stop.lon, "discreet": True,
                        "captured_at": dt.datetime.now(dt.UTC).isoformat()}  # fmt: skip
                started = time.monotonic()
                with lock:
                    sent[alert_id] = started
                phone.post_json("panic", "/api/v1/alerts/panic/", body)
                with lock:
                    round_trips.append(time.monotonic() - started)

            firing = [
                threading.Thread(target=fire, args=(at, n), daemon=True)
                for n, at in enumerate(times)
            ]
            for thread in firing:
                thread.start()
            for thread in firing:
                thread.join(args.duration + 60)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                arrived = {r.json()["facts"]["alert"] for r in receiver.received}
                if set(sent) <= arrived:
                    break
                time.sleep(0.5)
            load.join(args.duration + 240)
        finally:
            stop_jobs.set()
            server.terminate()
            server.wait(30)

        first: dict[str, float] = {}
        keys: dict[str, int] = {}
        for request in receiver.received:
            alert = request.json()["facts"]["alert"]
            first.setdefault(alert, request.at)
            key = request.headers.get("Idempotency-Key", "")
            keys[key] = keys.get(key, 0) + 1
        latencies = [first[a] - sent[a] for a in sent if a in first]
        missing = [a for a in sent if a not in first]
        print(f"panics: {len(sent)} sent, {len(latencies)} delivered, {len(missing)} missing, "
              f"{sum(1 for c in keys.values() if c > 1)} delivered twice")  # fmt: skip
        rt50, rt99 = percentile(round_trips, 50), percentile(round_trips, 99)
        print(f"  panic request round trip: p50 {rt50 * 1000:.0f} ms, p99 {rt99 * 1000:.0f} ms")
        if latencies:
            d50, d99 = percentile(latencies, 50), percentile(latencies, 99)
            print(f"  request -> first delivery: p50 {d50 * 1000:.0f} ms, p99 {d99 * 1000:.0f} ms, "
                  f"max {max(latencies) * 1000:.0f} ms")  # fmt: skip
            print(f"  RATIO delivery p50 / panic request p50 = {d50 / rt50:.2f}")
            print(f"  goal p99 < 5 s: {'met' if d99 < 5 else 'NOT met'}")
        print(f"load: {stats.requests} requests, {stats.error_count} errors "
              f"(+{panic_stats.error_count} panic errors)")  # fmt: skip
        for op, errors in list(stats.errors.items())[:5]:
            print("   ", op, errors[:2])
        failed = missing or stats.error_count or panic_stats.error_count
        sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
