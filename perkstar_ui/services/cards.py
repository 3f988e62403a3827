"""The card engine's service: actions, corrections, issuing, expiry, push, panels.

Every action runs in one transaction that first takes the card's lock (``SELECT … FOR
UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), then checks the action's
idempotency key, asks ``domain.card_rules`` for the entries, appends them and folds
them into the card's cache. So a double click or a resent event applies once and two
tablets on one card are serialised instead of overwriting each other.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import select

from perkstar_ui.db.engine import is_sqlite
from perkstar_ui.db.models import Card, CardTemplate, CardTransaction, Customer, Merchant, Message, as_utc, utcnow
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.domain import card_metrics, card_rules
from perkstar_ui.domain import ledger as L
from perkstar_ui.domain.card_rules import Action, IssueOptions
from perkstar_ui.domain.card_types import CARD_TYPE_LABELS, CardSettings, CardType, validate_settings
from perkstar_ui.domain.contacts import full_name
from perkstar_ui.domain.formatting import card_status_label
from perkstar_ui.domain.ledger import CardState, Entry, Refused
from perkstar_ui.domain.serials import random_code, random_serial
from perkstar_ui.services.codes import unused_codes

LOCK_RETRIES = 5


class CardNotFound(Refused):
    pass


@dataclass(frozen=True)
class Outcome:
    applied: bool  # False: this idempotency key was applied before; nothing changed
    message: str
    balance: str


# --- loading and locking ------------------------------------------------------------------


def _settings(session, card: Card) -> CardSettings:  # noqa: ANN001
    template = session.get(CardTemplate, card.template_id)
    return validate_settings(card.card_type, template.settings if template else None)


def _entry(row: CardTransaction) -> Entry:
    return Entry(
        kind=row.kind, at=as_utc(row.created_at), value_delta=row.value_delta, rewards_delta=row.rewards_delta,
        points_delta=row.points_delta, spend_delta_cents=row.spend_delta_cents, purchase_cents=row.purchase_cents,
        detail=row.detail, lot_expires_on=row.lot_expires_on,
    )


def ledger_entries(session, card_id: int) -> list[Entry]:  # noqa: ANN001
    rows = session.exec(
        # In the order the cache folded them: ids follow commit order under the card lock.
        select(CardTransaction).where(CardTransaction.card_id == card_id).order_by(CardTransaction.id)
    ).all()
    return [_entry(r) for r in rows]


def replay_card(session, card: Card) -> CardState:  # noqa: ANN001
    """The card's state recomputed from its whole ledger (the truth the cache mirrors)."""
    return L.replay(ledger_entries(session, card.id), CardType(card.card_type), _settings(session, card))


def cached_state(session, card: Card) -> CardState:  # noqa: ANN001
    """The cache; cards written before the engine kept counters (seed, import) are replayed once."""
    if "counters" not in (card.metrics or {}):
        return replay_card(session, card)
    return CardState.from_cache(
        {"balance": card.balance, "rewards_available": card.rewards_available, "spend_total_cents": card.spend_total_cents,
         "ltv_cents": card.ltv_cents, "tier": card.tier},
        card.metrics,
    )


def _lock(session, card_id: int) -> Card | None:  # noqa: ANN001
    if is_sqlite(session.get_bind()):
        # One writer at a time from the first read on: the version we read is the one we update.
        session.connection().exec_driver_sql("BEGIN IMMEDIATE")
        return session.exec(select(Card).where(Card.id == card_id).execution_options(populate_existing=True)).first()
    return session.exec(
        select(Card).where(Card.id == card_id).with_for_update().execution_options(populate_existing=True)
    ).first()


