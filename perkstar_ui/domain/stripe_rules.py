"""Memberships billed by Stripe (issue 12, stripe.md): pure rules, no database, no network.

- What a Stripe status means for the card (``status_of``): trialing/active → Valid;
  past_due/unpaid/incomplete (and paused) → Past due; canceled/incomplete_expired →
  Cancelled; before any subscription the card is Pending payment.
- Where an event points (``event_link``): the card serial in ``metadata.card_serial``
  (the app sets it on the Checkout Session and its subscription), the subscription id
  (an invoice reaches it through ``parent.subscription_details.subscription`` or, on older
  API versions, the top-level ``subscription``) and the Stripe customer id.
- Period fields: on the subscription's items (API 2025+) or top-level (older accounts).
- Out-of-order safety: every event has a ``watermark`` (its ``created`` second, ties broken
  by the event type's place in a subscription's life). A subscription event older than the
  card's last applied one writes nothing; a failed invoice newer than the last applied
  subscription snapshot shows the membership Past due until a newer snapshot arrives.
  So the final state depends only on the set of events, never on their delivery order.
- Everything is a ledger entry (``subscription_changed``, ``payment``), so replay == cache.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
from dataclasses import dataclass

from perkstar_ui.domain import ledger as L
from perkstar_ui.domain.card_types import MembershipSettings
from perkstar_ui.domain.ledger import CardState, Entry

CARD_SERIAL_KEY = "card_serial"  # metadata key on the Checkout Session and the subscription


class MembershipStatus(str, enum.Enum):
    PENDING = "pending_payment"
    VALID = "valid"
    PAST_DUE = "past_due"
    CANCELLED = "cancelled"


STATUS_LABELS: dict[MembershipStatus, str] = {
    MembershipStatus.PENDING: "Pending payment",
    MembershipStatus.VALID: "Valid",
    MembershipStatus.PAST_DUE: "Past due",
    MembershipStatus.CANCELLED: "Cancelled",
}

_STRIPE_STATUSES: dict[str, MembershipStatus] = {
    "trialing": MembershipStatus.VALID,
    "active": MembershipStatus.VALID,
    "past_due": MembershipStatus.PAST_DUE,
    "unpaid": MembershipStatus.PAST_DUE,
    "incomplete": MembershipStatus.PAST_DUE,
    "paused": MembershipStatus.PAST_DUE,  # not in stripe.md: a paused subscription is not paid
    "canceled": MembershipStatus.CANCELLED,
    "incomplete_expired": MembershipStatus.CANCELLED,
}


def status_of(stripe_status: str | None) -> MembershipStatus:
    """A Stripe subscription status as the card's membership status (unknown: Past due)."""
    return _STRIPE_STATUSES.get(stripe_status or "", MembershipStatus.PAST_DUE)


class EventType(str, enum.Enum):
    CHECKOUT_COMPLETED = "checkout.session.completed"
    SUBSCRIPTION_CREATED = "customer.subscription.created"
    SUBSCRIPTION_UPDATED = "customer.subscription.updated"
    SUBSCRIPTION_DELETED = "customer.subscription.deleted"
    INVOICE_PAID = "invoice.paid"
    INVOICE_PAYMENT_FAILED = "invoice.payment_failed"


HANDLED_TYPES = frozenset(t.value for t in EventType)
SUBSCRIPTION_EVENTS = frozenset({EventType.SUBSCRIPTION_CREATED, EventType.SUBSCRIPTION_UPDATED,
                                 EventType.SUBSCRIPTION_DELETED})
INVOICE_EVENTS = frozenset({EventType.INVOICE_PAID, EventType.INVOICE_PAYMENT_FAILED})

# Ties within one second: the order these happen in a subscription's life.
_RANK = {
    EventType.CHECKOUT_COMPLETED: 0,
    EventType.SUBSCRIPTION_CREATED: 1,
    EventType.INVOICE_PAID: 2,
    EventType.INVOICE_PAYMENT_FAILED: 3,
    EventType.SUBSCRIPTION_UPDATED: 4,
    EventType.SUBSCRIPTION_DELETED: 5,
}
_RANKS = 8

_PERIODS = {("day", 1): "daily", ("week", 1): "weekly", ("month", 1): "monthly", ("month", 3): "quarterly",
            ("year", 1): "yearly", ("month", 12): "yearly"}
STRIPE_INTERVALS = {"daily": ("day", 1), "weekly": ("week", 1), "monthly": ("month", 1),
                    "quarterly": ("month", 3), "yearly": ("year", 1)}


def event_type(event: dict) -> EventType | None:
    raw = event.get("type")
    return EventType(raw) if raw in HANDLED_TYPES else None


def watermark(event: dict) -> int:
    """Order of events for one card: ``created`` seconds, then the type's rank."""
    kind = event_type(event)
    return int(event.get("created") or 0) * _RANKS + (_RANK[kind] if kind else 0)


# Same-second snapshots of one type: the later period end wins, then this status order, then the event id.
_STATUS_ORDER = ("incomplete", "trialing", "active", "past_due", "unpaid", "paused", "incomplete_expired", "canceled")


