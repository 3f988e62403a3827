"""The Stripe webhook at scale (issue 12): one signed ``customer.subscription.updated``
answered with 100k customers loaded — through the route and as ``receive`` — beside the bare
SQL an event needs; then 1,000 events (100 memberships × 10) delivered in random order
must leave every card exactly as in-order delivery leaves its twin.

    python -m bench.stripe [--customers 100000] [--backend sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import time
import uuid
from collections.abc import Callable, Iterator

import sqlalchemy as sa
from sqlmodel import select
from starlette.testclient import TestClient

from bench.common import print_table, seeded, timed
from perkstar_ui.api import routes
from perkstar_ui.config import settings
from perkstar_ui.db.engine import get_engine
from perkstar_ui.db.models import Card, CardTemplate, Customer
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.domain.card_types import validate_settings
from perkstar_ui.services import cards, stripe_webhook
from perkstar_ui.services.stripe_account import WEBHOOK_PATH
from tests import stripe_fixtures as sf

SECRET = "whsec_bench_installation_secret"
RUNS = 200
CARDS = 300
ORDER_CARDS = 100  # × 10 events = 1,000
TIERS = [{"name": "Basic", "price_cents": 3_500, "visit_limit": 8},
         {"name": "Premium", "price_cents": 7_000, "visit_limit": 20}]
PRICES = {"Basic": "price_basic", "Premium": "price_premium"}


def _stripe_cards(merchant: int, count: int) -> list[tuple[int, str]]:
    """``count`` new Stripe-mode membership cards on existing customers: (id, serial)."""
    with tenant_session(merchant) as session:
        template = session.exec(select(CardTemplate).where(CardTemplate.card_type == "membership")).first()
        template.settings = validate_settings("membership", {**template.settings, "mode": "stripe", "tiers": TIERS,
                                                             "stripe_prices": PRICES}).model_dump(mode="json")
        session.add(template)
        session.commit()
        customers = session.exec(select(Customer.id).order_by(Customer.id.desc()).limit(count)).all()
        issued = [cards.issue_card(session, customer, template) for customer in customers]
        session.commit()
        return [(card.id, card.serial) for card in issued]


def _updates(targets: list[tuple[int, str]]) -> Iterator[tuple[bytes, str]]:
    """Signed subscription.updated events, each newer than the last for its card."""
    created = sf.BASE_TIME
    while True:
        for _, serial in targets:
            created += 1
            evt = sf.event("customer.subscription.updated", sf.subscription(
                serial, sub_id=f"sub_{serial}", start=created, end=created + 30 * sf.DAY), created=created)
            yield sf.signed(evt, SECRET)


def _route(events: Iterator[tuple[bytes, str]], client: TestClient) -> Callable[[], object]:
    def run() -> object:
        body, header = next(events)
        response = client.post(WEBHOOK_PATH, content=body, headers={"Stripe-Signature": header})
        assert response.status_code == 200 and response.json()["outcome"] == "applied", response.text
        return response

    return run


def _receive(events: Iterator[tuple[bytes, str]]) -> Callable[[], object]:
    def run() -> object:
        receipt = stripe_webhook.receive(*next(events))
        assert receipt.outcome == "applied", receipt
        return receipt

    return run


def _bare(backend: str, merchant: int, targets: list[tuple[int, str]]) -> Callable[[], object]:
    """What one event needs as text SQL: find the card by serial, lock it, store the event,
    append the entry, update the cache, commit (no signature, no rules)."""
    engine = get_engine()
    lock = "FOR UPDATE" if backend == "postgresql" else ""
    find = sa.text("SELECT id, merchant_id FROM card WHERE serial = :s AND card_type = 'membership'")
    read = sa.text(f"SELECT * FROM card WHERE id = :c AND merchant_id = :m {lock}")
    store = sa.text("INSERT INTO stripe_event (id, merchant_id, event_type, payload, received_at, processed_at, card_id,"
                    " outcome, attempts) VALUES (:id, :m, 'customer.subscription.updated', :p, :at, :at, :c, 'applied', 1)")
    entry = sa.text("INSERT INTO card_transaction (merchant_id, card_id, customer_id, kind, value_delta, rewards_delta,"
                    " points_delta, spend_delta_cents, balance_after, source, detail, idempotency_key, action_key,"
                    " created_at) VALUES (:m, :c, :cu, 'subscription_changed', 0, 0, 0, 0, :b, 'stripe', :d, :id, :id, :at)")
    update = sa.text("UPDATE card SET metrics = :metrics, subscription_status = 'valid', version = version + 1"
                     " WHERE id = :c AND merchant_id = :m")
    payload = json.dumps(sf.event("customer.subscription.updated", sf.subscription("S", sub_id="sub_bare")))
    cycle = iter(targets * (RUNS + 10))

    def run() -> None:
        _, serial = next(cycle)
        event_id, now = f"evt_bare_{uuid.uuid4().hex}", dt.datetime.now(dt.timezone.utc)
        with engine.connect() as connection:
            if backend == "sqlite":
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            card_id, m = connection.execute(find, {"s": serial}).one()
            card = connection.execute(read, {"c": card_id, "m": m}).mappings().one()
            connection.execute(store, {"id": event_id, "m": m, "p": payload, "at": now, "c": card_id})
            connection.execute(entry, {"m": m, "c": card_id, "cu": card["customer_id"], "b": card["balance"],
                                       "d": '{"status":"valid"}', "id": event_id, "at": now})
            metrics = card["metrics"] if isinstance(card["metrics"], dict) else json.loads(card["metrics"])
            connection.execute(update, {"metrics": json.dumps(metrics), "c": card_id, "m": m})
            connection.commit()

    return run


# --- order ----------------------------------------------------------------------------------------


def _lifecycle(serial: str, offset: int) -> list[dict]:
    """Ten events of one membership over three months (a failed renewal, an upgrade, the end)."""
    sub_id, t = f"sub_{serial}", sf.BASE_TIME + offset
    month = 30 * sf.DAY
    return [
        sf.event("checkout.session.completed", sf.checkout_completed(serial, sub_id=sub_id), created=t),
        sf.event("customer.subscription.created", sf.subscription(serial, sub_id=sub_id, status="incomplete",
                                                                  start=t, end=t + month), created=t + 1),
        sf.event("invoice.paid", sf.invoice(sub_id, serial=serial), created=t + 2),
        sf.event("customer.subscription.updated", sf.subscription(serial, sub_id=sub_id, start=t, end=t + month),
                 created=t + 3),
        sf.event("invoice.payment_failed", sf.invoice(sub_id, serial=serial, paid=False), created=t + month),
        sf.event("customer.subscription.updated", sf.subscription(serial, sub_id=sub_id, status="past_due",
                 start=t + month, end=t + 2 * month, old_api=True), created=t + month + 1),
        sf.event("invoice.paid", sf.invoice(sub_id, old_api=True), created=t + month + 3600),
        sf.event("customer.subscription.updated", sf.subscription(serial, sub_id=sub_id, price="price_premium",
                 start=t + month, end=t + 2 * month), created=t + month + 3601),
        sf.event("invoice.paid", sf.invoice(sub_id, serial=serial, amount=7_000), created=t + 2 * month),
        sf.event("customer.subscription.deleted", sf.subscription(serial, sub_id=sub_id, status="canceled",
                 price="price_premium", start=t + 2 * month, end=t + 3 * month), created=t + 2 * month + 5),
    ]


def _state(merchant: int, card_id: int) -> tuple:
    cache, replay = cards.verify_cache(merchant, card_id)
    with tenant_session(merchant) as session:
        card = session.get(Card, card_id)
        columns = (card.subscription_status, card.subscription_period_end, card.expires_on, card.stripe_watermark,
                   card.balance, card.tier, card.ltv_cents)
    return columns + (json.dumps(cache.membership, sort_keys=True), cache == replay)


def _order(merchant: int) -> tuple[int, int, float, float]:
    """(cards compared, mismatches, seconds in order, seconds shuffled) for 2 × 1,000 events."""
    pairs = list(zip(_stripe_cards(merchant, ORDER_CARDS), _stripe_cards(merchant, ORDER_CARDS)))
    in_order, shuffled = [], []
    for index, ((_, a), (_, b)) in enumerate(pairs):
        in_order.extend(_lifecycle(a, index))
        shuffled.extend(_lifecycle(b, index))
    in_order.sort(key=lambda e: e["created"])
    random.Random(12).shuffle(shuffled)
    timings = []
    for events in (in_order, shuffled):
        started = time.perf_counter()
        for evt in events:
            stripe_webhook.process(evt)
        timings.append(time.perf_counter() - started)
    mismatches = sum(_state(merchant, a) != _state(merchant, b) for (a, _), (b, _) in pairs)
    broken = sum(not _state(merchant, a)[-1] for (a, _), _ in pairs)
    return len(pairs), mismatches + broken, timings[0], timings[1]


def measure(backend: str, merchant: int) -> None:
    targets = _stripe_cards(merchant, CARDS)
    with TestClient(routes.api) as client:
        route = timed(_route(_updates(targets), client), runs=RUNS)
    service = timed(_receive(_updates(targets)), runs=RUNS)
    bare = timed(_bare(backend, merchant, targets), runs=RUNS)
    print_table(f"[{backend}] Stripe webhook, one subscription.updated ({RUNS} runs)", [
        ("POST /api/stripe/webhook", *route, *bare),
        ("stripe_webhook.receive", *service, *bare),
    ])
    compared, mismatches, ordered, shuffled = _order(merchant)
    print(f"[{backend}] {compared * 10} events in order: {ordered:.1f} s; shuffled: {shuffled:.1f} s; "
          f"cards differing from in-order delivery (or replay != cache): {mismatches} of {compared}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    for backend in (["sqlite", "postgresql"] if args.backend == "both" else [args.backend]):
        with seeded(backend, args.customers) as merchant:
            os.environ["STRIPE_WEBHOOK_SECRET"] = SECRET
            settings.cache_clear()
            measure(backend, merchant)


if __name__ == "__main__":
    main()
