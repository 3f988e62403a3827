"""One counter action at scale: ``perform_action`` on a card with 10k transactions in a
~1M-transaction database, beside the bare SQL the same action needs; and 20 tablets
adding stamps to one card at once."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import uuid

import sqlalchemy as sa
from sqlmodel import select

from bench.common import print_table, timed

BUSY_TRANSACTIONS = 10_000
RUNS = 200


def _busy_card(merchant: int, card_type: str, verb: str, value: int) -> int:
    """A new card whose ledger already holds ``BUSY_TRANSACTIONS`` actions, written by the rules."""
    from perkstar_ui.db.models import Card, CardTemplate, CardTransaction, Customer
    from perkstar_ui.db.tenancy import tenant_session
    from perkstar_ui.domain import card_rules
    from perkstar_ui.domain import ledger as L
    from perkstar_ui.domain.card_types import CardType, validate_settings
    from perkstar_ui.services import cards

    with tenant_session(merchant) as session:
        template = session.exec(select(CardTemplate).where(CardTemplate.card_type == card_type)).first()
        customer_id = session.exec(select(Customer.id).order_by(Customer.id)).first()
        card = cards.issue_card(session, customer_id, template)
        session.commit()
        kind, settings = CardType(card_type), validate_settings(card_type, template.settings)
        state = L.initial_state(kind, settings)
        rows, at = [], dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
        for i in range(BUSY_TRANSACTIONS):
            at += dt.timedelta(minutes=30)
            for entry in card_rules.apply_action(kind, settings, state, card_rules.Action(verb, value), at):
                L.fold(state, entry, kind, settings)
                rows.append({
                    "merchant_id": merchant, "card_id": card.id, "customer_id": customer_id, "kind": entry.kind,
                    "value_delta": entry.value_delta, "rewards_delta": entry.rewards_delta,
                    "points_delta": entry.points_delta, "spend_delta_cents": entry.spend_delta_cents,
                    "purchase_cents": entry.purchase_cents, "balance_after": state.balance, "source": "scanner",
                    "detail": entry.detail, "lot_expires_on": entry.lot_expires_on, "action_key": f"bench-{i}",
                    "created_at": entry.at,
                })
        session.execute(sa.insert(CardTransaction.__table__), rows)
        session.execute(sa.update(Card.__table__).where(Card.__table__.c.id == card.id).values(
            balance=state.balance, rewards_available=state.rewards_available, spend_total_cents=state.spend_total_cents,
            ltv_cents=state.ltv_cents, tier=state.tier, metrics=state.metrics_json()))
        session.commit()
        return card.id


def _bare_action(backend: str, merchant: int, card_id: int):  # noqa: ANN202
    """The statements one action needs, as text on a pooled connection: lock the card, read
    its template, check the key, append the entry, update the cache, commit."""
    from perkstar_ui.db.engine import get_engine

    engine = get_engine()
    lock = "FOR UPDATE" if backend == "postgresql" else ""
    card_sql = sa.text(f"SELECT * FROM card WHERE id = :c AND merchant_id = :m {lock}")
    template_sql = sa.text("SELECT settings FROM card_template WHERE id = :t AND merchant_id = :m")
    key_sql = sa.text("SELECT id FROM card_transaction WHERE merchant_id = :m AND idempotency_key = :k")
    insert_sql = sa.text(
        "INSERT INTO card_transaction (merchant_id, card_id, customer_id, kind, value_delta, rewards_delta, points_delta,"
        " spend_delta_cents, balance_after, source, idempotency_key, action_key, created_at)"
        " VALUES (:m, :c, :cu, 'stamps_added', 1, 0, 0, 0, :b, 'dashboard', :k, :k, :at)"
    )
    update_sql = sa.text("UPDATE card SET balance = :b, metrics = :metrics, version = version + 1 WHERE id = :c")

    def run() -> None:
        key = uuid.uuid4().hex
        with engine.connect() as connection:
            if backend == "sqlite":
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            card = connection.execute(card_sql, {"c": card_id, "m": merchant}).mappings().one()
            connection.execute(template_sql, {"t": card["template_id"], "m": merchant}).all()
            connection.execute(key_sql, {"m": merchant, "k": key}).all()
            metrics = card["metrics"] if isinstance(card["metrics"], dict) else json.loads(card["metrics"])
            balance = card["balance"] + 1
            connection.execute(insert_sql, {"m": merchant, "c": card_id, "cu": card["customer_id"], "b": balance,
                                            "k": key, "at": dt.datetime.now(dt.timezone.utc)})
            connection.execute(update_sql, {"b": balance, "metrics": json.dumps(metrics), "c": card_id})
            connection.commit()

    return run


def _contention(merchant: int, card_id: int) -> tuple[bool, float]:
    """20 threads × 50 add-stamps on one card: is stamps-earned exactly +1000?"""
    from perkstar_ui.domain.card_rules import Action
    from perkstar_ui.services import cards

    before = cards.verify_cache(merchant, card_id)[0].count("stamps_earned")
    errors: list[BaseException] = []

    def tablet() -> None:
        try:
            for _ in range(50):
                cards.perform_action(merchant, card_id, Action("add-stamps", 1), idempotency_key=uuid.uuid4().hex)
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    started = time.perf_counter()
    threads = [threading.Thread(target=tablet) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    cache, replayed = cards.verify_cache(merchant, card_id)
    return (not errors and cache == replayed and cache.count("stamps_earned") - before == 1_000), elapsed


def measure(backend: str, merchant: int) -> None:
    from perkstar_ui.domain.card_rules import Action
    from perkstar_ui.services import cards

    stamp = _busy_card(merchant, "stamp", "add-stamps", 1)
    cashback = _busy_card(merchant, "cashback", "add-amount", 1_250)
    # The bare baseline writes rows the rules never saw: it gets cards of its own.
    bare_stamp_card = _busy_card(merchant, "stamp", "add-stamps", 1)
    bare_cashback_card = _busy_card(merchant, "cashback", "add-amount", 1_250)

    def action(card_id: int, verb: str, value: int):  # noqa: ANN202
        return lambda: cards.perform_action(merchant, card_id, Action(verb, value), idempotency_key=uuid.uuid4().hex)

    print_table(
        f"[{backend}] one counter action on a card with {BUSY_TRANSACTIONS} transactions ({RUNS} runs)",
        [
            ("add-stamps (stamp)", *timed(action(stamp, "add-stamps", 1), runs=RUNS),
             *timed(_bare_action(backend, merchant, bare_stamp_card), runs=RUNS)),
            ("add-amount (cashback)", *timed(action(cashback, "add-amount", 1_250), runs=RUNS),
             *timed(_bare_action(backend, merchant, bare_cashback_card), runs=RUNS)),
        ],
    )
    exact, elapsed = _contention(merchant, stamp)
    print(f"[{backend}] 20 threads × 50 add-stamps on one card: exactly +1000 stamps: {'yes' if exact else 'NO'}"
          f" ({elapsed:.1f} s, {1000 / elapsed:.0f} actions/s)")
