"""Locks that hold across threads, processes and machines sharing the database.

``exclusive``: a named lock, a transaction advisory lock on PostgreSQL
(``pg_advisory_xact_lock(hashtext(name))``), ``BEGIN IMMEDIATE`` on SQLite (the one writer
of the file; one machine anyway).

``merchant_row``: the merchant's row for the rest of the caller's transaction, to queue
changes of one merchant that must not interleave (staff roles, an RFM run's store). On
PostgreSQL ``FOR NO KEY UPDATE``, not ``FOR UPDATE``: every INSERT of a row that references
the merchant (customers, cards, ledger rows, messages) checks its foreign key with
``FOR KEY SHARE``, which ``FOR UPDATE`` blocks and ``FOR NO KEY UPDATE`` does not, so a
card action never waits for the holder. Two holders still queue (``NO KEY UPDATE``
conflicts with itself). SQLite: ``BEGIN IMMEDIATE``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import sqlalchemy as sa

from perkstar_ui.db.engine import get_engine, is_sqlite
from perkstar_ui.db.models import Merchant


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


def merchant_row(session, merchant_id: int) -> None:  # noqa: ANN001  a Session, before its first statement
    """Hold the merchant's row until the session's transaction ends (see the module doc)."""
    connection = session.connection()
    if is_sqlite(session.get_bind()):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        return
    connection.execute(sa.select(Merchant.id).where(Merchant.id == merchant_id).with_for_update(key_share=True))
