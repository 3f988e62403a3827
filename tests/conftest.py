"""Every test run gets a throw-away database, migrated before any test imports the app.

``PERKSTAR_TEST_BACKEND=sqlite`` (default): a SQLite file in a temp folder.
``PERKSTAR_TEST_BACKEND=postgresql``: a fresh database on ``TEST_DATABASE_URL``
(default ``postgresql://postgres@127.0.0.1:5432/``), dropped at the end (``tests/pg_db.py``).
``PERKSTAR_TEST_REDIS=redis://host:port`` besides (make test's multi-worker run): an empty
Redis database of the run's own becomes ``REDIS_URL`` (so the E2E app runs several backend
workers with its state in Redis), emptied at the end.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import threading
import uuid
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests import pg_db, redis_db

_created_pg: dict[str, str] = {}
_claimed_redis: dict[str, str] = {}
_refreshing: dict[str, threading.Event] = {}
_folders: list[Path] = []  # this run's temp folders (SQLite file, uploads), deleted at the end


def _terminated(signum: int, frame) -> None:  # noqa: ANN001
    """SIGTERM (a CI timeout, ``kill``) ends the run as Ctrl-C does: fixtures tear down (the
    E2E app is stopped) and ``pytest_unconfigure`` drops the run's databases."""
    raise KeyboardInterrupt(f"signal {signum}")


def _temp_folder(prefix: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    _folders.append(folder)
    return folder


def pytest_configure(config: pytest.Config) -> None:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminated)
    backend = os.environ.get("PERKSTAR_TEST_BACKEND", "sqlite")
    if backend == "sqlite":
        url = f"sqlite:///{_temp_folder('perkstar-test-') / 'test.db'}"
    elif backend == "postgresql":
        url = pg_db.create()
        _created_pg["name"] = make_url(url).database
    else:
        raise pytest.UsageError(f"unknown PERKSTAR_TEST_BACKEND {backend!r}")
    os.environ["DATABASE_URL"] = url
    if redis_server := os.environ.get("PERKSTAR_TEST_REDIS"):
        os.environ["REDIS_URL"] = _claimed_redis["url"] = redis_db.claim(redis_server)
        _refreshing["stop"] = redis_db.keep_claimed(_claimed_redis["url"])
    # Uploads of this run in their own folder: merchant ids repeat across runs, and the
    # per-merchant cap on pending uploads must not count an earlier run's files.
    os.environ["PERKSTAR_UPLOAD_DIR"] = str(_temp_folder("perkstar-test-imports-"))
    from perkstar_ui.db import migrate

    migrate.upgrade(url)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Each cleanup step runs whatever the one before it raised (the first error is
    raised at the end)."""
    with contextlib.ExitStack() as cleanup:  # runs the callbacks last-in first-out
        for folder in _folders:
            cleanup.callback(shutil.rmtree, folder, ignore_errors=True)
        _folders.clear()
        if name := _created_pg.pop("name", None):
            cleanup.callback(pg_db.drop, name)
        cleanup.callback(_dispose_engine)
        if redis_url := _claimed_redis.pop("url", None):
            cleanup.callback(redis_db.release, redis_url)
        if stop := _refreshing.pop("stop", None):
            cleanup.callback(stop.set)


def _dispose_engine() -> None:
    from perkstar_ui.db.engine import get_engine  # only once the app's settings are the run's

    get_engine().dispose()


def pytest_report_header(config: pytest.Config) -> str:
    database = pg_db.shown(os.environ["DATABASE_URL"])
    redis_url = _claimed_redis.get("url")
    return f"database: {database}, redis: {redis_db.redacted(redis_url) if redis_url else 'none (one backend worker)'}"


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
