"""A full RFM run (``services.rfm.recompute``) at scale, beside a bare SQL aggregate of the
same inputs, and the run's peak memory. The run and the baselines are timed in turn, round
by round, so their ratio holds on a shared, busy machine. Then the nightly case: runs one
day after the other, each writing that day's differences.

    python -m bench.rfm [--backend sqlite|postgresql|both] [--customers 100000] [--runs 10]

The database is seeded in this process; the timing runs in a fresh child process so its
peak RSS (``getrusage``) is the RFM run's own, not the seed's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

from bench.common import bare, print_table, seeded

# The inputs of a run as bare SQL: per customer the last visit ever, visits (distinct
# actions) and purchases in the window, left joined to every customer of the merchant.
# No corrected-action exclusion and nothing done with the rows: the floor to beat.
BARE_AGGREGATE = """
SELECT c.id, c.created_at, a.last_visit, a.visits, a.monetary
FROM customer c LEFT JOIN (
    SELECT customer_id,
           MAX(CASE WHEN kind IN ({kinds}) THEN created_at END) AS last_visit,
           COUNT(DISTINCT CASE WHEN kind IN ({kinds}) AND created_at >= :since THEN action_key END) AS visits,
           SUM(CASE WHEN created_at >= :since THEN COALESCE(purchase_cents, 0) ELSE 0 END) AS monetary
    FROM card_transaction
    WHERE merchant_id = :m AND kind <> 'correction'
    GROUP BY customer_id
) a ON a.customer_id = c.id
WHERE c.merchant_id = :m
"""


def _interleaved(fns: dict[str, Callable[[], object]], runs: int) -> dict[str, tuple[float, float]]:
    """Median and p95 ms of each function, run in turn (one of each per round, after one
    warm-up round), so a change of load on the shared machine hits all of them alike."""
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for round_ in range(runs + 1):
        for name, fn in fns.items():
            started = time.perf_counter()
            fn()
            if round_:
                samples[name].append((time.perf_counter() - started) * 1000)
    return {name: (statistics.median(s), sorted(s)[max(0, int(len(s) * 0.95) - 1)]) for name, s in samples.items()}


def measure(backend: str, merchant: int, runs: int) -> None:
    """In the child process: time the run and the bare aggregates, report peak RSS."""
    from perkstar_ui.db.engine import get_engine
    from perkstar_ui.domain import ledger
    from perkstar_ui.services import rfm

    now = dt.datetime.now(dt.timezone.utc)
    today = now.date()
    window_days = rfm.get_settings(merchant).window_days
    since = rfm.window_start(today, window_days)
    # SQLite keeps timestamps as text: compare with the stored format.
    since_param = since.strftime("%Y-%m-%d %H:%M:%S.%f") if backend == "sqlite" else since
    kinds = ", ".join(f"'{kind}'" for kind in sorted(ledger.ACTIVITY_KINDS))
    first = rfm.recompute(merchant, now=now)
    print(f"[{backend}] {first.customers} customers: " + ", ".join(f"{k} {v}" for k, v in first.counts.items()))
    print(f"[{backend}] first run (every row inserted): {first.duration_s:.2f} s, {first.written} rows written")
    # Two baselines: the floor above, and the run's own aggregate (corrected actions left
    # out, visits per distinct action) as text on a pooled connection, nothing written.
    engine = get_engine()
    own = str(rfm.aggregate_statement(merchant, today, window_days, engine.dialect.name)
              .compile(engine, compile_kwargs={"literal_binds": True}))
    written: list[int] = []
    stats = _interleaved({
        "recompute": lambda: written.append(rfm.recompute(merchant, now=now).written),
        "floor": bare(BARE_AGGREGATE.format(kinds=kinds), m=merchant, since=since_param),
        "own": bare(own),
    }, runs)
    # The nightly run: each run one day later than the last, so each writes one day's
    # differences (customers leaving the window, visits dropping out of it, moved scores).
    days = iter(range(1, runs + 2))
    nightly: list[int] = []
    later = _interleaved({
        "next day": lambda: nightly.append(rfm.recompute(merchant, now=now + dt.timedelta(days=next(days))).written),
        "floor": bare(BARE_AGGREGATE.format(kinds=kinds), m=merchant, since=since_param),
    }, runs)
    stats["next day"], stats["floor, nightly rounds"] = later["next day"], later["floor"]
    print(f"[{backend}] rows written per run: same day {sorted(set(written))}, "
          f"next day median {statistics.median(nightly):.0f} (min {min(nightly)}, max {max(nightly)})")
    print_table(
        f"[{backend}] full RFM recompute ({runs} runs, interleaved with the baselines)",
        [("recompute vs floor", *stats["recompute"], *stats["floor"]),
         ("recompute vs own aggregate", *stats["recompute"], *stats["own"]),
         ("next-day run vs floor", *stats["next day"], *stats["floor, nightly rounds"])],
    )
    print(f"[{backend}] peak RSS of the measuring process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--measure", type=int, help=argparse.SUPPRESS)  # the child: a merchant id
    args = parser.parse_args()
    if args.measure:
        measure(args.backend, args.measure, args.runs)
        return
    for backend in (["sqlite", "postgresql"] if args.backend == "both" else [args.backend]):
        with seeded(backend, args.customers) as merchant:
            subprocess.run([sys.executable, "-m", "bench.rfm", "--backend", backend, "--runs", str(args.runs),
                            "--measure", str(merchant)], check=True, env=dict(os.environ))


if __name__ == "__main__":
    main()
