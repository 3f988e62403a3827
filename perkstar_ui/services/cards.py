"""The card engine's service: actions, corrections, issuing, expiry, push, panels.

Every action runs in one transaction that first takes the card's lock (``SELECT … FOR
UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), then checks the action's
idempotency key, asks ``domain.card_rules`` for the entries, appends them and folds
them into the card's cache. So a double click or a resent event applies once and two
tablets on one card are serialised instead of overwriting each other.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import secrets
import time
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import select

from perkstar_ui.db.engine import is_sqlite
from perkstar_ui.db.models import Card, CardTemplate, CardTransaction, Customer, Merchant, Message, as_utc, utcnow
from perkstar_ui.db.tenancy import system_session, tenant_session
from perkstar_ui.domain import card_metrics, card_rules
from perkstar_ui.domain import ledger as L
from perkstar_ui.domain.card_rules import Action, IssueOptions
from perkstar_ui.domain.card_types import CARD_TYPE_LABELS, CardSettings, CardType, validate_settings
from perkstar_ui.domain.contacts import full_name
from perkstar_ui.domain.formatting import card_status_label
from perkstar_ui.domain.ledger import CardState, Entry, Refused
from perkstar_ui.domain.referral_rules import may_owe_bonus
from perkstar_ui.domain.serials import random_code, random_serial
from perkstar_ui.services import audit
from perkstar_ui.services.codes import unused_codes

LOCK_RETRIES = 5


class CardNotFound(Refused):
    pass


@dataclass(frozen=True)
class Outcome:
    applied: bool  # False: this idempotency key was applied before; nothing changed
    message: str
    balance: str
    new_card_id: int | None = None  # the loyalty card a redeemed coupon became
    # The first visit of a referred card: the caller pays the referral rewards
    # (services.card_desk; the engine knows nothing of the referral program).
    referral_due: bool = False


# --- loading and locking ------------------------------------------------------------------
# The counter's hot path is plain Core SQL: one locked read of the card with its
# template's settings, the key check, one insert, one update. Every statement names the
# merchant, as the ORM's tenant criteria would.

_CARD = Card.__table__
_TEMPLATE = CardTemplate.__table__
_LEDGER = CardTransaction.__table__
_CACHE_COLUMNS = ("balance", "rewards_available", "spend_total_cents", "ltv_cents", "tier")


@functools.lru_cache(maxsize=512)
def _parsed_settings(card_type: str, raw: str) -> CardSettings:
    return validate_settings(card_type, json.loads(raw))


def settings_of(card_type: str, raw: dict | None) -> CardSettings:
    """Validated template settings, parsed once per distinct JSON (pydantic is not free)."""
    return _parsed_settings(card_type, json.dumps(raw or {}, sort_keys=True))


def _entry(row) -> Entry:  # noqa: ANN001
    return Entry(
        kind=row.kind, at=as_utc(row.created_at), value_delta=row.value_delta, rewards_delta=row.rewards_delta,
        points_delta=row.points_delta, spend_delta_cents=row.spend_delta_cents, purchase_cents=row.purchase_cents,
        detail=row.detail, lot_expires_on=row.lot_expires_on,
    )


def ledger_entries(session, merchant_id: int, card_id: int) -> list[Entry]:  # noqa: ANN001
    rows = session.execute(
        # In the order the cache folded them: ids follow commit order under the card lock.
        sa.select(_LEDGER).where(_LEDGER.c.merchant_id == merchant_id, _LEDGER.c.card_id == card_id)
        .order_by(_LEDGER.c.id)
    ).all()
    return [_entry(r) for r in rows]


def _state_of(session, merchant_id: int, card_id: int, card_type: str, columns, metrics: dict | None,  # noqa: ANN001
              settings: CardSettings) -> CardState:
    """The cache; cards written before the engine kept counters (seed, import) are replayed."""
    if not _has_counters(metrics):
        return L.replay(ledger_entries(session, merchant_id, card_id), CardType(card_type), settings)
    return CardState.from_cache({name: columns[name] for name in _CACHE_COLUMNS}, metrics)


def _has_counters(metrics: dict | None) -> bool:
    return "counters" in (metrics or {})


@dataclass
class LockedCard:
    """One card read under its lock: what the rules need, and the cache to update."""

    id: int
    merchant_id: int
    customer_id: int
    card_type: CardType
    status: str
    expires_on: dt.date | None
    referred_by_card_id: int | None
    version: int
    settings: CardSettings
    state: CardState
    cached: bool = True  # False: the card predates the engine's counters and was replayed
    serial: str = ""
    installed_at: dt.datetime | None = None
    bonus_hold: bool = False  # its bonuses wait for the holder to confirm a contact (referrals pay nothing)


# Built once: constructing SQL per call would cost more than running it.
_LOCK_READ = (
    sa.select(_CARD, _TEMPLATE.c.settings.label("template_settings"))
    .join(_TEMPLATE, _TEMPLATE.c.id == _CARD.c.template_id)
    .where(_CARD.c.id == sa.bindparam("card_id"), _CARD.c.merchant_id == sa.bindparam("merchant_id"))
)
_LOCK_READ_FOR_UPDATE = _LOCK_READ.with_for_update(of=_CARD)
_KEY_READ = sa.select(_LEDGER.c.id).where(
    _LEDGER.c.merchant_id == sa.bindparam("merchant_id"), _LEDGER.c.idempotency_key == sa.bindparam("key")
)
_LEDGER_INSERT = sa.insert(_LEDGER)
_CACHE_UPDATE = (
    sa.update(_CARD)
    .where(_CARD.c.id == sa.bindparam("for_card"), _CARD.c.merchant_id == sa.bindparam("for_merchant"),
           _CARD.c.version == sa.bindparam("old_version"))
    .values(**{name: sa.bindparam(f"new_{name}") for name in (*_CACHE_COLUMNS, "metrics", "last_activity_at", "version")})
)


def _lock(session, merchant_id: int, card_id: int, *, begin: bool = True, lock: bool = True) -> LockedCard | None:  # noqa: ANN001
    """Read the card for update. SQLite: BEGIN IMMEDIATE makes this session the one writer
    from the read on; PostgreSQL: the row lock makes other writers of this card wait.
    ``lock=False``: a plain read, to find out whether there is anything to write."""
    connection = session.connection()
    if is_sqlite(session.get_bind()):
        if begin and lock:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        statement = _LOCK_READ
    else:
        statement = _LOCK_READ_FOR_UPDATE if lock else _LOCK_READ
    row = connection.execute(statement, {"card_id": card_id, "merchant_id": merchant_id}).mappings().first()
    if row is None:
        return None
    settings = settings_of(row["card_type"], row["template_settings"])
    return LockedCard(
        id=row["id"], merchant_id=row["merchant_id"], customer_id=row["customer_id"], card_type=CardType(row["card_type"]),
        status=row["status"], expires_on=row["expires_on"], referred_by_card_id=row["referred_by_card_id"],
        version=row["version"], settings=settings,
        state=_state_of(session, merchant_id, card_id, row["card_type"], row, row["metrics"], settings),
        cached=_has_counters(row["metrics"]), serial=row["serial"], installed_at=row["installed_at"],
        bonus_hold=bool(row["bonus_hold"]),
    )


def _write(session, card: LockedCard, entries: list[Entry], *, source: str, staff_user_id: int | None = None,  # noqa: ANN001
           comment: str | None = None, idempotency_key: str | None = None, action_key: str | None = None,
           correction_of_id: int | None = None, **card_values) -> None:  # noqa: ANN003
    """Append the entries (folded into ``card.state``) and store the new cache, in the caller's transaction."""
    connection = session.connection()
    rows = []
    for index, entry in enumerate(entries):
        L.fold(card.state, entry, card.card_type, card.settings)
        rows.append({
            "merchant_id": card.merchant_id, "card_id": card.id, "customer_id": card.customer_id, "kind": entry.kind,
            "value_delta": entry.value_delta, "rewards_delta": entry.rewards_delta, "points_delta": entry.points_delta,
            "spend_delta_cents": entry.spend_delta_cents, "purchase_cents": entry.purchase_cents,
            "balance_after": card.state.balance, "source": source, "staff_user_id": staff_user_id, "comment": comment,
            "detail": entry.detail, "lot_expires_on": entry.lot_expires_on, "created_at": entry.at,
            "action_key": action_key, "idempotency_key": idempotency_key if index == 0 else None,
            "correction_of_id": correction_of_id,
        })
    if rows:
        connection.execute(_LEDGER_INSERT, rows)
    state = card.state
    values = {f"new_{name}": getattr(state, name) for name in _CACHE_COLUMNS}
    values["new_metrics"] = state.metrics_json()
    values["new_last_activity_at"] = dt.datetime.fromisoformat(state.last_activity_at) if state.last_activity_at else None
    values["new_version"] = card.version + 1
    updated = connection.execute(
        _CACHE_UPDATE, {**values, "for_card": card.id, "for_merchant": card.merchant_id, "old_version": card.version}
    ).rowcount
    if updated != 1:  # cannot happen under the lock; never let a lost update pass silently
        raise OperationalError("card changed under its lock (database is locked)", None, None)
    if card_values:  # rare (a new expiration date): its own statement keeps the common one prebuilt
        connection.execute(sa.update(_CARD).where(_CARD.c.id == card.id, _CARD.c.merchant_id == card.merchant_id)
                           .values(**card_values))
    card.version += 1


