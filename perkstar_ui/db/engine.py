"""One engine per process and the two ways to open a session (see ``tenancy``).

One engine per *process*: a forked child (granian's workers, forked from the supervisor
that imported the app, whose start-up check already connected; a worker respawned after
SIGKILL) must not use the pooled connections it inherited. They are the parent's sockets,
shared with every sibling: two processes talking over one PostgreSQL connection read each
other's replies (``ResourceClosedError: This result object does not return rows``, "can't
change 'autocommit' now"). After a fork the child drops them untouched (``dispose(close=False)``:
the parent's sessions stay open) and connects afresh."""

from __future__ import annotations

import functools
import os
import weakref

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from perkstar_ui import config

_ENGINES: weakref.WeakSet[Engine] = weakref.WeakSet()


def _forget_inherited_connections() -> None:
    for engine in list(_ENGINES):
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_forget_inherited_connections)


@functools.cache
def get_engine(url: str | None = None) -> Engine:
    engine = _create_engine(url or config.database_url())
    _ENGINES.add(engine)
    return engine


def _create_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # noqa: ANN001
            cursor = dbapi_connection.cursor()
            # WAL lets readers work while a writer commits; foreign keys are off by default.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def is_sqlite(engine: Engine | None = None) -> bool:
    return (engine or get_engine()).dialect.name == "sqlite"