def _append(session, card: Card, state: CardState, entries: list[Entry], card_type: CardType, settings: CardSettings, *,  # noqa: ANN001
            source: str, staff_user_id: int | None, comment: str | None, idempotency_key: str | None,
            action_key: str | None, correction_of_id: int | None = None) -> list[CardTransaction]:
    rows = []
    for index, entry in enumerate(entries):
        L.fold(state, entry, card_type, settings)
        rows.append(CardTransaction(
            merchant_id=card.merchant_id, card_id=card.id, customer_id=card.customer_id, kind=entry.kind,
            value_delta=entry.value_delta, rewards_delta=entry.rewards_delta, points_delta=entry.points_delta,
            spend_delta_cents=entry.spend_delta_cents, purchase_cents=entry.purchase_cents, balance_after=state.balance,
            source=source, staff_user_id=staff_user_id, comment=comment, detail=entry.detail,
            lot_expires_on=entry.lot_expires_on, created_at=entry.at, action_key=action_key,
            idempotency_key=idempotency_key if index == 0 else None, correction_of_id=correction_of_id,
        ))
    session.add_all(rows)
    _store(card, state)
    return rows


def _store(card: Card, state: CardState) -> None:
    card.balance, card.rewards_available = state.balance, state.rewards_available
    card.spend_total_cents, card.ltv_cents, card.tier = state.spend_total_cents, state.ltv_cents, state.tier
    card.metrics = state.metrics_json()
    if state.last_activity_at:
        card.last_activity_at = dt.datetime.fromisoformat(state.last_activity_at)
    card.version += 1


def _already_applied(session, key: str | None) -> bool:  # noqa: ANN001
    return bool(key) and session.exec(select(CardTransaction.id).where(CardTransaction.idempotency_key == key)).first() is not None


def _with_retries(work):  # noqa: ANN001, ANN202
    """SQLite may still report a busy database under heavy contention: try again."""
    for attempt in range(LOCK_RETRIES):
        try:
            return work()
        except OperationalError as error:
            if "locked" not in str(error).lower() or attempt == LOCK_RETRIES - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


# --- actions -------------------------------------------------------------------------------


def perform_action(
    merchant_id: int,
    card_id: int,
    action: Action,
    *,
    staff_user_id: int | None = None,
    idempotency_key: str | None = None,
    source: str = "dashboard",
    comment: str | None = None,
    now: dt.datetime | None = None,
) -> Outcome:
    """Apply one merchant action to a card exactly once; ``Refused`` says why not."""
    comment = (comment or "").strip()[:500] or None

    def work() -> Outcome:
        with tenant_session(merchant_id) as session:
            card = _lock(session, card_id)
            if card is None:
                raise CardNotFound("This card no longer exists.")
            at = now or utcnow()  # read under the lock, so time order is commit order
            card_type, settings = CardType(card.card_type), _settings(session, card)
            state = cached_state(session, card)
            if _already_applied(session, idempotency_key):
                return Outcome(False, "Already applied.", card_metrics.view(card_type, settings, state).balance)
            due = card_rules.settle(card_type, settings, state, at)
            if due:
                _append(session, card, state, due, card_type, settings, source="system", staff_user_id=None,
                        comment=None, idempotency_key=None, action_key=None)
            try:
                entries = card_rules.apply_action(card_type, settings, state, action, at,
                                                  status=card.status, expires_on=card.expires_on)
            except Refused:
                session.commit()  # expiries found on the way are true whatever the action
                raise
            first_visit = bool(card.referred_by_card_id) and not state.count("total_visits") and (
                card_rules.is_first_action(entries))
            key = idempotency_key or secrets.token_hex(16)
            _append(session, card, state, entries, card_type, settings, source=source, staff_user_id=staff_user_id,
                    comment=comment, idempotency_key=idempotency_key, action_key=key)
            if action.verb == "change-expiration":
                card.expires_on = action.date
            session.add(card)
            converted = _convert_coupon(session, card, settings, at) if card_type == CardType.COUPON else None
            try:
                session.commit()
            except IntegrityError:
                session.rollback()  # the same key committed by a concurrent request
                if _already_applied(session, idempotency_key):
                    return Outcome(False, "Already applied.", "")
                raise
            if first_visit:
                from perkstar_ui.services import referrals  # referrals builds on this module

                referrals.on_first_visit(merchant_id, card_id)
            view = card_metrics.view(card_type, settings, state)
            message = f"{card_rules.VERB_LABELS[action.verb]}: done."
            if converted:
                message += f" The coupon became a {converted} card."
            return Outcome(True, message, view.balance)

    return _with_retries(work)


