"""Stripe webhook events applied to cards (issue 12, stripe.md "Rules").

``receive`` checks the signature on the raw body (400 and nothing stored on failure),
then ``process`` stores the event id once, in the transaction of its effect:

- the card is found across merchants (``system_session``) by ``metadata.card_serial``,
  the stored subscription id, or the stored Stripe customer id; an event that came in on a
  merchant's own path (``/api/stripe/webhook/{token}``) only ever reaches that merchant's
  cards. The effect is written in that merchant's ``tenant_session`` under the card's lock
  (the card engine's locked path), with the ``stripe_event`` row in the same transaction;
- unknown types and non-subscription checkouts: stored ``ignored``; no card: stored
  ``unknown_card`` with its subscription and customer ids, listed for the merchant and
  applied as soon as a later event links that subscription to a card;
- an event whose effect raised is stored ``failed`` with the error and retried by the
  worker (``retry_due``, job ``stripe-events``) with back-off until it applies;
- a repeat of a stored id is acknowledged and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass

import sqlalchemy as sa
import stripe
from sqlalchemy.exc import IntegrityError

from perkstar_ui.config import settings
from perkstar_ui.db.models import Card, StripeEvent, as_utc, utcnow
from perkstar_ui.db.tenancy import system_session, tenant_session
from perkstar_ui.domain import ledger as L
from perkstar_ui.domain import stripe_rules
from perkstar_ui.domain.card_rules import STRIPE_MODE
from perkstar_ui.domain.card_types import CardType
from perkstar_ui.domain.stripe_rules import EventType, Link
from perkstar_ui.services import cards, stripe_billing
from perkstar_ui.services.stripe_account import webhook_secret_for_token
from perkstar_ui.services.stripe_billing import EventOutcome

log = logging.getLogger(__name__)

SIGNATURE_TOLERANCE_SECONDS = 300
RETRY_BASE_SECONDS = 60
RETRY_MAX_SECONDS = 6 * 3600
RETRY_BATCH = 100
SOURCE = "stripe"  # card_transaction.source of Stripe's entries
_EVENTS = StripeEvent.__table__
_CARDS = Card.__table__
# A new subscription for a card re-links it when its current one is cancelled (or this is newer).
RELINKING = frozenset({EventType.CHECKOUT_COMPLETED, EventType.SUBSCRIPTION_CREATED})


@dataclass(frozen=True)
class Receipt:
    status_code: int  # what the endpoint answers: 200, or 400 for a bad request / signature
    outcome: str  # EventOutcome, "duplicate", or why it was refused


def receive(body: bytes, signature: str | None, *, merchant_token: str | None = None,
            now: dt.datetime | None = None) -> Receipt:
    """The endpoint: which signing secret applies (the merchant's path, else the
    installation's ``STRIPE_WEBHOOK_SECRET``), the signature on the raw body, then ``process``."""
    scope = None
    if merchant_token is not None:
        found = webhook_secret_for_token(merchant_token)
        if found is None:
            return Receipt(400, "unknown endpoint or no signing secret")
        scope, secret = found
    else:
        secret = settings().stripe_webhook_secret
        if not secret:
            return Receipt(400, "no signing secret configured")
    if not signature:
        return Receipt(400, "missing signature")
    try:
        stripe.WebhookSignature.verify_header(body, signature, secret, SIGNATURE_TOLERANCE_SECONDS)
        event = json.loads(body)
    except (stripe.SignatureVerificationError, ValueError):
        return Receipt(400, "bad signature")
    if not isinstance(event, dict) or not isinstance(event.get("id"), str) or not event.get("type"):
        return Receipt(400, "not an event")
    return Receipt(200, process(event, scope, now=now))


# --- finding the card ---------------------------------------------------------------------------


def _find_card(link: Link, scope: int | None) -> tuple[int, int] | None:
    """(merchant, card) of the membership card the event names, within ``scope`` if given."""
    conditions = []
    if link.card_serial:
        conditions.append(_CARDS.c.serial == link.card_serial)
    if link.subscription_id:
        conditions.append(_CARDS.c.stripe_subscription_id == link.subscription_id)
    for condition in conditions:  # serial first: the app put it there
        found = _one_card(condition, scope)
        if found:
            return found
    if link.customer_id:
        return _one_card(_CARDS.c.stripe_customer_id == link.customer_id, scope, unique=True)
    return None


def _one_card(condition: sa.ColumnElement[bool], scope: int | None, *, unique: bool = False) -> tuple[int, int] | None:
    statement = sa.select(_CARDS.c.merchant_id, _CARDS.c.id).where(
        condition, _CARDS.c.card_type == CardType.MEMBERSHIP.value).order_by(_CARDS.c.id).limit(2)
    if scope is not None:
        statement = statement.where(_CARDS.c.merchant_id == scope)
    with system_session() as session:  # the event names no merchant
        rows = session.execute(statement).all()
    if not rows or (unique and len(rows) > 1):  # a customer id shared by two cards names neither
        return None
    return rows[0].merchant_id, rows[0].id


# --- storing ----------------------------------------------------------------------------------------


def _row(event: dict, merchant_id: int | None, card_id: int | None, outcome: str, now: dt.datetime,
         link: Link) -> dict:
    return {"id": event["id"], "merchant_id": merchant_id, "event_type": str(event.get("type"))[:100],
            "payload": event, "received_at": now, "processed_at": now if outcome != EventOutcome.FAILED else None,
            "card_id": card_id, "subscription_id": link.subscription_id, "customer_id": link.customer_id,
            "outcome": outcome, "attempts": 1, "error": None, "next_attempt_at": None}


def _store_alone(event: dict, merchant_id: int | None, outcome: str, now: dt.datetime, link: Link) -> str:
    """An event with no effect (ignored, unknown card) stored in its own transaction."""
    with system_session() as session:
        try:
            session.execute(sa.insert(_EVENTS).values(**_row(event, merchant_id, None, outcome, now, link)))
            session.commit()
        except IntegrityError:
            return "duplicate"
    return outcome


def _seen(event_id: str) -> bool:
    with system_session() as session:
        return session.execute(sa.select(_EVENTS.c.id).where(_EVENTS.c.id == event_id)).first() is not None


def _retry_delay(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1)))


