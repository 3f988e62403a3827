"""Memberships billed by Stripe (issue 12): what the profile shows and the merchant's
Stripe actions on one card — start a subscription (Checkout Session, link sent through the
outbox), cancel at period end, open it in the dashboard.

The card's state only ever changes through the webhook (``services.stripe_webhook``):
these calls ask Stripe, and Stripe's events say what happened. Card ids come from the
browser: every read names the merchant (``tenant_session``) so another merchant's card is
simply not found.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
import stripe

from perkstar_ui.config import settings
from perkstar_ui.db.models import Card, CardTemplate, CardTransaction, Customer, Merchant, Message, StripeEvent, as_utc
from perkstar_ui.db.tenancy import system_session, tenant_session
from perkstar_ui.domain import ledger as L
from perkstar_ui.domain import stripe_rules
from perkstar_ui.domain.card_rules import STRIPE_MODE
from perkstar_ui.domain.card_types import BalanceUnit, CardType, MembershipSettings
from perkstar_ui.domain.formatting import format_units
from perkstar_ui.domain.messages import Channel
from perkstar_ui.domain.stripe_rules import CARD_SERIAL_KEY, MembershipStatus
from perkstar_ui.services import cards
from perkstar_ui.services.stripe_account import StripeSetupError, api_key, explain, is_test_key

DASHBOARD = "https://dashboard.stripe.com"
PAYMENTS_SHOWN = 50
UNMATCHED_SHOWN = 50


class EventOutcome:
    """``stripe_event.outcome``."""

    APPLIED = "applied"
    STALE = "stale"  # older than what the card already shows: stored, nothing changed
    IGNORED = "ignored"  # a type we do not act on (or a non-subscription checkout)
    UNKNOWN_CARD = "unknown_card"  # no card of ours: stored, listed, applied once a link appears
    FAILED = "failed"  # applying raised: the worker retries at next_attempt_at


@dataclass(frozen=True)
class PaymentView:
    at: str  # ISO date-time (UTC)
    amount: str  # "20.00"
    currency: str  # "USD"
    status: str  # paid / failed
    invoice_id: str


@dataclass(frozen=True)
class MembershipView:
    """The profile's membership panel (all modes); Stripe fields empty outside Stripe mode."""

    card_id: int
    mode: str  # stripe / manual / v1
    tier: str
    status: str  # MembershipStatus value in Stripe mode; "active"/"inactive" otherwise
    status_label: str  # card-subscription-status: Pending payment / Valid / Past due / Cancelled (Active / Inactive)
    renewal: str  # card-renewal, ISO date ("" when none)
    expiration: str  # ISO date
    visits_left: str  # limits left this period; "" when unlimited
    period: str
    auto_renew: bool
    subscription_id: str
    dashboard_url: str  # "Open in Stripe" ("" until a subscription is linked)
    can_start_subscription: bool
    can_cancel: bool
    payments: list[PaymentView] = field(default_factory=list)


def _dashboard_url(subscription_id: str, test_mode: bool) -> str:
    return f"{DASHBOARD}/{'test/' if test_mode else ''}subscriptions/{subscription_id}"


def _test_mode(merchant_id: int) -> bool:
    try:
        return is_test_key(api_key(merchant_id))
    except StripeSetupError:
        return False


def _payments(session, merchant_id: int, card_id: int) -> list[PaymentView]:  # noqa: ANN001
    table = CardTransaction.__table__
    rows = session.execute(
        sa.select(table.c.detail, table.c.created_at)
        .where(table.c.merchant_id == merchant_id, table.c.card_id == card_id, table.c.kind == L.PAYMENT)
        .order_by(table.c.created_at.desc(), table.c.id.desc()).limit(PAYMENTS_SHOWN)
    ).all()
    views = []
    for detail, at in rows:
        payment = stripe_rules.payment_of(detail, as_utc(at))
        if payment:
            views.append(PaymentView(payment.at.isoformat(), format_units(payment.amount_cents, BalanceUnit.CENTS),
                                     payment.currency.upper(), payment.status, payment.invoice_id))
    return views


