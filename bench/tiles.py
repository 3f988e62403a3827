"""Dashboard tiles at scale: ``load_tiles`` versus the same four counts as bare SQL.

    python -m bench.tiles [--customers 100000] [--backend sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import time

import sqlalchemy as sa

from bench.common import bench_database, print_table, timed

BARE_SQL = [
    "SELECT COUNT(*) FROM customer WHERE merchant_id = :m",
    "SELECT COUNT(*) FROM card_transaction WHERE merchant_id = :m",
    "SELECT COUNT(*), COALESCE(SUM(rating), 0) FROM review WHERE merchant_id = :m",
]


def run(backend: str, customers: int) -> None:
    with bench_database(backend):
        from perkstar_ui.db.engine import get_engine
        from perkstar_ui.services import seed
        from perkstar_ui.services.dashboard import load_tiles

        started = time.perf_counter()
        merchant = seed.seed_demo(customers).merchant_id
        seeded_in = time.perf_counter() - started
        engine = get_engine()
        if backend == "postgresql":
            # What autovacuum does on a live server shortly after a bulk load.
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(sa.text("VACUUM ANALYZE"))
        with engine.connect() as connection:
            transactions = connection.execute(sa.text(BARE_SQL[1]), {"m": merchant}).scalar_one()

        def bare() -> None:
            with engine.connect() as connection:
                for query in BARE_SQL:
                    connection.execute(sa.text(query), {"m": merchant}).all()

        tiles = timed(lambda: load_tiles(merchant))
        baseline = timed(bare)
        print(f"\n[{backend}] seed-demo {customers} customers, {transactions} transactions: {seeded_in:.1f} s")
        print_table(f"[{backend}] dashboard tiles (50 runs)", [("load_tiles (4 tiles)", *tiles, *baseline)])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    for backend in (["sqlite", "postgresql"] if args.backend == "both" else [args.backend]):
        run(backend, args.customers)


if __name__ == "__main__":
    main()