def _record_failure(event: dict, merchant_id: int, card_id: int, error: Exception, now: dt.datetime,
                    link: Link) -> None:
    message = f"{error.__class__.__name__}: {error}"[:1000]
    with system_session() as session:
        attempts = session.execute(sa.select(_EVENTS.c.attempts).where(_EVENTS.c.id == event["id"])).scalar()
        if attempts is None:
            row = _row(event, merchant_id, card_id, EventOutcome.FAILED, now, link)
            session.execute(sa.insert(_EVENTS).values(**row, ).values(
                error=message, next_attempt_at=now + _retry_delay(1)))
        else:
            session.execute(sa.update(_EVENTS).where(_EVENTS.c.id == event["id"]).values(
                outcome=EventOutcome.FAILED, error=message, attempts=attempts + 1, processed_at=None,
                next_attempt_at=now + _retry_delay(attempts + 1)))
        try:
            session.commit()
        except IntegrityError:  # stored meanwhile by a redelivery that applied it
            session.rollback()


# --- applying ----------------------------------------------------------------------------------


def process(event: dict, scope: int | None = None, *, now: dt.datetime | None = None) -> str:
    """Store and apply one verified event; its outcome (or "duplicate")."""
    now = now or utcnow()
    if _seen(event["id"]):
        return "duplicate"
    kind = stripe_rules.event_type(event)
    link = stripe_rules.event_link(event)
    if kind is None or (kind == EventType.CHECKOUT_COMPLETED and not stripe_rules.is_subscription_checkout(event)):
        return _store_alone(event, scope, EventOutcome.IGNORED, now, link)
    target = _find_card(link, scope)
    if target is None:
        return _store_alone(event, scope, EventOutcome.UNKNOWN_CARD, now, link)
    return _apply_or_record(event, target, now, link, claim=None)


def _apply_or_record(event: dict, target: tuple[int, int], now: dt.datetime, link: Link, *, claim: str | None) -> str:
    merchant_id, card_id = target
    try:
        outcome, linked = cards.with_lock_retries(lambda: _apply(event, merchant_id, card_id, now, link, claim=claim))
    except Exception as error:  # noqa: BLE001 - stored with its error and retried, never lost
        log.exception("stripe event %s failed to apply", event.get("id"))
        _record_failure(event, merchant_id, card_id, error, now, link)
        return EventOutcome.FAILED
    if linked:
        _apply_waiting(merchant_id, linked, now)
    return outcome