def tiebreak(event: dict) -> str:
    """What decides between two subscription events with the same ``watermark`` (same
    second, same type), from their content only, so any delivery order ends the same:
    the later current period end, then ``_STATUS_ORDER``, then (a hash of) the event id.
    One short string that sorts that way: it is kept in the entry's detail (200 chars)."""
    obj = _get(event, "data", "object") or {}
    ends = [i["current_period_end"] for i in _items(obj) if isinstance(i.get("current_period_end"), int)]
    top = obj.get("current_period_end") if isinstance(obj, dict) else None
    end = max(ends) if ends else (top if isinstance(top, int) and not isinstance(top, bool) else 0)
    status = obj.get("status") if isinstance(obj, dict) else None
    rank = _STATUS_ORDER.index(status) if status in _STATUS_ORDER else -1
    digest = hashlib.sha1(str(event.get("id") or "").encode()).hexdigest()[:8]
    return f"{max(0, int(end)):011d}{rank + 1:x}{digest}"


def _get(obj: object, *path: str) -> object:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _id(value: object) -> str | None:
    """An id field that may also come expanded as an object."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def invoice_subscription(invoice: dict) -> str | None:
    """The invoice's subscription: ``parent.subscription_details.subscription`` (new API)
    or the top-level ``subscription`` (older API versions)."""
    return _id(_get(invoice, "parent", "subscription_details", "subscription")) or _id(invoice.get("subscription"))


def _invoice_metadata(invoice: dict) -> dict:
    for path in (("parent", "subscription_details", "metadata"), ("subscription_details", "metadata")):
        found = _get(invoice, *path)
        if isinstance(found, dict) and found:
            return found
    return {}


@dataclass(frozen=True)
class Link:
    """What an event names: any of them may be missing."""

    card_serial: str | None
    subscription_id: str | None
    customer_id: str | None


def event_link(event: dict) -> Link:
    obj = _get(event, "data", "object") or {}
    kind = event_type(event)
    if kind == EventType.CHECKOUT_COMPLETED:
        serial = (obj.get("metadata") or {}).get(CARD_SERIAL_KEY) or obj.get("client_reference_id")
        return Link(serial, _id(obj.get("subscription")), _id(obj.get("customer")))
    if kind in SUBSCRIPTION_EVENTS:
        return Link((obj.get("metadata") or {}).get(CARD_SERIAL_KEY), _id(obj.get("id")), _id(obj.get("customer")))
    if kind in INVOICE_EVENTS:
        return Link(_invoice_metadata(obj).get(CARD_SERIAL_KEY), invoice_subscription(obj), _id(obj.get("customer")))
    return Link(None, None, None)


def is_subscription_checkout(event: dict) -> bool:
    return _get(event, "data", "object", "mode") == "subscription"


# --- subscription snapshots -------------------------------------------------------------


def _day(timestamp: object) -> str | None:
    if not isinstance(timestamp, (int, float)) or isinstance(timestamp, bool):
        return None
    return dt.datetime.fromtimestamp(int(timestamp), dt.timezone.utc).date().isoformat()


def _items(subscription: dict) -> list[dict]:
    data = _get(subscription, "items", "data")
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


def period_bounds(subscription: dict) -> tuple[str | None, str | None]:
    """Current period start and end days (UTC) from the items (new API: the latest end
    among them) or the subscription's top-level fields (older API versions)."""
    items = [i for i in _items(subscription) if isinstance(i.get("current_period_end"), int)]
    if items:
        item = max(items, key=lambda i: i["current_period_end"])
        return _day(item.get("current_period_start")), _day(item["current_period_end"])
    return _day(subscription.get("current_period_start")), _day(subscription.get("current_period_end"))


def price_ids(subscription: dict) -> list[str]:
    return [p for p in (_id(i.get("price")) for i in _items(subscription)) if p]


def period_of(subscription: dict) -> str | None:
    """The membership period named by the first item's price interval (or plan)."""
    for item in _items(subscription):
        recurring = _get(item, "price", "recurring") or _get(item, "plan") or {}
        if isinstance(recurring, dict):
            key = (recurring.get("interval"), recurring.get("interval_count") or 1)
            if key in _PERIODS:
                return _PERIODS[key]
    return None


def tier_of_price(settings: MembershipSettings, price_id: str) -> str | None:
    for tier, mapped in settings.stripe_prices.items():
        if mapped == price_id and any(t.name == tier for t in settings.tiers):
            return tier
    return None


def tier_limit(settings: MembershipSettings, tier_name: str | None) -> int | None:
    for tier in settings.tiers:
        if tier.name == tier_name:
            return tier.visit_limit
    return None


def membership_status(state: CardState) -> MembershipStatus:
    raw = state.membership.get("status")
    try:
        return MembershipStatus(raw)
    except ValueError:
        return MembershipStatus.PENDING  # issued before issue 12 in Stripe mode: never paid through us


