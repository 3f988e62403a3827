"""Shared benchmark helpers: a throw-away database per run and timing statistics.

Seeding 100k customers takes minutes (twenty on the shared machine under load), so the
seeded database is kept once per backend, size, migration head and UTC day (a SQLite
file in ``PERKSTAR_BENCH_CACHE``, default ``$TMPDIR/perkstar-bench-cache``; a PostgreSQL
template database ``perkstar_bench_cache_…``) and every run works on its own copy of it:
the cache itself is never written after it is made. ``PERKSTAR_BENCH_CACHE=off`` seeds
every time.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

_CACHE = os.environ.get("PERKSTAR_BENCH_CACHE", str(Path(tempfile.gettempdir()) / "perkstar-bench-cache"))
CACHE_DIR = None if _CACHE.lower() in ("", "0", "off", "no") else Path(_CACHE)


def _admin_engine() -> sa.Engine:
    raw = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/")
    admin = make_url(raw.replace("postgresql://", "postgresql+psycopg://", 1))
    return sa.create_engine(admin.set(database=admin.database or "postgres"), isolation_level="AUTOCOMMIT")


def _cache_name(backend: str, customers: int) -> str | None:
    """The cached seeded database of this size, schema and day: a file path (SQLite) or a
    database name (PostgreSQL); None when caching is off."""
    if CACHE_DIR is None:
        return None
    from alembic.script import ScriptDirectory

    from perkstar_ui.db.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    day = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d")
    if backend == "sqlite":
        return str(CACHE_DIR / f"seeded-{customers}-{head}-{day}.db")
    return f"perkstar_bench_cache_{customers}_{head}_{day}"


def _cached(backend: str, name: str | None) -> bool:
    if name is None:
        return False
    if backend == "sqlite":
        return Path(name).exists()
    return name in _cached_databases()


def _cached_databases() -> list[str]:
    engine = _admin_engine()
    try:
        with engine.connect() as connection:
            return list(connection.execute(sa.text(
                "SELECT datname FROM pg_database WHERE datname LIKE 'perkstar_bench_cache_%' ORDER BY datname")).scalars())
    finally:
        engine.dispose()


def _older_schema(backend: str, name: str | None) -> str | None:
    """A cache of the same size and day made at an earlier migration head: its copy is
    migrated forward (bench_database upgrades every copy), which takes seconds where seeding
    takes many minutes. None when there is none."""
    if name is None:
        return None
    if backend == "sqlite":
        size, _, day = Path(name).stem.removeprefix("seeded-").split("-")
        found = sorted(Path(name).parent.glob(f"seeded-{size}-*-{day}.db"))
        return str(found[-1]) if found else None
    size, day = name.split("_")[3], name.split("_")[-1]
    found = [d for d in _cached_databases() if d.split("_")[3] == size and d.split("_")[-1] == day]
    return found[-1] if found else None


def _keep(backend: str, url: str, name: str) -> None:
    """Keep the just-seeded database as the cache ``name`` (another process may have made it
    meanwhile: then theirs stays)."""
    from perkstar_ui.db.engine import get_engine

    if backend == "sqlite":
        with get_engine().connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        partial = f"{name}.{uuid.uuid4().hex[:8]}"
        shutil.copyfile(make_url(url).database, partial)
        os.replace(partial, name)
        return
    get_engine().dispose()  # a template must have no connections while it is copied
    engine = _admin_engine()
    try:
        with engine.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{make_url(url).database}"'))
    except sa.exc.DBAPIError as error:
        print(f"(not cached: {error.orig})")
    finally:
        engine.dispose()


@contextmanager
def bench_database(backend: str, copy_of: str | None = None) -> Iterator[str]:
    """Point DATABASE_URL at a fresh SQLite file or PostgreSQL database (a copy of the cached
    database ``copy_of`` when given), migrated."""
    if backend == "sqlite":
        url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='perkstar-bench-')) / 'bench.db'}"
        if copy_of:
            shutil.copyfile(copy_of, make_url(url).database)
        drop = None
    else:
        engine = _admin_engine()
        admin = engine.url
        name = f"perkstar_bench_{uuid.uuid4().hex[:8]}"
        with engine.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{copy_of}"' if copy_of else "")))
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
    """A fresh database with ``seed-demo`` data (a copy of the cached one when there is one);
    yields the demo merchant id."""
    cache = _cache_name(backend, customers)
    hit = _cached(backend, cache)
    source = cache if hit else _older_schema(backend, cache)
    hit = source is not None
    with bench_database(backend, copy_of=source) as url:
        from perkstar_ui import config
        from perkstar_ui.db.engine import get_engine
        from perkstar_ui.services import accounts, seed

        started = time.perf_counter()
        if hit:
            merchant = accounts.merchant_id_for_email(config.DEMO_EMAIL)
        else:
            merchant = seed.seed_demo(customers).merchant_id
        elapsed = time.perf_counter() - started
        engine = get_engine()
        if not hit:
            if backend == "postgresql":
                # What autovacuum does on a live server shortly after a bulk load.
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                    connection.execute(sa.text("VACUUM ANALYZE"))
            else:
                with engine.begin() as connection:
                    connection.execute(sa.text("ANALYZE"))
            if cache:
                _keep(backend, url, cache)
        with engine.connect() as connection:
            transactions = connection.execute(
                sa.text("SELECT COUNT(*) FROM card_transaction WHERE merchant_id = :m"), {"m": merchant}
            ).scalar_one()
        how = f"copied from the cache {source}, migrated" if hit else f"seed-demo: {elapsed:.1f} s"
        print(f"\n[{backend}] {customers} customers, {transactions} transactions ({how})")
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
