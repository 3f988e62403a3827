"""A named lock that holds across threads, processes and machines sharing the database:
a transaction advisory lock on PostgreSQL (``pg_advisory_xact_lock(hashtext(name))``),
``BEGIN IMMEDIATE`` on SQLite (the one writer of the file; one machine anyway)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import sqlalchemy as sa

from perkstar_ui.db.engine import get_engine, is_sqlite


@contextlib.contextmanager
def exclusive(name: str) -> Iterator[None]:
    """Run the block while no other holder of ``name`` runs theirs; released when it ends
    (also on an exception, or when the connection is lost)."""
    engine = get_engine()
    with engine.connect() as connection:
        if is_sqlite(engine):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(name))))
        try:
            yield
        finally:
            connection.rollback()  # ends the transaction: the lock goes with it