def correct_transaction(
    merchant_id: int,
    transaction_id: int,
    *,
    staff_user_id: int | None = None,
    idempotency_key: str | None = None,
    comment: str | None = None,
    now: dt.datetime | None = None,
) -> Outcome:
    """Write the reversing entries of the action that wrote this row (spec Q29)."""
    now = now or utcnow()

    def work() -> Outcome:
        with tenant_session(merchant_id) as session:
            original = session.get(CardTransaction, transaction_id)
            if original is None:
                raise CardNotFound("This transaction no longer exists.")
            card = _lock(session, original.card_id)
            if card is None:
                raise CardNotFound("This card no longer exists.")
            card_type, settings = CardType(card.card_type), _settings(session, card)
            state = cached_state(session, card)
            if _already_applied(session, idempotency_key):
                return Outcome(False, "Already applied.", card_metrics.view(card_type, settings, state).balance)
            group = [original]
            if original.action_key:
                group = session.exec(
                    select(CardTransaction).where(CardTransaction.action_key == original.action_key)
                    .order_by(CardTransaction.id)
                ).all()
            if session.exec(select(CardTransaction.id).where(CardTransaction.correction_of_id.in_([g.id for g in group]))).first():
                raise Refused("This transaction has already been corrected.")
            if card.status == "deleted":
                raise Refused("This card was deleted; it no longer works.")
            entries = card_rules.correction_entries(card_type, settings, state, [_entry(g) for g in group], now)
            _append(session, card, state, entries, card_type, settings, source="dashboard", staff_user_id=staff_user_id,
                    comment=(comment or "").strip()[:500] or f"Correction of {L.KIND_LABELS.get(original.kind, original.kind)}",
                    idempotency_key=idempotency_key, action_key=idempotency_key or secrets.token_hex(16),
                    correction_of_id=original.id)
            session.add(card)
            session.commit()
            return Outcome(True, "The correction was recorded.", card_metrics.view(card_type, settings, state).balance)

    return _with_retries(work)


def settle_card(merchant_id: int, card_id: int, now: dt.datetime | None = None) -> None:
    """Write expiries and refills that are due, and replay cards that predate the engine."""
    now = now or utcnow()

    def work() -> None:
        with tenant_session(merchant_id) as session:
            card = session.get(Card, card_id)
            if card is None or card.status == "deleted":
                return
            card_type, settings = CardType(card.card_type), _settings(session, card)
            state = cached_state(session, card)
            due = card_rules.settle(card_type, settings, state, now)
            if not due and "counters" in (card.metrics or {}):
                return
            card = _lock(session, card_id)
            state = cached_state(session, card)
            due = card_rules.settle(card_type, settings, state, now)
            _append(session, card, state, due, card_type, settings, source="system", staff_user_id=None, comment=None,
                    idempotency_key=None, action_key=None)
            session.add(card)
            session.commit()

    _with_retries(work)


# --- coupon conversion and issuing --------------------------------------------------------------


def _convert_coupon(session, coupon: Card, settings, now: dt.datetime) -> str | None:  # noqa: ANN001
    """Spec Q20: a redeemed coupon linked to a loyalty template becomes a new card of it."""
    linked_id = getattr(settings, "linked_template_id", None)
    if not linked_id:
        return None
    template = session.get(CardTemplate, linked_id)
    if template is None or template.card_type == CardType.COUPON.value:
        return None
    card = issue_card(session, coupon.customer_id, template, IssueOptions(), now=now, utm="coupon")
    card.status, card.device, card.installed_at = coupon.status, coupon.device, coupon.installed_at
    if template.card_type == CardType.STAMP.value:  # "stamp card with the first stamp already earned"
        card_type, linked_settings = CardType.STAMP, validate_settings(template.card_type, template.settings)
        state = cached_state(session, card)
        entries = card_rules.apply_action(card_type, linked_settings, state, Action("add-stamps", 1), now)
        _append(session, card, state, entries, card_type, linked_settings, source="system", staff_user_id=None,
                comment="First visit (coupon)", idempotency_key=None, action_key=secrets.token_hex(16))
    session.add(card)
    return CARD_TYPE_LABELS[CardType(template.card_type)]


