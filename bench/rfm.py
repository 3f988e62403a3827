"""A full RFM run (``services.rfm.recompute``) at scale, beside a bare SQL aggregate of the
same inputs, and the run's peak memory.

    python -m bench.rfm [--backend sqlite|postgresql|both] [--customers 100000] [--runs 10]

The database is seeded in this process; the timing runs in a fresh child process so its
peak RSS (``getrusage``) is the RFM run's own, not the seed's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import subprocess
import sys

from bench.common import bare, print_table, seeded, timed

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


def measure(backend: str, merchant: int, runs: int) -> None:
    """In the child process: time the run and the bare aggregate, report peak RSS."""
    from perkstar_ui.db.engine import get_engine
    from perkstar_ui.domain import ledger
    from perkstar_ui.services import rfm

    today = dt.datetime.now(dt.timezone.utc).date()
    since = rfm.window_start(today, rfm.get_settings(merchant).window_days)
    # SQLite keeps timestamps as text: compare with the stored format.
    since_param = since.strftime("%Y-%m-%d %H:%M:%S.%f") if backend == "sqlite" else since
    kinds = ", ".join(f"'{kind}'" for kind in sorted(ledger.ACTIVITY_KINDS))
    run = rfm.recompute(merchant)
    print(f"[{backend}] {run.customers} customers: " + ", ".join(f"{k} {v}" for k, v in run.counts.items()))
    recompute = timed(lambda: rfm.recompute(merchant), runs=runs, warmup=1)
    # Two baselines: the floor above, and the run's own aggregate (corrected actions left
    # out, visits per distinct action) as text on a pooled connection, nothing written.
    engine = get_engine()
    own = str(rfm.aggregate_statement(merchant, today, rfm.get_settings(merchant).window_days, engine.dialect.name)
              .compile(engine, compile_kwargs={"literal_binds": True}))
    print_table(
        f"[{backend}] full RFM recompute ({runs} runs)",
        [("recompute vs floor", *recompute,
          *timed(bare(BARE_AGGREGATE.format(kinds=kinds), m=merchant, since=since_param), runs=runs, warmup=1)),
         ("recompute vs own aggregate", *recompute, *timed(bare(own), runs=runs, warmup=1))],
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