# The locked path for services that write system entries on a card (the Stripe webhook).
lock_card = _lock
write_entries = _write


def _already_applied(session, merchant_id: int, key: str | None) -> bool:  # noqa: ANN001
    return bool(key) and session.connection().execute(
        _KEY_READ, {"merchant_id": merchant_id, "key": key}).first() is not None


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


with_lock_retries = _with_retries


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
            card = _lock(session, merchant_id, card_id)
            if card is None:
                raise CardNotFound("This card no longer exists.")
            at = now or utcnow()  # read under the lock, so time order is commit order
            if _already_applied(session, merchant_id, idempotency_key):
                return Outcome(False, "Already applied.", card_metrics.view(card.card_type, card.settings, card.state).balance)
            due = card_rules.settle(card.card_type, card.settings, card.state, at)
            if due:
                _write(session, card, due, source="system")
            try:
                entries = card_rules.apply_action(card.card_type, card.settings, card.state, action, at,
                                                  status=card.status, expires_on=card.expires_on)
            except Refused:
                if due:  # expiries found on the way are true whatever the action
                    session.commit()
                raise
            first_visit = bool(card.referred_by_card_id) and source != "system" and (
                not card.state.count("total_visits")) and card_rules.is_first_action(entries)
            extra = {"expires_on": action.date} if action.verb == "change-expiration" else {}
            _write(session, card, entries, source=source, staff_user_id=staff_user_id, comment=comment,
                   idempotency_key=idempotency_key, action_key=idempotency_key or secrets.token_hex(16), **extra)
            converted = _convert_coupon(session, card, action.purchase_cents, at) if action.verb == "redeem" else None
            audit.record(merchant_id, audit.Action.CARD_ACTION, staff_user_id=staff_user_id, session=session,
                         detail={"card": card.serial, "verb": action.verb, "source": source})
            try:
                session.commit()
            except IntegrityError:
                session.rollback()  # the same key committed by a concurrent request
                if _already_applied(session, merchant_id, idempotency_key):
                    return Outcome(False, "Already applied.", "")
                raise
            message = f"{card_rules.VERB_LABELS[action.verb]}: done."
            if converted is not None:
                message += f" The coupon became a {CARD_TYPE_LABELS[CardType(converted.card_type)]} card."
            return Outcome(True, message, card_metrics.view(card.card_type, card.settings, card.state).balance,
                           new_card_id=converted.id if converted is not None else None, referral_due=first_visit)

    return _with_retries(work)