def _claim(session, event: dict, merchant_id: int, card_id: int, outcome: str, now: dt.datetime,  # noqa: ANN001
           link: Link, claim: str | None) -> bool:
    """Write the event's row in the effect's transaction: insert it, or (a retry) take it
    over from ``claim`` — False when someone else stored or applied it first."""
    connection = session.connection()
    if claim is None:
        try:
            with connection.begin_nested():
                connection.execute(sa.insert(_EVENTS).values(**_row(event, merchant_id, card_id, outcome, now, link)))
        except IntegrityError:
            return False
        return True
    updated = connection.execute(sa.update(_EVENTS).where(_EVENTS.c.id == event["id"], _EVENTS.c.outcome == claim).values(
        merchant_id=merchant_id, card_id=card_id, outcome=outcome, processed_at=now, error=None, next_attempt_at=None,
        attempts=_EVENTS.c.attempts + 1))
    return updated.rowcount == 1


def _apply(event: dict, merchant_id: int, card_id: int, now: dt.datetime, link: Link, *,
           claim: str | None) -> tuple[str, str | None]:
    """One transaction: lock the card, store the event row, write its entries and cache.
    Returns the outcome and the subscription id this event newly linked (or None)."""
    kind = stripe_rules.event_type(event)
    obj = (event.get("data") or {}).get("object") or {}
    mark = stripe_rules.watermark(event)
    at = dt.datetime.fromtimestamp(int(event.get("created") or now.timestamp()), dt.timezone.utc)
    with tenant_session(merchant_id) as session:
        card = cards.lock_card(session, merchant_id, card_id)
        if card is None:  # deleted meanwhile
            session.rollback()
            return _store_alone(event, merchant_id, EventOutcome.UNKNOWN_CARD, now, link), None
        row = session.execute(sa.select(_CARDS.c.stripe_subscription_id, _CARDS.c.stripe_customer_id).where(
            _CARDS.c.id == card_id, _CARDS.c.merchant_id == merchant_id)).one()
        values: dict = {}
        current, applied = row.stripe_subscription_id, card.state.membership.get("wm")
        foreign = bool(link.subscription_id and current and link.subscription_id != current)
        relink = foreign and kind in RELINKING and (
            stripe_rules.membership_status(card.state) == stripe_rules.MembershipStatus.CANCELLED
            or not isinstance(applied, int) or mark > applied)
        if link.subscription_id and (not current or relink):
            values["stripe_subscription_id"] = link.subscription_id
        if link.customer_id and (not row.stripe_customer_id or (relink and link.customer_id != row.stripe_customer_id)):
            values["stripe_customer_id"] = link.customer_id
        if foreign and not relink:  # another subscription than the card's: its payments are history only
            entries = _entries(kind, card, obj, mark, at, event, history_only=True)
        else:
            entries = _entries(kind, card, obj, mark, at, event, fresh=relink)
        if entries:
            after = card.state.copy()
            for entry in entries:
                L.fold(after, entry, card.card_type, card.settings)
            values.update(_cache(after))
        linking = kind == EventType.CHECKOUT_COMPLETED and not (foreign and not relink)
        outcome = EventOutcome.APPLIED if entries or linking else EventOutcome.STALE
        if not _claim(session, event, merchant_id, card_id, outcome, now, link, claim):
            session.rollback()
            return "duplicate", None
        if entries or values:
            key = str(event["id"])[:64]
            cards.write_entries(session, card, entries, source=SOURCE, idempotency_key=key, action_key=key, **values)
        session.commit()
    return outcome, values.get("stripe_subscription_id")


def _entries(kind: EventType | None, card: cards.LockedCard, obj: dict, mark: int, at: dt.datetime, event: dict, *,
             history_only: bool = False, fresh: bool = False) -> list[L.Entry]:
    """``history_only``: an event of a subscription the card is no longer (or not yet) linked
    to — its invoices are still payment rows in the card's history (stripe.md: every
    invoice.paid / payment_failed is a payment row), but it never changes the status."""
    settings_ = card.settings
    if card.card_type != CardType.MEMBERSHIP or settings_.mode != STRIPE_MODE:  # type: ignore[union-attr]
        return []  # a manual or v1 membership: linked, but Stripe does not drive it
    if kind in stripe_rules.SUBSCRIPTION_EVENTS:
        if history_only:
            return []
        return stripe_rules.subscription_entries(settings_, card.state, obj, mark, at,  # type: ignore[arg-type]
                                                 deleted=kind == EventType.SUBSCRIPTION_DELETED,
                                                 tie=stripe_rules.tiebreak(event), fresh=fresh)
    if kind in stripe_rules.INVOICE_EVENTS:
        entries = stripe_rules.payment_entries(card.state, obj, mark, at, failed=kind == EventType.INVOICE_PAYMENT_FAILED)
        return [e for e in entries if e.kind == L.PAYMENT] if history_only else entries
    return []


