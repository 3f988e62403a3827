"""Demo data for the demo merchant: realistic, deterministic, idempotent and fast.

``seed_demo(n)`` tops the demo merchant up to ``n`` customers. Customer ``i`` is always
generated from ``random.Random(i)``, so a re-run adds exactly the missing customers and
the same command gives the same data on every machine. Rows go in with bulk Core
inserts in chunks (100k customers and ~1M transactions in about a minute).

Each card's ledger is written through the card rules (``domain.card_rules``), as a
counter would, and its cache is the fold of that ledger, so tiles, grid, profile and
history agree from the start.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlmodel import select

from perkstar_ui import config
from perkstar_ui.db.models import Card, CardTemplate, CardTransaction, Customer, Review, StaffUser
from perkstar_ui.db.tenancy import system_session
from perkstar_ui.domain import card_rules
from perkstar_ui.domain import ledger as L
from perkstar_ui.domain.card_rules import Action, IssueOptions
from perkstar_ui.domain.card_types import CardType, validate_settings
from perkstar_ui.domain.contacts import search_fold, search_text
from perkstar_ui.domain.ledger import Refused
from perkstar_ui.domain.serials import serial_for_number
from perkstar_ui.services import accounts

DEFAULT_CUSTOMERS = 250
CHUNK = 2_000

FIRST_NAMES = [
    "Olivia", "Noah", "Amelia", "Oliver", "Isla", "George", "Ava", "Arthur", "Mia", "Leo",
    "José", "Zoë", "Chloé", "Łukasz", "Søren", "Aoife", "Siobhán", "Mateo", "Priya", "Arjun",
    "Fatima", "Yusuf", "Hana", "Kenji", "Mei", "Lucía", "Björn", "Anaïs", "Dmitri", "Nia",
]
LAST_NAMES = [
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
    "Wright", "Müller", "García", "O'Brien", "Nowak", "Kowalski", "Nguyen", "Khan", "Silva",
    "Rossi", "Dubois", "Andersen", "Fernández", "Murphy", "Campbell", "Okafor", "Tanaka",
]
UTMS = [None, None, "instagram", "facebook", "google", "qr-counter", "referral", "newsletter"]
DEVICES = ["apple_wallet", "google_wallet", "pwa"]
REVIEW_TEXTS = [
    "Lovely staff and great coffee.", "Always quick at the counter.", "Good value.",
    "Could be warmer inside.", "My favourite place in town!", None,
]
CARD_TYPES = ["stamp", "multipass", "cashback", "gift", "reward", "coupon", "membership", "discount"]


@dataclass
class _Batch:
    customers: list[dict] = field(default_factory=list)
    cards: list[dict] = field(default_factory=list)
    transactions: list[dict] = field(default_factory=list)
    reviews: list[dict] = field(default_factory=list)


@dataclass
class SeedResult:
    merchant_id: int
    created_customers: int
    total_customers: int


def seed_demo(customers: int = DEFAULT_CUSTOMERS, *, now: dt.datetime | None = None) -> SeedResult:
    now = now or dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    merchant_id = accounts.merchant_id_for_email(config.DEMO_EMAIL)
    if merchant_id is None:
        merchant_id = accounts.create_merchant(
            config.DEMO_MERCHANT_NAME, config.DEMO_EMAIL, config.DEMO_PASSWORD
        )
    with system_session() as session:
        existing = session.exec(
            select(sa.func.count()).select_from(Customer).where(Customer.merchant_id == merchant_id)
        ).one()
        templates = {
            t.card_type: (t.id, validate_settings(t.card_type, t.settings))
            for t in session.exec(
                select(CardTemplate)
                .where(CardTemplate.merchant_id == merchant_id)
                .order_by(CardTemplate.id)
            ).all()
        }
        staff_id = session.exec(
            select(StaffUser.id).where(StaffUser.merchant_id == merchant_id)
        ).first()
        next_ids = _next_ids(session)
        created = 0
        for start in range(existing, customers, CHUNK):
            batch = _Batch()
            for index in range(start, min(start + CHUNK, customers)):
                _generate_customer(batch, index, merchant_id, templates, staff_id, next_ids, now)
            _insert(session, batch)
            created += len(batch.customers)
        _fix_sequences(session)
        session.commit()
    return SeedResult(merchant_id, created, max(existing, customers))


def _next_ids(session) -> dict[str, Iterator[int]]:  # noqa: ANN001
    """Explicit ids let one pass link customers, cards and ledger rows without round trips."""

    def counter(model) -> Iterator[int]:  # noqa: ANN001
        start = session.exec(select(sa.func.coalesce(sa.func.max(model.id), 0))).one() + 1
        return iter(range(start, 1 << 62))

    return {
        "customer": counter(Customer),
        "card": counter(Card),
        "transaction": counter(CardTransaction),
        "review": counter(Review),
    }


def _generate_customer(
    batch: _Batch,
    index: int,
    merchant_id: int,
    templates: dict[str, int],
    staff_id: int | None,
    ids: dict[str, Iterator[int]],
    now: dt.datetime,
) -> None:
    rng = random.Random(index)
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    created_at = now - dt.timedelta(seconds=rng.randint(3_600, 365 * 86_400))
    customer_id = next(ids["customer"])
    ascii_first = search_fold(first).encode("ascii", "ignore").decode() or "guest"
    phone = None if index % 10 == 9 else f"+4475{index:08d}"
    email = f"{ascii_first}.{index}@example.com" if index % 7 else None
    batch.customers.append(
        {
            "id": customer_id,
            "merchant_id": merchant_id,
            "first_name": first,
            "last_name": last,
            "search_name": search_fold(f"{first} {last}"),
            # UK mobile range, unique per index; one in ten customers gave no phone.
            "phone": phone,
            "email": email,
            "search_text": search_text(first, last, email, phone),
            "birthdate": (dt.date(1950, 1, 1) + dt.timedelta(days=rng.randint(0, 20_000)))
            if rng.random() < 0.7
            else None,
            "gender": rng.choice(["female", "male", "other", None]),
            "utm": rng.choice(UTMS),
            "created_at": created_at,
            "updated_at": created_at,
        }
    )
    # Cards: the first eight customers hold one card of each type between them.
    card_count = 1 + (rng.random() < 0.35) + (rng.random() < 0.1)
    card_types = [CARD_TYPES[index % 8]] + rng.sample(CARD_TYPES, card_count - 1)
    for card_type in dict.fromkeys(card_types):
        _generate_card(batch, rng, card_type, customer_id, merchant_id, templates, staff_id, ids, created_at, now)
    if rng.random() < 0.12:
        batch.reviews.append(
            {
                "id": next(ids["review"]),
                "merchant_id": merchant_id,
                "customer_id": customer_id,
                "card_id": batch.cards[-1]["id"],
                "rating": rng.choices([1, 2, 3, 4, 5], weights=[2, 3, 10, 35, 50])[0],
                "text": rng.choice(REVIEW_TEXTS),
                "created_at": created_at + (now - created_at) * rng.random(),
            }
        )


def _generate_card(batch, rng, card_type, customer_id, merchant_id, templates, staff_id, ids, issued_at, now):  # noqa: ANN001, PLR0913
    card_id = next(ids["card"])
    installed = rng.random() < 0.7
    card = {
        "id": card_id,
        "merchant_id": merchant_id,
        "customer_id": customer_id,
        "template_id": templates[card_type][0],
        "card_type": card_type,
        "serial": serial_for_number(card_id),
        "status": "installed" if installed else "uninstalled",
        "device": rng.choice(DEVICES) if installed else None,
        "utm": None,
        "issued_at": issued_at,
        "installed_at": issued_at + dt.timedelta(minutes=rng.randint(1, 600)) if installed else None,
        "expires_on": None,
        "install_token": f"{rng.getrandbits(160):040x}",
        "referral_code": serial_for_number(card_id + 10**9)[:8],
        "referred_by_card_id": None,
        "balance": 0,
        "rewards_available": 0,
        "spend_total_cents": 0,
        "ltv_cents": 0,
        "tier": None,
        "metrics": {},
        "last_activity_at": None,
        "version": 0,
    }
    settings = templates[card_type][1]
    ledger = _Ledger(CardType(card_type), settings, card_id)
    ledger.write(card_rules.opening_entries(CardType(card_type), settings, IssueOptions(), issued_at))
    visits = _visits(rng)
    span = (now - issued_at).total_seconds()
    times = sorted(issued_at + dt.timedelta(seconds=rng.random() * span) for _ in range(visits))
    _SCRIPTS[card_type](rng, ledger, times)
    for entry, balance_after, key in ledger.rows:
        batch.transactions.append(
            {
                "id": next(ids["transaction"]),
                "merchant_id": merchant_id,
                "card_id": card_id,
                "customer_id": customer_id,
                "kind": entry.kind,
                "value_delta": entry.value_delta,
                "rewards_delta": entry.rewards_delta,
                "points_delta": entry.points_delta,
                "spend_delta_cents": entry.spend_delta_cents,
                "purchase_cents": entry.purchase_cents,
                "balance_after": balance_after,
                "source": "system" if key is None else rng.choice(["dashboard", "scanner", "scanner"]),
                "staff_user_id": None if key is None else staff_id,
                "comment": None,
                "correction_of_id": None,
                "idempotency_key": None,
                "action_key": key,
                "detail": entry.detail,
                "lot_expires_on": entry.lot_expires_on,
                "created_at": entry.at,
            }
        )
    state = ledger.state
    card.update(
        balance=state.balance, rewards_available=state.rewards_available, spend_total_cents=state.spend_total_cents,
        ltv_cents=state.ltv_cents, tier=state.tier, metrics=state.metrics_json(),
        last_activity_at=dt.datetime.fromisoformat(state.last_activity_at) if state.last_activity_at else None,
    )
    batch.cards.append(card)


class _Ledger:
    """One card's ledger written through the card rules, exactly as the counter would."""

    def __init__(self, card_type: CardType, settings, card_id: int) -> None:  # noqa: ANN001
        self.type, self.settings, self.card_id = card_type, settings, card_id
        self.state, self.rows, self.actions = L.initial_state(card_type, settings), [], 0

    def write(self, entries: list, key: str | None = "opening") -> None:  # noqa: ANN001
        if key == "opening":
            key = f"seed-{self.card_id}-0"
        for entry in entries:
            L.fold(self.state, entry, self.type, self.settings)
            self.rows.append((entry, self.state.balance, key))

    def act(self, verb: str, at: dt.datetime, value: int = 0, **kw) -> bool:  # noqa: ANN003
        self.write(card_rules.settle(self.type, self.settings, self.state, at), key=None)
        try:
            entries = card_rules.apply_action(self.type, self.settings, self.state, Action(verb, value, **kw), at)
        except Refused:
            return False
        self.actions += 1
        self.write(entries, key=f"seed-{self.card_id}-{self.actions}")
        return True