def correct_transaction(
    merchant_id: int,
    transaction_id: int,
    *,
    staff_user_id: int | None = None,
    idempotency_key: str | None = None,
    comment: str | None = None,
    source: str = "dashboard",
    now: dt.datetime | None = None,
) -> Outcome:
    """Write the reversing entries of the action that wrote this row (spec Q29); ``source``
    is the ledger's (the counter's undo: ``scanner``)."""

    def work() -> Outcome:
        with tenant_session(merchant_id) as session:
            original = session.execute(
                sa.select(_LEDGER).where(_LEDGER.c.id == transaction_id, _LEDGER.c.merchant_id == merchant_id)
            ).first()
            if original is None:
                raise CardNotFound("This transaction no longer exists.")
            card = _lock(session, merchant_id, original.card_id)
            if card is None:
                raise CardNotFound("This card no longer exists.")
            if _already_applied(session, merchant_id, idempotency_key):
                return Outcome(False, "Already applied.", card_metrics.view(card.card_type, card.settings, card.state).balance)
            group = [original]
            if original.action_key:
                group = session.execute(
                    sa.select(_LEDGER).where(_LEDGER.c.merchant_id == merchant_id, _LEDGER.c.card_id == card.id,
                                             _LEDGER.c.action_key == original.action_key).order_by(_LEDGER.c.id)
                ).all()
            corrected = session.execute(sa.select(_LEDGER.c.id).where(
                _LEDGER.c.merchant_id == merchant_id, _LEDGER.c.correction_of_id.in_([g.id for g in group]))).first()
            if corrected:
                raise Refused("This transaction has already been corrected.")
            if card.status == "deleted":
                raise Refused("This card was deleted; it no longer works.")
            entries = card_rules.correction_entries(card.card_type, card.settings, card.state,
                                                    [_entry(g) for g in group], now or utcnow())
            label = L.KIND_LABELS.get(original.kind, original.kind)
            _write(session, card, entries, source=source, staff_user_id=staff_user_id,
                   comment=(comment or "").strip()[:500] or f"Correction of {label}",
                   idempotency_key=idempotency_key, action_key=idempotency_key or secrets.token_hex(16),
                   correction_of_id=original.id)
            audit.record(merchant_id, audit.Action.CARD_CORRECTION, staff_user_id=staff_user_id, session=session,
                         detail={"card": card.serial, "transaction": original.id, "kind": original.kind})
            session.commit()
            return Outcome(True, "The correction was recorded.", card_metrics.view(card.card_type, card.settings, card.state).balance)

    return _with_retries(work)