def membership_view(merchant_id: int, card_id: int) -> MembershipView | None:
    """None unless ``card_id`` is one of this merchant's membership cards."""
    with tenant_session(merchant_id) as session:
        card = cards.lock_card(session, merchant_id, card_id, lock=False)
        if card is None or card.card_type != CardType.MEMBERSHIP:
            return None
        row = session.get(Card, card_id)
        subscription_id = row.stripe_subscription_id or ""
        payments = _payments(session, merchant_id, card_id)
    s: MembershipSettings = card.settings  # type: ignore[assignment]
    m = card.state.membership
    limit = stripe_rules.tier_limit(s, m.get("tier")) if s.mode != "v1" else None
    if s.mode == STRIPE_MODE:
        status = stripe_rules.membership_status(card.state)
        status_value, label, renewal = status.value, stripe_rules.STATUS_LABELS[status], m.get("period_end") or ""
    else:
        expired = card.expires_on is not None and card.expires_on < dt.datetime.now(dt.timezone.utc).date()
        active = m.get("active", True) and not expired
        status_value, label = ("active", "Active") if active else ("inactive", "Inactive")
        renewal = ""
    stripe_mode = s.mode == STRIPE_MODE
    live = card.status != "deleted"
    return MembershipView(
        card_id=card.id, mode=s.mode, tier=m.get("tier") or "", status=status_value, status_label=label,
        renewal=renewal, expiration=card.expires_on.isoformat() if card.expires_on else "",
        visits_left=str(card.state.balance) if limit is not None else "", period=m.get("period") or "",
        auto_renew=bool(m.get("auto_renew", True)), subscription_id=subscription_id,
        dashboard_url=_dashboard_url(subscription_id, _test_mode(merchant_id)) if subscription_id and stripe_mode else "",
        can_start_subscription=stripe_mode and live and status_value in (MembershipStatus.PENDING, MembershipStatus.CANCELLED),
        can_cancel=stripe_mode and live and bool(subscription_id) and status_value != MembershipStatus.CANCELLED
        and bool(m.get("auto_renew", True)),
        payments=payments,
    )


# --- start a subscription ---------------------------------------------------------------------


@dataclass(frozen=True)
class CheckoutLink:
    url: str  # the Checkout page, to show and copy
    session_id: str
    sent_by: list[str]  # channels the link was queued on (sms / email); empty: copy it
    message: str  # what the panel says


@dataclass(frozen=True)
class _CheckoutTarget:
    serial: str
    install_token: str
    customer_id: int
    phone: str | None
    email: str | None
    stripe_customer_id: str | None
    template_name: str
    merchant_name: str
    tier: str
    price_id: str
    trial_days: int


def _checkout_target(merchant_id: int, card_id: int, tier: str | None) -> _CheckoutTarget:
    with tenant_session(merchant_id) as session:
        card = cards.lock_card(session, merchant_id, card_id, lock=False)
        if card is None:
            raise cards.CardNotFound("This card no longer exists.")
        s = card.settings
        if card.card_type != CardType.MEMBERSHIP or s.mode != STRIPE_MODE:  # type: ignore[union-attr]
            raise StripeSetupError("Only a membership billed by Stripe has a subscription.")
        if card.status == "deleted":
            raise StripeSetupError("This card was deleted; it no longer works.")
        status = stripe_rules.membership_status(card.state)
        if status in (MembershipStatus.VALID, MembershipStatus.PAST_DUE):
            raise StripeSetupError(f"This membership already has a subscription ({stripe_rules.STATUS_LABELS[status]}); "
                                   "open it in Stripe to change it.")
        tier = tier or card.state.membership.get("tier") or s.tiers[0].name  # type: ignore[union-attr]
        price_id = s.stripe_prices.get(tier)  # type: ignore[union-attr]
        if not any(t.name == tier for t in s.tiers):  # type: ignore[union-attr]
            raise StripeSetupError(f"Unknown tier {tier}.")
        if not price_id:
            raise StripeSetupError(f"Tier {tier} has no Stripe price yet: map it in Settings › Stripe first.")
        row = session.get(Card, card_id)
        customer = session.get(Customer, card.customer_id)
        template = session.get(CardTemplate, row.template_id)
        merchant = session.get(Merchant, merchant_id)
        return _CheckoutTarget(
            serial=row.serial, install_token=row.install_token, customer_id=customer.id, phone=customer.phone,
            email=customer.email, stripe_customer_id=row.stripe_customer_id, template_name=template.name,
            merchant_name=merchant.name, tier=tier, price_id=price_id, trial_days=s.trial_days,  # type: ignore[union-attr]
        )


def _channel(target: _CheckoutTarget) -> tuple[Channel, str] | None:
    """The customer's channel for a payment link: SMS when there is a phone, else email."""
    if target.phone:
        return Channel.SMS, target.phone
    if target.email:
        return Channel.EMAIL, target.email
    return None