def issue_card(
    session,  # noqa: ANN001
    customer_id: int,
    template: CardTemplate,
    options: IssueOptions = IssueOptions(),
    *,
    now: dt.datetime | None = None,
    utm: str | None = None,
    referred_by_card_id: int | None = None,
    source: str = "dashboard",
    staff_user_id: int | None = None,
) -> Card:
    """A new card with its opening entries, in the caller's transaction; activates the template."""
    now = now or utcnow()
    card_type, settings = CardType(template.card_type), validate_settings(template.card_type, template.settings)
    entries = card_rules.opening_entries(card_type, settings, options, now)
    serial = unused_codes(random_serial, Card.serial, 1)[0]
    referral = unused_codes(lambda: random_code(8), Card.referral_code, 1)[0]
    card = Card(
        merchant_id=template.merchant_id, customer_id=customer_id, template_id=template.id, card_type=card_type.value,
        serial=serial, status="uninstalled", utm=utm, issued_at=now, install_token=random_code(32),
        referral_code=referral, referred_by_card_id=referred_by_card_id,
        expires_on=options.expires_on or settings.expiration.expires_on(now.date()),
    )
    session.add(card)
    session.flush()
    state = L.initial_state(card_type, settings)
    _append(session, card, state, entries, card_type, settings, source=source, staff_user_id=staff_user_id,
            comment=None, idempotency_key=None, action_key=secrets.token_hex(16))
    card.version = 0
    if template.activated_at is None:
        # cards.md §0.3: settings lock from the first issued card. The row lock keeps a
        # template edit running at the same moment from slipping past that check.
        template = session.exec(
            select(CardTemplate).where(CardTemplate.id == template.id).with_for_update()
            .execution_options(populate_existing=True)
        ).one()
        if template.activated_at is None:
            template.activated_at = now
            session.add(template)
    return card


@dataclass
class IssueReport:
    issued: int = 0
    skipped: list[str] = field(default_factory=list)  # "Name: reason"
    messages: int = 0


def issue_cards(
    merchant_id: int,
    customer_ids: list[int],
    template_id: int,
    options: IssueOptions,
    *,
    delivery: str = "none",  # sms / email / both / none
    staff_user_id: int | None = None,
    origin: str = "",
) -> IssueReport:
    """Bulk issue (customers.md §11): one card per customer who has none of this template,
    each with its install link queued for delivery; all or nothing."""
    report = IssueReport()
    now = utcnow()
    with tenant_session(merchant_id) as session:
        template = session.get(CardTemplate, template_id)
        if template is None:
            raise Refused("Choose a card template.")
        merchant_name = _merchant_name(session, merchant_id)
        holders = set(session.exec(
            select(Card.customer_id).where(Card.template_id == template_id, Card.customer_id.in_(customer_ids),
                                           Card.status != "deleted")
        ).all())
        customers = session.exec(select(Customer).where(Customer.id.in_(customer_ids)).order_by(Customer.id)).all()
        for customer in customers:
            name = full_name(customer.first_name, customer.last_name)
            if customer.id in holders:
                report.skipped.append(f"{name}: already has this card")
                continue
            card = issue_card(session, customer.id, template, options, now=now, utm="bulk issue",
                              staff_user_id=staff_user_id)
            report.issued += 1
            link = f"{origin}/card/{card.install_token}"
            for channel, recipient in _delivery(delivery, customer):
                if not recipient:
                    report.skipped.append(f"{name}: no {'phone' if channel == 'sms' else 'email'} for {channel.upper()}")
                    continue
                session.add(Message(
                    merchant_id=merchant_id, customer_id=customer.id, card_id=card.id, channel=channel,
                    recipient=recipient, subject=f"Your {template.name} card" if channel == "email" else None,
                    body=f"{merchant_name}: your {template.name} card is ready. Add it to your phone: {link}",
                ))
                report.messages += 1
        session.commit()
    return report


def _delivery(delivery: str, customer: Customer) -> list[tuple[str, str | None]]:
    channels = {"sms": ["sms"], "email": ["email"], "both": ["sms", "email"]}.get(delivery, [])
    return [(c, customer.phone if c == "sms" else customer.email) for c in channels]


