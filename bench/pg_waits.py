"""What PostgreSQL's sessions of one database are doing, sampled while a bench runs.

    .venv/bin/python bench/pg_waits.py DATABASE [--every 0.2] [--seconds 300]

Every ``--every`` seconds, each client session of DATABASE is counted by what it is doing:
running (on the CPU or its disk), waiting for a lock (by the statement that waits: the
ledger head's ``SELECT ... FOR UPDATE``, a route's lock ...), idle in a transaction (the
application is working between two statements while its locks are held), or idle. Printed
at the end as shares of all samples: whether the ledger's single head-row lock is what
limits a load is then a measurement, not a guess.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

import psycopg

SAMPLE = """
SELECT a.state, a.wait_event_type, a.wait_event, left(regexp_replace(a.query, '\\s+', ' ', 'g'), 70)
FROM pg_stat_activity a
WHERE a.datname = %s AND a.pid <> pg_backend_pid() AND a.backend_type = 'client backend'
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("database")
    parser.add_argument("--every", type=float, default=0.2)
    parser.add_argument("--seconds", type=float, default=300.0)
    args = parser.parse_args()
    counts: Counter[str] = Counter()
    lock_waits: Counter[str] = Counter()
    samples = 0
    url = "postgresql://postgres@127.0.0.1:5432/postgres"
    with psycopg.connect(url, autocommit=True) as conn:
        deadline = time.monotonic() + args.seconds
        while time.monotonic() < deadline:
            rows = conn.execute(SAMPLE, [args.database]).fetchall()
            if any(state == "active" for state, *_ in rows):
                samples += 1
                for state, wait_type, wait, query in rows:
                    if state == "active" and wait_type == "Lock":
                        counts["waiting for a lock"] += 1
                        lock_waits[query] += 1
                    elif state == "active" and wait_type in ("IO", "LWLock"):
                        counts[f"active, waiting on {wait_type}:{wait}"] += 1
                    elif state == "active":
                        counts["active (CPU, or WAL/commit)"] += 1
                    else:
                        counts[str(state)] += 1
            time.sleep(args.every)
    print(f"{samples} samples with a statement running; sessions per sample, by state:")
    for what, n in counts.most_common():
        print(f"  {n / max(samples, 1):6.2f}  {what}")
    print("lock waits by the waiting statement (sessions per sample):")
    for query, n in lock_waits.most_common(8):
        print(f"  {n / max(samples, 1):6.2f}  {query}")


if __name__ == "__main__":
    main()
