"""Shared benchmark helpers: a throw-away database per run and timing statistics."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url


@contextmanager
def bench_database(backend: str) -> Iterator[str]:
    """Point DATABASE_URL at a fresh SQLite file or PostgreSQL database, migrated."""
    if backend == "sqlite":
        url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='perkstar-bench-')) / 'bench.db'}"
        drop = None
    else:
        raw = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/")
        admin = make_url(raw.replace("postgresql://", "postgresql+psycopg://", 1))
        admin = admin.set(database=admin.database or "postgres")
        name = f"perkstar_bench_{uuid.uuid4().hex[:8]}"
        engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = admin.set(database=name).render_as_string(hide_password=False)

        def drop() -> None:
            with engine.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            engine.dispose()

    os.environ["DATABASE_URL"] = url
    from perkstar_ui.db import migrate
    from perkstar_ui.db.engine import get_engine

    get_engine.cache_clear()
    migrate.upgrade(url)
    try:
        yield url
    finally:
        get_engine().dispose()
        if drop:
            drop()


@contextmanager
def seeded(backend: str, customers: int) -> Iterator[int]:
    """A fresh database with ``seed-demo`` data; yields the demo merchant id."""
    with bench_database(backend):
        from perkstar_ui.db.engine import get_engine
        from perkstar_ui.services import seed

        started = time.perf_counter()
        merchant = seed.seed_demo(customers).merchant_id
        elapsed = time.perf_counter() - started
        engine = get_engine()
        if backend == "postgresql":
            # What autovacuum does on a live server shortly after a bulk load.
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(sa.text("VACUUM ANALYZE"))
        else:
            with engine.begin() as connection:
                connection.execute(sa.text("ANALYZE"))
        with engine.connect() as connection:
            transactions = connection.execute(
                sa.text("SELECT COUNT(*) FROM card_transaction WHERE merchant_id = :m"), {"m": merchant}
            ).scalar_one()
        print(f"\n[{backend}] seed-demo {customers} customers, {transactions} transactions: {elapsed:.1f} s")
        yield merchant


def bare(sql: str, **params: object) -> Callable[[], object]:
    """A bare-SQL baseline: the statement as text on a pooled connection."""
    from perkstar_ui.db.engine import get_engine

    engine = get_engine()
    statement = sa.text(sql)

    def run() -> object:
        with engine.connect() as connection:
            return connection.execute(statement, params).all()

    return run


def timed(fn: Callable[[], object], runs: int = 50, warmup: int = 3) -> tuple[float, float]:
    """Median and p95 wall time in milliseconds."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def print_table(title: str, rows: list[tuple[str, float, float, float, float]]) -> None:
    print(f"\n{title}")
    print(f"{'operation':<28}{'median ms':>10}{'p95 ms':>10}{'bare med':>10}{'bare p95':>10}{'ratio':>8}")
    for name, median, p95, bare_median, bare_p95 in rows:
        print(f"{name:<28}{median:>10.2f}{p95:>10.2f}{bare_median:>10.2f}{bare_p95:>10.2f}{median / bare_median:>8.2f}")
