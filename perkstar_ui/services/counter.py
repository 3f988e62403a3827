"""The counter's look-ups (issue 14): one field for a phone, a serial or a name.

``find`` answers in at most three indexed statements: a valid serial (check character
right) is an equality on the unique serial; anything else is the grid's search condition
(a whole phone number is an indexed equality, a name a LIKE on ``search_text``) with a
small LIMIT, then the matches' cards in one query. ``customer_cards`` lists one
customer's cards for the counter's tabs; ``transaction_of_key`` finds the entry a
quick action wrote (its undo corrects it through the card engine).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from perkstar_ui.db.models import Card, CardTransaction, Customer, Merchant
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.domain.card_types import CARD_TYPE_LABELS, CardType
from perkstar_ui.domain.serials import is_valid_serial, normalise_serial
from perkstar_ui.services.customer_filters import search_condition

RESULT_LIMIT = 8
MAX_QUERY = 100


@dataclass(frozen=True)
class CounterCard:
    id: int
    card_type: str
    type_label: str
    serial: str
    deleted: bool
    last_activity: str  # ISO, "" when never used


@dataclass(frozen=True)
class CounterResult:
    customer_id: int
    name: str
    phone: str
    cards: str  # e.g. "Stamp card ABCD2345X, Gift card …"


@dataclass(frozen=True)
class Lookup:
    results: list[CounterResult]
    customer_id: int = 0  # a serial named this customer's card …
    card_id: int = 0  # … this one: open it at once


def _name(first: str, last: str) -> str:
    return f"{first} {last}".strip()


def _label(card_type: str) -> str:
    try:
        return CARD_TYPE_LABELS[CardType(card_type)]
    except ValueError:
        return card_type


def _results(session, merchant_id: int, rows) -> list[CounterResult]:  # noqa: ANN001
    ids = [row.id for row in rows]
    cards: dict[int, list[str]] = {i: [] for i in ids}
    if ids:
        for customer_id, card_type, serial in session.execute(
            sa.select(Card.customer_id, Card.card_type, Card.serial)
            .where(Card.merchant_id == merchant_id, Card.customer_id.in_(ids), Card.status != "deleted")
            .order_by(Card.id)
        ):
            cards[customer_id].append(f"{_label(card_type)} {serial}")
    return [CounterResult(r.id, _name(r.first_name, r.last_name), r.phone or "", ", ".join(cards[r.id]))
            for r in rows]


_COLUMNS = (Customer.id, Customer.first_name, Customer.last_name, Customer.phone)


def find(merchant_id: int, text: str) -> Lookup:
    text = (text or "").strip()[:MAX_QUERY]
    if not text:
        return Lookup([])
    with tenant_session(merchant_id) as session:
        serial = normalise_serial(text)
        if is_valid_serial(serial):
            hit = session.execute(
                sa.select(Card.id, Card.customer_id).where(Card.merchant_id == merchant_id, Card.serial == serial)
            ).first()
            if hit is not None:
                rows = session.execute(sa.select(*_COLUMNS).where(Customer.merchant_id == merchant_id,
                                                                  Customer.id == hit.customer_id)).all()
                return Lookup(_results(session, merchant_id, rows), customer_id=hit.customer_id, card_id=hit.id)
        region = session.execute(sa.select(Merchant.default_country).where(Merchant.id == merchant_id)).scalar()
        condition = search_condition(text, lambda: region)
        if condition is None:
            return Lookup([])
        rows = session.execute(
            sa.select(*_COLUMNS).where(Customer.merchant_id == merchant_id, condition)
            .order_by(Customer.id.desc()).limit(RESULT_LIMIT)
        ).all()
        return Lookup(_results(session, merchant_id, rows))


def customer_cards(merchant_id: int, customer_id: int) -> tuple[str, list[CounterCard]] | None:
    """(the customer's name, their cards oldest first), or None if not this merchant's."""
    with tenant_session(merchant_id) as session:
        customer = session.execute(sa.select(Customer.first_name, Customer.last_name).where(
            Customer.merchant_id == merchant_id, Customer.id == customer_id)).first()
        if customer is None:
            return None
        rows = session.execute(
            sa.select(Card.id, Card.card_type, Card.serial, Card.status, Card.last_activity_at)
            .where(Card.merchant_id == merchant_id, Card.customer_id == customer_id).order_by(Card.id)
        ).all()
    cards = [CounterCard(r.id, r.card_type, _label(r.card_type), r.serial, r.status == "deleted",
                         r.last_activity_at.isoformat() if r.last_activity_at else "") for r in rows]
    return _name(customer.first_name, customer.last_name), cards


def default_card(cards: list[CounterCard]) -> int:
    """The card the counter most likely wants: the last used live one, else the newest live one."""
    live = [c for c in cards if not c.deleted] or cards
    if not live:
        return 0
    used = [c for c in live if c.last_activity]
    return max(used, key=lambda c: c.last_activity).id if used else live[-1].id


def transaction_of_key(merchant_id: int, key: str) -> int | None:
    """The ledger entry an action with this idempotency key wrote first (its correction
    reverses every entry of that action)."""
    with tenant_session(merchant_id) as session:
        return session.execute(sa.select(CardTransaction.id).where(
            CardTransaction.merchant_id == merchant_id, CardTransaction.idempotency_key == key)).scalar()
