"""Stripe objects for tests and benchmarks: Stripe's own OpenAPI fixtures
(``/work/shared/stripe/fixtures3.json``, MIT) adapted with our metadata and ids, and
signed offline like Stripe signs webhooks."""

from __future__ import annotations

import copy
import functools
import itertools
import json
import os
import time
from pathlib import Path

import stripe

FIXTURES_PATH = Path(os.environ.get("PERKSTAR_STRIPE_FIXTURES", "/work/shared/stripe/fixtures3.json"))
BASE_TIME = 1_780_000_000  # 2026-05-28, a fixed "now" for events
DAY = 86_400
_ids = itertools.count(1)


@functools.cache
def _resources() -> dict:
    return json.loads(FIXTURES_PATH.read_text())["resources"]


def resource(name: str) -> dict:
    """A fresh deep copy of one fixture object (``subscription``, ``invoice``, …)."""
    return copy.deepcopy(_resources()[name])


def new_id(prefix: str) -> str:
    return f"{prefix}_test{os.getpid()}x{next(_ids)}x{time.time_ns() % 10**9}"


def subscription(serial: str | None, *, sub_id: str, customer: str = "cus_QXg1o8vcGmoR32", status: str = "active",
                 start: int = BASE_TIME, end: int = BASE_TIME + 30 * DAY, price: str = "price_basic",
                 old_api: bool = False, cancel_at_period_end: bool = False) -> dict:
    """The fixture subscription with our card serial, status, price and period: on the
    item (API 2025+) or, ``old_api``, top-level as older API versions send it."""
    sub = resource("subscription")
    sub.update(id=sub_id, customer=customer, status=status, metadata={"card_serial": serial} if serial else {},
               cancel_at_period_end=cancel_at_period_end)
    item = sub["items"]["data"][0]
    item["price"]["id"] = price
    item["subscription"] = sub_id
    if old_api:
        item.pop("current_period_start", None)
        item.pop("current_period_end", None)
        sub.update(current_period_start=start, current_period_end=end)
    else:
        item.update(current_period_start=start, current_period_end=end)
    return sub


def invoice(sub_id: str | None, *, serial: str | None = None, amount: int = 3_500, paid: bool = True,
            customer: str = "cus_QXg1o8vcGmoR32", old_api: bool = False, inv_id: str | None = None) -> dict:
    """The fixture invoice reaching its subscription through ``parent.subscription_details``
    (new API) or the top-level ``subscription`` field (``old_api``)."""
    inv = resource("invoice")
    inv.update(id=inv_id or new_id("in"), customer=customer, currency="usd", amount_due=amount,
               amount_paid=amount if paid else 0, amount_remaining=0 if paid else amount,
               status="paid" if paid else "open", billing_reason="subscription_cycle")
    if old_api:
        inv["parent"] = None
        inv["subscription"] = sub_id
    else:
        inv.pop("subscription", None)
        inv["parent"] = {"type": "subscription_details", "quote_details": None, "subscription_details": {
            "metadata": {"card_serial": serial} if serial else {}, "subscription": sub_id}}
    return inv


def checkout_completed(serial: str, *, sub_id: str, customer: str = "cus_QXg1o8vcGmoR32") -> dict:
    session = resource("checkout.session")
    session.update(id=new_id("cs"), mode="subscription", status="complete", payment_status="paid",
                   subscription=sub_id, customer=customer, metadata={"card_serial": serial},
                   client_reference_id=serial, payment_intent=None)
    return session


def event(event_type: str, obj: dict, *, created: int = BASE_TIME, event_id: str | None = None) -> dict:
    """The fixture event wrapping ``obj``."""
    evt = resource("event")
    evt.update(id=event_id or new_id("evt"), type=event_type, created=created, data={"object": obj},
               api_version=stripe.api_version)
    return evt


def signed(evt: dict, secret: str, *, timestamp: int | None = None) -> tuple[bytes, str]:
    """The body and ``Stripe-Signature`` header Stripe would send."""
    body = json.dumps(evt)
    return body.encode(), stripe.WebhookSignature.generate_signature_header(body, secret, timestamp)