def _visits(rng) -> int:  # noqa: ANN001
    return rng.choices([0, 3, 6, 12, 24], weights=[5, 30, 35, 20, 10])[0]


def _stamp(rng, ledger: _Ledger, times) -> None:  # noqa: ANN001
    for at in times:
        ledger.act("add-stamps", at, rng.choice([1, 1, 1, 2]), purchase_cents=rng.randint(250, 1_500))
        if ledger.state.rewards_available and rng.random() < 0.6:
            ledger.act("redeem-reward", at + dt.timedelta(seconds=30), 1)


def _multipass(rng, ledger: _Ledger, times) -> None:  # noqa: ANN001
    for at in times:
        if ledger.state.balance == 0:
            ledger.act("add-visits", at, 10, purchase_cents=5_000)
        ledger.act("redeem-visits", at + dt.timedelta(seconds=30), 1)


def _cashback(rng, ledger: _Ledger, times) -> None:  # noqa: ANN001
    for at in times:
        ledger.act("add-amount", at, rng.randint(300, 9_000))
        if ledger.state.balance >= 1_000 and rng.random() < 0.3:
            ledger.act("remove-points", at + dt.timedelta(seconds=30), 1_000)


def _gift(rng, ledger: _Ledger, times) -> None:  # noqa: ANN001
    if not times:
        return
    ledger.act("add-balance", times[0], rng.choice([2_500, 5_000, 10_000]))
    for at in times[1:4]:
        spend = min(ledger.state.balance, rng.randint(500, 4_000))
        if spend:
            ledger.act("remove-balance", at, spend)