def _needs_settling(card: LockedCard, now: dt.datetime) -> bool:
    """Whether ``settle_card`` would write anything: expiries or refills due, or the replay
    of a card that predates the engine's counters. A deleted card is left as it is."""
    if card.status == "deleted":
        return False
    return not card.cached or bool(card_rules.settle(card.card_type, card.settings, card.state, now))


def settle_card(merchant_id: int, card_id: int, now: dt.datetime | None = None) -> bool:
    """Write expiries and refills that are due, and store the replay of cards that predate
    the engine (seed, import) so their counters are cached from now on."""
    now = now or utcnow()

    def work() -> bool:
        with tenant_session(merchant_id) as session:
            seen = _lock(session, merchant_id, card_id, lock=False)
            if seen is None or not _needs_settling(seen, now):
                return False  # the common case: nothing due, no lock taken
            session.rollback()
            card = _lock(session, merchant_id, card_id)
            if card is None:  # deleted between the two reads
                return False
            due = card_rules.settle(card.card_type, card.settings, card.state, now)
            _write(session, card, due, source="system")
            session.commit()
            return bool(due)

    return _with_retries(work)


def settle_all(now: dt.datetime | None = None) -> int:
    """The expiry job (spec Q23): settle every live card whose type can expire or refill,
    merchant by merchant; the number of cards that had something due. Idempotent."""
    now = now or utcnow()
    with system_session() as session:  # the list of cards is about every merchant
        targets = session.execute(
            sa.select(_CARD.c.merchant_id, _CARD.c.id)
            .where(_CARD.c.status != "deleted",
                   _CARD.c.card_type.in_([t.value for t in (CardType.STAMP, CardType.MULTIPASS, CardType.CASHBACK,
                                                              CardType.MEMBERSHIP)]))
            .order_by(_CARD.c.merchant_id, _CARD.c.id)
        ).all()
    settled = 0
    for merchant_id, card_id in targets:
        settled += settle_card(merchant_id, card_id, now)
    return settled