def start_subscription(merchant_id: int, card_id: int, origin: str = "", *, tier: str | None = None) -> CheckoutLink:
    """A Checkout Session (mode subscription, the tier's price, ``metadata.card_serial`` on
    the session and its subscription, back to the card page); its link is queued to the
    customer by SMS or email through the outbox and returned to show and copy."""
    target = _checkout_target(merchant_id, card_id, tier)
    key = api_key(merchant_id)
    base = (origin or settings().public_urls[0]).rstrip("/")
    card_page = f"{base}/card/{target.install_token}"
    metadata = {CARD_SERIAL_KEY: target.serial}
    subscription_data: dict = {"metadata": metadata}
    if target.trial_days:
        subscription_data["trial_period_days"] = target.trial_days
    params: dict = {
        "mode": "subscription",
        "line_items": [{"price": target.price_id, "quantity": 1}],
        "metadata": metadata,
        "subscription_data": subscription_data,
        "client_reference_id": target.serial,
        "success_url": f"{card_page}?checkout=success",
        "cancel_url": f"{card_page}?checkout=cancelled",
    }
    if target.stripe_customer_id:
        params["customer"] = target.stripe_customer_id
    elif target.email:
        params["customer_email"] = target.email
    try:
        checkout = stripe.checkout.Session.create(api_key=key, **params).to_dict()
    except stripe.StripeError as error:
        raise StripeSetupError(explain(error)) from None
    url = checkout.get("url") or ""
    sent_by: list[str] = []
    channel = _channel(target)
    if channel and url:
        kind, recipient = channel
        with tenant_session(merchant_id) as session:
            session.add(Message(
                merchant_id=merchant_id, customer_id=target.customer_id, card_id=card_id, channel=kind.value,
                recipient=recipient, subject=f"Your {target.template_name} membership" if kind == Channel.EMAIL else None,
                body=f"{target.merchant_name}: start your {target.template_name} membership ({target.tier}) here: {url}",
            ))
            session.commit()
        sent_by.append(kind.value)
    message = (f"Checkout link sent by {' and '.join(c.upper() if c == Channel.SMS else c for c in sent_by)}."
               if sent_by else "The customer has no phone or email: copy the link and send it yourself.")
    return CheckoutLink(url, checkout["id"], sent_by, message)


# --- the running subscription --------------------------------------------------------------


def _linked(merchant_id: int, card_id: int) -> tuple[str, MembershipView]:
    view = membership_view(merchant_id, card_id)
    if view is None:
        raise cards.CardNotFound("This card no longer exists.")
    if view.mode != STRIPE_MODE or not view.subscription_id:
        raise StripeSetupError("This card has no Stripe subscription yet.")
    return view.subscription_id, view


def cancel_at_period_end(merchant_id: int, card_id: int) -> str:
    """Ask Stripe to end the subscription when the paid period ends; the webhook's
    ``customer.subscription.updated`` then shows it on the card."""
    subscription_id, view = _linked(merchant_id, card_id)
    try:
        stripe.Subscription.modify(subscription_id, api_key=api_key(merchant_id), cancel_at_period_end=True)
    except stripe.StripeError as error:
        raise StripeSetupError(explain(error)) from None
    end = f" on {view.renewal}" if view.renewal else " at the end of the paid period"
    return f"The membership will end{end}; it stays valid until then."


def dashboard_url(merchant_id: int, card_id: int) -> str:
    subscription_id, _ = _linked(merchant_id, card_id)
    return _dashboard_url(subscription_id, _test_mode(merchant_id))


@dataclass(frozen=True)
class UnmatchedEvent:
    id: str
    event_type: str
    received: str  # ISO date-time
    subscription_id: str
    customer_id: str


def unmatched_link_condition(events: sa.Table, merchant_id: int | None = None) -> sa.ColumnElement[bool]:
    """An event row whose subscription or customer id is a membership card's (of
    ``merchant_id`` if given, else of the row's merchant or any when it has none)."""
    cards_ = Card.__table__
    same = cards_.c.merchant_id == merchant_id if merchant_id is not None else sa.or_(
        events.c.merchant_id.is_(None), cards_.c.merchant_id == events.c.merchant_id)
    linked = sa.or_(sa.and_(events.c.subscription_id.is_not(None), cards_.c.stripe_subscription_id == events.c.subscription_id),
                    sa.and_(events.c.customer_id.is_not(None), cards_.c.stripe_customer_id == events.c.customer_id))
    return sa.exists(sa.select(cards_.c.id).where(cards_.c.card_type == CardType.MEMBERSHIP.value, same, linked))


def unmatched_events(merchant_id: int) -> list[UnmatchedEvent]:
    """Events for no card (newest first) that concern this merchant: those that reached its
    own endpoint, and those of the installation's endpoint (no merchant) whose subscription
    or customer id is now one of its cards' (applied by the worker's next ``retry_due``)."""
    table = StripeEvent.__table__
    concerns = unmatched_link_condition(table, merchant_id)
    with system_session() as session:  # rows of the shared endpoint have no merchant yet
        rows = session.execute(
            sa.select(table.c.id, table.c.event_type, table.c.received_at, table.c.subscription_id, table.c.customer_id)
            .where(table.c.outcome == EventOutcome.UNKNOWN_CARD,
                   sa.or_(table.c.merchant_id == merchant_id, sa.and_(table.c.merchant_id.is_(None), concerns)))
            .order_by(table.c.received_at.desc()).limit(UNMATCHED_SHOWN)
        ).all()
    return [UnmatchedEvent(r.id, r.event_type, as_utc(r.received_at).isoformat(), r.subscription_id or "",
                           r.customer_id or "") for r in rows]
