"""Every test run gets a throw-away database, migrated before any test imports the app.

``PERKSTAR_TEST_BACKEND=sqlite`` (default): a SQLite file in a temp folder.
``PERKSTAR_TEST_BACKEND=postgresql``: a fresh database on ``TEST_DATABASE_URL``
(default ``postgresql://postgres@127.0.0.1:5432/``), dropped at the end.
``PERKSTAR_TEST_REDIS=redis://host:port`` besides (make test's multi-worker run): an empty
Redis database of the run's own becomes ``REDIS_URL`` (so the E2E app runs several backend
workers with its state in Redis), emptied at the end.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from tests import redis_db

_created_pg: dict[str, str] = {}
_claimed_redis: dict[str, str] = {}


def _pg_admin_url() -> sa.URL:
    raw = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/")
    url = make_url(raw.replace("postgresql://", "postgresql+psycopg://", 1))
    return url.set(database=url.database or "postgres")


def pytest_configure(config: pytest.Config) -> None:
    backend = os.environ.get("PERKSTAR_TEST_BACKEND", "sqlite")
    if backend == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="perkstar-test-"))
        url = f"sqlite:///{folder / 'test.db'}"
    elif backend == "postgresql":
        admin = _pg_admin_url()
        name = f"perkstar_test_{uuid.uuid4().hex[:12]}"
        engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        url = admin.set(database=name).render_as_string(hide_password=False)
        _created_pg["name"] = name
    else:
        raise pytest.UsageError(f"unknown PERKSTAR_TEST_BACKEND {backend!r}")
    os.environ["DATABASE_URL"] = url
    if redis_server := os.environ.get("PERKSTAR_TEST_REDIS"):
        os.environ["REDIS_URL"] = _claimed_redis["url"] = redis_db.claim(redis_server)
    # Uploads of this run in their own folder: merchant ids repeat across runs, and the
    # per-merchant cap on pending uploads must not count an earlier run's files.
    os.environ["PERKSTAR_UPLOAD_DIR"] = tempfile.mkdtemp(prefix="perkstar-test-imports-")
    from perkstar_ui.db import migrate

    migrate.upgrade(url)


def pytest_unconfigure(config: pytest.Config) -> None:
    if redis_url := _claimed_redis.pop("url", None):
        redis_db.release(redis_url)
    name = _created_pg.pop("name", None)
    if not name:
        return
    from perkstar_ui.db.engine import get_engine

    get_engine().dispose()
    engine = sa.create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def pytest_report_header(config: pytest.Config) -> str:
    database = make_url(os.environ["DATABASE_URL"]).render_as_string(hide_password=True)
    return f"database: {database}, redis: {_claimed_redis.get('url', 'none (one backend worker)')}"


@pytest.fixture
def unique() -> str:
    """A short unique suffix for emails and names, so tests never collide."""
    return uuid.uuid4().hex[:10]


@pytest.fixture
def merchant(unique: str) -> int:
    from perkstar_ui.services import accounts

    return accounts.create_merchant(f"Shop {unique}", f"owner-{unique}@shop.test", "correct-horse")


@pytest.fixture
def other_merchant(unique: str) -> int:
    from perkstar_ui.services import accounts

    return accounts.create_merchant(f"Other {unique}", f"other-{unique}@shop.test", "correct-horse")
