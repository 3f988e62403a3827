"""The four Customers dashboard tiles (customers.md §2), counted in the database.

Counting a merchant's million ledger rows on every visit of /customers cost 80 ms quiet and
over 300 ms under load (the load test's largest cost of ours, bench/README.md). The counts
are therefore kept per process as a settled part (rows with an id up to a boundary, counted
once) plus a live tail (rows after it: one short index range count per visit). Rows only
ever disappear through the paths that call ``note_deletion``, which bumps the merchant's
``deletions`` number and so voids the settled part in every process; an import bumps it too
after its commit (``note_late_rows``: its early-reserved ids may sit below a boundary counted
while it ran). The settled part is
recounted after ``SETTLED_SECONDS`` as well: on PostgreSQL a transaction may commit a
lower id after a higher one was seen (a long import), and a recount heals that. The
customer grid's total without search or filter is the same count (``count_customers``).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Session, select

from perkstar_ui.db.engine import is_sqlite
from perkstar_ui.db.models import CardTransaction, Customer, Merchant, Review
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.domain.formatting import mean_rating, rating_text

# Rows this far behind the newest id count as settled: far more than commit in flight.
TAIL_ROWS = 10_000
SETTLED_SECONDS = 60.0


@dataclass(frozen=True)
class Tiles:
    total_customers: int
    card_transactions: int
    reviews: int
    feedback_rating: Decimal | None  # mean rating, one decimal; None without reviews

    @property
    def feedback_rating_text(self) -> str:
        return rating_text(self.feedback_rating)


@dataclass(frozen=True)
class _Settled:
    boundary: int  # rows with id <= boundary ...
    count: int  # ... number this many
    deletions: int  # the merchant's deletions number when counted
    counted_at: float


_settled: dict[tuple[str, int], _Settled] = {}
_settled_lock = threading.Lock()


def _count(session: Session, model: type[Customer] | type[CardTransaction], merchant_id: int, deletions: int) -> int:
    key = (model.__tablename__, merchant_id)
    with _settled_lock:
        settled = _settled.get(key)
    fresh = (settled is not None and settled.deletions == deletions
             and time.monotonic() - settled.counted_at < SETTLED_SECONDS)
    if fresh:
        tail = session.exec(select(sa.func.count()).select_from(model).where(model.id > settled.boundary)).one()
        if tail <= 2 * TAIL_ROWS:
            return settled.count + int(tail)
    newest = session.exec(select(sa.func.max(model.id))).one() or 0
    boundary = max(0, newest - TAIL_ROWS)
    settled_count, tail = session.exec(
        select(sa.func.count(sa.case((model.id <= boundary, 1))), sa.func.count(sa.case((model.id > boundary, 1))))
        .select_from(model)
    ).one()
    with _settled_lock:
        _settled[key] = _Settled(boundary, int(settled_count), deletions, time.monotonic())
    return int(settled_count) + int(tail)


def load_tiles(merchant_id: int) -> Tiles:
    """A few indexed queries; nothing but four numbers leaves the database."""
    with tenant_session(merchant_id) as session:
        deletions = _deletions(session, merchant_id)
        customers = _count(session, Customer, merchant_id, deletions)
        transactions = _count(session, CardTransaction, merchant_id, deletions)
        reviews, rating_sum = session.exec(
            select(sa.func.count(), sa.func.coalesce(sa.func.sum(Review.rating), 0))
        ).one()
    return Tiles(customers, transactions, int(reviews), mean_rating(rating_sum, reviews))


def count_customers(session: Session, merchant_id: int) -> int:
    """The merchant's number of customers as the Total customers tile counts it (settled
    part plus live tail), in the caller's tenant session: the customer grid's unfiltered
    total is this same number, never a second count of the whole table."""
    return _count(session, Customer, merchant_id, _deletions(session, merchant_id))


def _deletions(session: Session, merchant_id: int) -> int:
    return session.exec(select(Merchant.deletions).where(Merchant.id == merchant_id)).one()


def note_late_rows(merchant_id: int) -> None:
    """After a long transaction that inserted rows (an import) committed: ids it reserved
    early may sit below a boundary counted while it ran, uncounted until the recount; void
    the settled counts now (a short transaction of its own, after the commit: locking the
    merchant row inside the import could deadlock with a writer waiting on its rows)."""
    with tenant_session(merchant_id) as session:
        if not is_sqlite(session.get_bind()):  # PostgreSQL: behind a long holder of the merchant
            session.execute(sa.text("SET LOCAL lock_timeout = '2s'"))  # row: give up, heal in a minute
        note_deletion(session, merchant_id)
        session.commit()


def note_deletion(session: Session, merchant_id: int) -> None:
    """Call in the transaction that deletes customers or ledger rows: every process's
    settled counts of this merchant are recounted on their next visit."""
    session.execute(sa.update(Merchant).where(Merchant.id == merchant_id).values(deletions=Merchant.deletions + 1))