def _merchant_name(session, merchant_id: int) -> str:  # noqa: ANN001
    merchant = session.get(Merchant, merchant_id)
    return merchant.name if merchant else "Perkstar"


def send_push(merchant_id: int, card_id: int, text: str) -> None:
    text = (text or "").strip()
    if not text:
        raise Refused("Write the message to send.")
    if len(text) > 500:
        raise Refused("A push message can be at most 500 characters.")
    with tenant_session(merchant_id) as session:
        card = session.get(Card, card_id)
        if card is None:
            raise CardNotFound("This card no longer exists.")
        if card.status != "installed":
            raise Refused("Push messages reach installed cards only; send the install link first.")
        session.add(Message(merchant_id=merchant_id, customer_id=card.customer_id, card_id=card.id, channel="push",
                            recipient=card.serial, body=text))
        session.commit()


# --- the panel -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerbView:
    verb: str
    label: str
    unit: str  # count / money / points / none


@dataclass(frozen=True)
class PanelView:
    card_id: int
    card_type: str
    serial: str
    status: str
    expiration: str
    balance: str
    tier: str
    metrics: list[card_metrics.Metric]
    verbs: list[VerbView]
    rewards: list[str]  # reward levels (reward card) to pick from
    tiers: list[str]  # membership tiers
    needs_purchase_amount: bool


def load_panel(merchant_id: int, card_id: int, today: dt.date | None = None) -> PanelView | None:
    settle_card(merchant_id, card_id)
    with tenant_session(merchant_id) as session:
        card = session.get(Card, card_id)
        if card is None:
            return None
        card_type, settings = CardType(card.card_type), _settings(session, card)
        state = cached_state(session, card)
        today = today or dt.date.today()
        view = card_metrics.view(
            card_type, settings, state, today=today, expires_on=card.expires_on,
            valid_from=as_utc(card.installed_at).date().isoformat() if card.installed_at else "",
        )
        verbs = card_rules.visible_verbs(card_type, settings)
        return PanelView(
            card_id=card.id, card_type=card.card_type, serial=card.serial,
            status=card_status_label(card.status, card.expires_on, today),
            expiration=card.expires_on.isoformat() if card.expires_on else "",
            balance=view.balance, tier=view.tier, metrics=view.metrics,
            verbs=[VerbView(v, card_rules.VERB_LABELS[v], card_rules.value_unit(card_type, v)) for v in verbs],
            rewards=[lvl.name for lvl in getattr(settings, "levels", [])],
            tiers=[t.name for t in getattr(settings, "tiers", [])] if card_type == CardType.MEMBERSHIP else [],
            needs_purchase_amount=bool(getattr(settings, "purchase_amount_required", False)),
        )


def verify_cache(merchant_id: int, card_id: int) -> tuple[CardState, CardState]:
    """(cache, replay) of one card: equal unless something bypassed the engine."""
    with tenant_session(merchant_id) as session:
        card = session.get(Card, card_id)
        return cached_state(session, card), replay_card(session, card)



def grant_referral_bonus(merchant_id: int, card_id: int, amount: int, *, key: str, comment: str) -> bool:
    """A referral reward on one card, at most once per ``key``; False if already granted."""

    def work() -> bool:
        with tenant_session(merchant_id) as session:
            card = _lock(session, card_id)
            if card is None or card.status == "deleted" or _already_applied(session, key):
                return False
            card_type, settings = CardType(card.card_type), _settings(session, card)
            state = cached_state(session, card)
            entries = card_rules.referral_entries(card_type, settings, state, amount, utcnow())
            if not entries:
                return False
            _append(session, card, state, entries, card_type, settings, source="referral", staff_user_id=None,
                    comment=comment, idempotency_key=key, action_key=key)
            session.add(card)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                return False
            return True

    return _with_retries(work)


def list_templates_for_issue(merchant_id: int) -> list[tuple[int, str, str]]:
    """The merchant's active templates as (id, name, card type), for the bulk-issue dialog."""
    with tenant_session(merchant_id) as session:
        return [
            (t.id, t.name, t.card_type)
            for t in session.exec(select(CardTemplate).where(CardTemplate.active).order_by(CardTemplate.id)).all()
        ]
