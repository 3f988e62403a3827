"""The four Customers dashboard tiles (customers.md §2), counted in the database."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import select

from perkstar_ui.db.models import CardTransaction, Customer, Review
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.domain.formatting import mean_rating, rating_text


@dataclass(frozen=True)
class Tiles:
    total_customers: int
    card_transactions: int
    reviews: int
    feedback_rating: Decimal | None  # mean rating, one decimal; None without reviews

    @property
    def feedback_rating_text(self) -> str:
        return rating_text(self.feedback_rating)


def load_tiles(merchant_id: int) -> Tiles:
    """Four indexed aggregate queries; nothing but four numbers leaves the database."""
    with tenant_session(merchant_id) as session:
        customers = session.exec(select(sa.func.count()).select_from(Customer)).one()
        transactions = session.exec(select(sa.func.count()).select_from(CardTransaction)).one()
        reviews, rating_sum = session.exec(
            select(sa.func.count(), sa.func.coalesce(sa.func.sum(Review.rating), 0))
        ).one()
    return Tiles(int(customers), int(transactions), int(reviews), mean_rating(rating_sum, reviews))
