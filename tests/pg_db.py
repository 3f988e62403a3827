"""A fresh PostgreSQL database for one test run (``PERKSTAR_TEST_BACKEND=postgresql``) on
``TEST_DATABASE_URL`` (default ``postgresql://postgres@127.0.0.1:5432/``).

``create`` makes ``perkstar_test_<hex>`` and keeps a connection open to it for the run's
whole life (``drop`` closes it): a test database without connections is a killed run's,
and ``drop_leftovers`` (``scripts/run_tests.py``, before it starts) drops those and only
those. Both take an advisory lock on the admin database (shared to create, exclusive to
sweep), so a run between its CREATE and its first connection is never swept.
"""

from __future__ import annotations

import os
import uuid

import sqlalchemy as sa
from sqlalchemy.engine import make_url

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/"
PREFIX = "perkstar_test_"
_LOCK = 0x7E575EED  # the advisory lock of test database creation and sweeping

_held: dict[str, sa.Connection] = {}


def admin_url() -> sa.URL:
    raw = os.environ.get("TEST_DATABASE_URL", DEFAULT_URL)
    url = make_url(raw.replace("postgresql://", "postgresql+psycopg://", 1))
    return url.set(database=url.database or "postgres")


def shown(url: str | sa.URL) -> str:
    """A database URL as printed: its password hidden."""
    return make_url(url).render_as_string(hide_password=True)


def create() -> str:
    """Create the run's database; answers its URL (with the password)."""
    name = f"{PREFIX}{uuid.uuid4().hex[:12]}"
    url = admin_url().set(database=name)
    engine = sa.create_engine(admin_url(), isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with engine.connect() as connection:
        connection.execute(sa.select(sa.func.pg_advisory_lock_shared(_LOCK)))
        try:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
            holder = sa.create_engine(url, poolclass=sa.NullPool).connect()
            _held[name] = holder
        finally:
            connection.execute(sa.select(sa.func.pg_advisory_unlock_shared(_LOCK)))
    engine.dispose()
    return url.render_as_string(hide_password=False)


def drop(name: str) -> None:
    """Drop the run's database, whoever is still connected."""
    if (holder := _held.pop(name, None)) is not None:
        holder.close()
        holder.engine.dispose()
    engine = sa.create_engine(admin_url(), isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


def drop_leftovers() -> list[str]:
    """Drop the test databases nobody is connected to (killed runs'); answers their names."""
    engine = sa.create_engine(admin_url(), isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    dropped = []
    try:
        with engine.connect() as connection:
            connection.execute(sa.select(sa.func.pg_advisory_lock(_LOCK)))
            try:
                names = connection.execute(sa.text(
                    "SELECT d.datname FROM pg_database d WHERE d.datname LIKE :pattern "
                    "AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)"
                ), {"pattern": PREFIX.replace("_", r"\_") + "%"}).scalars().all()
                for name in names:
                    try:  # no FORCE: someone connecting meanwhile keeps the database
                        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
                        dropped.append(name)
                    except sa.exc.DBAPIError as error:
                        print(f"kept {name}: {error.orig}")
            finally:
                connection.execute(sa.select(sa.func.pg_advisory_unlock(_LOCK)))
    finally:
        engine.dispose()
    return dropped