# --- coupon conversion and issuing --------------------------------------------------------------


def _convert_coupon(session, coupon: LockedCard, purchase_cents: int | None, now: dt.datetime) -> Card | None:  # noqa: ANN001
    """Spec Q20: a redeemed coupon linked to a loyalty template becomes a new card of it."""
    linked_id = getattr(coupon.settings, "linked_template_id", None)
    if not linked_id:
        return None
    template = session.get(CardTemplate, linked_id)
    if template is None or template.card_type == CardType.COUPON.value:
        return None
    status = session.execute(sa.select(_CARD.c.status, _CARD.c.device, _CARD.c.installed_at).where(
        _CARD.c.id == coupon.id, _CARD.c.merchant_id == coupon.merchant_id)).one()
    card = issue_card(session, coupon.customer_id, template, IssueOptions(), now=now, utm="coupon")
    session.execute(sa.update(_CARD).where(_CARD.c.id == card.id, _CARD.c.merchant_id == coupon.merchant_id)
                    .values(status=status.status, device=status.device, installed_at=status.installed_at))
    if template.card_type == CardType.STAMP.value:  # "stamp card with the first stamp already earned"
        linked = _lock(session, coupon.merchant_id, card.id, begin=False)
        first_visit = Action("add-stamps", 1, purchase_cents=purchase_cents or 0)  # the redemption's visit
        entries = card_rules.apply_action(CardType.STAMP, linked.settings, linked.state, first_visit, now)
        _write(session, linked, entries, source="system", comment="First visit (coupon)", action_key=secrets.token_hex(16))
    return card


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
    card_type, settings = CardType(template.card_type), settings_of(template.card_type, template.settings)
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
    opened = LockedCard(id=card.id, merchant_id=card.merchant_id, customer_id=customer_id, card_type=card_type,
                        status=card.status, expires_on=card.expires_on, referred_by_card_id=referred_by_card_id,
                        version=card.version, settings=settings, state=L.initial_state(card_type, settings))
    _write(session, opened, entries, source=source, staff_user_id=staff_user_id, action_key=secrets.token_hex(16))
    # The row changed under the ORM object: reload its cache on next access.
    session.expire(card, [*_CACHE_COLUMNS, "metrics", "last_activity_at", "version"])
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
    customer_ids: list[int] | sa.Select,  # ids, or a SELECT of them (everyone a filter matches)
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
        if report.issued:
            audit.record(merchant_id, audit.Action.CARD_ISSUE, staff_user_id=staff_user_id, session=session,
                         detail={"template": template.name, "issued": report.issued, "messages": report.messages})
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
    # A referred live card whose bonuses are not held: its referral rewards may be due
    # (services.card_desk asks services.referrals); False: nothing to pay, nothing to ask.
    referral_may_be_due: bool


def _read_card(merchant_id: int, card_id: int) -> LockedCard | None:
    """The card as the panel shows it: a plain read (no lock), in a session of its own."""
    with tenant_session(merchant_id) as session:
        return _lock(session, merchant_id, card_id, lock=False)