def _cache(state: L.CardState) -> dict:
    """The card columns that mirror what the ledger says about the subscription."""
    end = stripe_rules.expires_on(state)
    values = {"subscription_status": stripe_rules.membership_status(state).value}
    if end is not None:  # stripe.md: card expiration = current period end
        values.update(subscription_period_end=end, expires_on=end)
    if isinstance(state.membership.get("wm"), int):
        values["stripe_watermark"] = state.membership["wm"]
    return values


def _apply_waiting(merchant_id: int, subscription_id: str, now: dt.datetime) -> int:
    """Events stored for no card that name a subscription now linked: applied, oldest first."""
    with system_session() as session:
        rows = session.execute(
            sa.select(_EVENTS.c.payload).where(
                _EVENTS.c.outcome == EventOutcome.UNKNOWN_CARD, _EVENTS.c.subscription_id == subscription_id,
                sa.or_(_EVENTS.c.merchant_id.is_(None), _EVENTS.c.merchant_id == merchant_id))
            .order_by(_EVENTS.c.received_at)
        ).all()
    applied = 0
    for (payload,) in rows:
        target = _find_card(stripe_rules.event_link(payload), merchant_id)
        if target is not None:
            _apply_or_record(payload, target, now, stripe_rules.event_link(payload), claim=EventOutcome.UNKNOWN_CARD)
            applied += 1
    return applied


def retry_due(now: dt.datetime | None = None) -> int:
    """The worker's job: apply again every failed event whose next attempt is due; the
    number that applied. Each retry claims the row in its own transaction, so several
    workers never apply one event twice."""
    now = now or utcnow()
    with system_session() as session:
        rows = session.execute(
            sa.select(_EVENTS.c.payload, _EVENTS.c.merchant_id).where(
                _EVENTS.c.outcome == EventOutcome.FAILED, _EVENTS.c.next_attempt_at <= now)
            .order_by(_EVENTS.c.next_attempt_at).limit(RETRY_BATCH)
        ).all()
    applied = 0
    for payload, merchant_id in rows:
        link = stripe_rules.event_link(payload)
        target = _find_card(link, merchant_id)
        if target is None:
            continue  # the card went away: left failed and listed with its error
        if _apply_or_record(payload, target, now, link, claim=EventOutcome.FAILED) not in (
                EventOutcome.FAILED, "duplicate"):
            applied += 1
    return applied + _retry_linkable(now)


def _retry_linkable(now: dt.datetime) -> int:
    """Events stored for no card whose subscription or customer id now is a card's (linked
    by another way than ``_apply_waiting`` sees, e.g. on the installation's endpoint by the
    customer): applied, oldest first."""
    with system_session() as session:
        rows = session.execute(
            sa.select(_EVENTS.c.payload, _EVENTS.c.merchant_id).where(
                _EVENTS.c.outcome == EventOutcome.UNKNOWN_CARD, stripe_billing.unmatched_link_condition(_EVENTS))
            .order_by(_EVENTS.c.received_at).limit(RETRY_BATCH)
        ).all()
    applied = 0
    for payload, merchant_id in rows:
        link = stripe_rules.event_link(payload)
        target = _find_card(link, merchant_id)
        if target is not None and _apply_or_record(payload, target, now, link, claim=EventOutcome.UNKNOWN_CARD) not in (
                EventOutcome.FAILED, "duplicate"):
            applied += 1
    return applied


@dataclass(frozen=True)
class StoredEvent:
    id: str
    event_type: str
    outcome: str
    card_id: int | None
    attempts: int
    error: str
    received: str


def stored_event(event_id: str) -> StoredEvent | None:
    with system_session() as session:
        row = session.execute(sa.select(_EVENTS).where(_EVENTS.c.id == event_id)).first()
    if row is None:
        return None
    return StoredEvent(row.id, row.event_type, row.outcome or "", row.card_id, row.attempts, row.error or "",
                       as_utc(row.received_at).isoformat())