def _reward(rng, ledger: _Ledger, times) -> None:  # noqa: ANN001
    for at in times:
        ledger.act("add-amount", at, rng.randint(300, 6_000))
        if ledger.state.balance >= 5_000 and rng.random() < 0.4:
            ledger.act("redeem-reward", at + dt.timedelta(seconds=30), reward=ledger.settings.levels[0].name)


def _coupon(rng, ledger: _Ledger, times) -> None:  # noqa: ANN001
    if times and rng.random() < 0.5:
        ledger.act("redeem", times[0], purchase_cents=rng.randint(0, 2_000))


def _membership(rng, ledger: _Ledger, times) -> None:  # noqa: ANN001
    for at in times:
        ledger.act("add-visits", at, 1)


def _discount(rng, ledger: _Ledger, times) -> None:  # noqa: ANN001
    for at in times:
        ledger.act("add-amount", at, rng.randint(500, 12_000))


_SCRIPTS: dict[str, Callable] = {
    "stamp": _stamp,
    "multipass": _multipass,
    "cashback": _cashback,
    "gift": _gift,
    "reward": _reward,
    "coupon": _coupon,
    "membership": _membership,
    "discount": _discount,
}


def _insert(session, batch: _Batch) -> None:  # noqa: ANN001
    for model, rows in (
        (Customer, batch.customers),
        (Card, batch.cards),
        (CardTransaction, batch.transactions),
        (Review, batch.reviews),
    ):
        if rows:
            session.execute(sa.insert(model.__table__), rows)


def _fix_sequences(session) -> None:  # noqa: ANN001
    """Explicit ids leave PostgreSQL's sequences behind; move them past the max id."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in ("customer", "card", "card_transaction", "review"):
        session.execute(
            sa.text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
            )
        )