def load_panel(merchant_id: int, card_id: int, today: dt.date | None = None) -> PanelView | None:
    """The card's panel. The common case is one read: a cached card with nothing due. A
    card with expiries or refills due, or one that predates the engine's counters, is
    settled first (``settle_card``: under its lock, with retries) and read again."""
    now = utcnow()
    card = _read_card(merchant_id, card_id)
    if card is not None and _needs_settling(card, now):
        settle_card(merchant_id, card_id, now)
        card = _read_card(merchant_id, card_id)
    if card is None:
        return None
    today = today or dt.date.today()
    view = card_metrics.view(
        card.card_type, card.settings, card.state, today=today, expires_on=card.expires_on,
        valid_from=as_utc(card.installed_at).date().isoformat() if card.installed_at else "",
    )
    settings = card.settings
    return PanelView(
        card_id=card.id, card_type=card.card_type.value, serial=card.serial,
        status=card_status_label(card.status, card.expires_on, today),
        expiration=card.expires_on.isoformat() if card.expires_on else "",
        balance=view.balance, tier=view.tier, metrics=view.metrics,
        verbs=[VerbView(v, card_rules.VERB_LABELS[v], card_rules.value_unit(card.card_type, v))
               for v in card_rules.visible_verbs(card.card_type, settings)],
        rewards=[lvl.name for lvl in getattr(settings, "levels", [])],
        tiers=[t.name for t in getattr(settings, "tiers", [])] if card.card_type == CardType.MEMBERSHIP else [],
        needs_purchase_amount=bool(getattr(settings, "purchase_amount_required", False)),
        referral_may_be_due=may_owe_bonus(card.referred_by_card_id, card.bonus_hold, card.status),
    )


def verify_cache(merchant_id: int, card_id: int) -> tuple[CardState, CardState]:
    """(cache, replay) of one card: equal unless something bypassed the engine."""
    with tenant_session(merchant_id) as session:
        card = _lock(session, merchant_id, card_id, lock=False)
        return card.state, L.replay(ledger_entries(session, merchant_id, card_id), card.card_type, card.settings)


def grant_referral_bonus(merchant_id: int, card_id: int, amount: int, *, key: str, comment: str) -> bool:
    """A referral reward on one card, at most once per ``key``; False if already granted."""
    return _grant(merchant_id, card_id, key, comment, "referral",
                  lambda card, now: card_rules.referral_entries(card.card_type, card.settings, card.state, amount, now))


def grant_held_welcome(merchant_id: int, card_id: int) -> bool:
    """The template's welcome bonus of a card issued without it (held until its holder
    confirmed their contact), at most once; False if already granted or none is due."""
    return _grant(merchant_id, card_id, f"welcome-{card_id}", "Welcome bonus (contact confirmed)", "system",
                  lambda card, now: card_rules.held_welcome_entries(card.card_type, card.settings, card.state, now))


def _grant(merchant_id: int, card_id: int, key: str, comment: str, source: str, build) -> bool:  # noqa: ANN001
    """Bonus entries on one card, at most once per idempotency ``key`` (its unique
    constraint settles two workers or tablets racing)."""

    def work() -> bool:
        with tenant_session(merchant_id) as session:
            card = _lock(session, merchant_id, card_id)
            if card is None or card.status == "deleted" or _already_applied(session, merchant_id, key):
                return False
            now = utcnow()
            if card_rules.is_expired(card.expires_on, now.date()):
                return False  # spec Q30: an expired card earns nothing
            due = card_rules.settle(card.card_type, card.settings, card.state, now)  # old stamps burn first
            if due:
                _write(session, card, due, source="system")
            entries = build(card, now)
            if not entries:
                session.commit()
                return False
            _write(session, card, entries, source=source, comment=comment, idempotency_key=key, action_key=key)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                return False
            return True

    return _with_retries(work)