def is_stale(state: CardState, mark: int, tie: str | None = None) -> bool:
    """True when the card already applied a newer subscription event: a higher watermark,
    or the same watermark with a ``tiebreak`` not below this one's."""
    applied = state.membership.get("wm")
    if not isinstance(applied, int) or mark > applied:
        return False
    if mark < applied:
        return True
    seen = state.membership.get("tie")
    return tie is not None and isinstance(seen, str) and tie <= seen


def _overlay(base: MembershipStatus, failed_mark: int | None, snapshot_mark: int | None) -> MembershipStatus:
    """A failed invoice newer than the subscription snapshot shows Past due."""
    if failed_mark is not None and failed_mark > (snapshot_mark if snapshot_mark is not None else -1) and (
            base in (MembershipStatus.VALID, MembershipStatus.PENDING)):
        return MembershipStatus.PAST_DUE
    return base


def _detail(values: dict) -> str:
    return json.dumps(values, sort_keys=True, separators=(",", ":"))


def subscription_entries(settings: MembershipSettings, state: CardState, subscription: dict, mark: int,
                         at: dt.datetime, *, deleted: bool = False, tie: str | None = None,
                         fresh: bool = False) -> list[Entry]:
    """The entry a subscription snapshot writes (none when stale): status, tier from the
    price mapping (else unchanged), period, period end (renewal and expiration), auto-renew,
    the watermark and its ``tiebreak``; at a new period the tier's whole limit (value_delta
    refills to it). ``fresh``: the first snapshot of a subscription the card was just
    re-linked to, not measured against the previous subscription's watermark."""
    if not fresh and is_stale(state, mark, tie):
        return []
    m = state.membership
    base = MembershipStatus.CANCELLED if deleted else status_of(subscription.get("status"))
    status = _overlay(base, m.get("failed_wm"), mark)
    tier = next((t for t in map(lambda p: tier_of_price(settings, p), price_ids(subscription)) if t), None)
    tier = tier or m.get("tier") or (settings.tiers[0].name if settings.tiers else None)
    start, end = period_bounds(subscription)
    start, end = start or m.get("period_start"), end or m.get("period_end")
    new_limit = tier_limit(settings, tier)
    if start and (not m.get("period_start") or start > m["period_start"]):
        new_balance = new_limit or 0  # a new period: the whole limit (stripe.md: refill at each period)
    elif tier != m.get("tier"):
        old_limit = tier_limit(settings, m.get("tier"))
        used = (old_limit - state.balance) if old_limit is not None and m.get("period_start") else 0
        new_balance = max(0, new_limit - used) if new_limit is not None else 0
    else:
        new_balance = state.balance
    detail = {
        "status": status.value, "active": status == MembershipStatus.VALID, "tier": tier,
        "period": period_of(subscription) or m.get("period") or settings.period,
        "period_start": start, "period_end": end, "wm": mark,
        "auto_renew": not (deleted or bool(subscription.get("cancel_at_period_end"))),
    }
    if tie is not None:
        detail["tie"] = tie
    return [Entry(L.SUBSCRIPTION_CHANGED, at, value_delta=new_balance - state.balance, detail=_detail(detail))]


def payment_entries(state: CardState, invoice: dict, mark: int, at: dt.datetime, *, failed: bool) -> list[Entry]:
    """One payment row (amount, currency, status, invoice id; a paid amount adds to LTV);
    a failure also remembers its watermark and, when newer than the snapshot, Past due."""
    amount = int((invoice.get("amount_due") if failed else invoice.get("amount_paid")) or 0)
    payment = {"amount": amount, "currency": str(invoice.get("currency") or "").lower()[:3],
               "status": "failed" if failed else "paid", "invoice": str(invoice.get("id") or "")[:80]}
    entries = [Entry(L.PAYMENT, at, purchase_cents=None if failed else amount, detail=_detail(payment))]
    if failed:
        m = state.membership
        failed_mark = max(mark, m.get("failed_wm") or -1)
        status = _overlay(membership_status(state), failed_mark, m.get("wm"))
        entries.append(Entry(L.SUBSCRIPTION_CHANGED, at, detail=_detail(
            {"failed_wm": failed_mark, "status": status.value, "active": status == MembershipStatus.VALID})))
    return entries


def pending_detail(tier: str | None, period: str, auto_renew: bool) -> str:
    """The opening entry's detail of a Stripe-mode card: Pending payment, no period yet."""
    return _detail({"tier": tier, "period": period, "status": MembershipStatus.PENDING.value, "active": False,
                    "auto_renew": auto_renew})


def expires_on(state: CardState) -> dt.date | None:
    """A Stripe card expires at the end of its paid period."""
    end = state.membership.get("period_end")
    return dt.date.fromisoformat(end) if end else None


@dataclass(frozen=True)
class Payment:
    at: dt.datetime
    amount_cents: int
    currency: str
    status: str  # paid / failed
    invoice_id: str


def payment_of(entry_detail: str | None, at: dt.datetime) -> Payment | None:
    try:
        data = json.loads(entry_detail or "")
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    return Payment(at, int(data.get("amount") or 0), str(data.get("currency") or ""), str(data.get("status") or ""),
                   str(data.get("invoice") or ""))

