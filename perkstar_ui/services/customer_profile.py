"""One customer's profile: contact data, custom values, cards, and a card's history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, select

from perkstar_ui.db.models import (
    Card,
    CardTransaction,
    Customer,
    CustomFieldValue,
    Review,
    StaffUser,
    as_utc,
)
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.domain import card_rules, contacts, ledger, stripe_rules
from perkstar_ui.domain.card_types import (
    BALANCE_UNITS,
    CARD_TYPE_LABELS,
    BalanceUnit,
    CardType,
)
from perkstar_ui.domain.formatting import (
    card_status_label,
    device_label,
    format_units,
    mean_rating,
    rating_text,
)
from perkstar_ui.services import audit
from perkstar_ui.services.custom_fields import list_custom_fields_in


@dataclass
class CardSummary:
    id: int
    card_type: str
    type_label: str
    template_id: int
    serial: str
    status: str  # display: Installed / Uninstalled / Deleted / Expired
    device: str
    issued: str
    installed: str
    expiration: str
    balance: str  # the main balance, plain value in the type's unit
    install_token: str
    referral_code: str
    rating: str
    utm: str
    last_activity: str = ""  # ISO date-time of the last visit on the card; the counter's default card


@dataclass
class CustomValueView:
    key: str
    label: str
    field_type: str
    value: str


@dataclass
class Profile:
    id: int
    first_name: str
    last_name: str
    name: str
    phone: str
    email: str
    birthdate: str
    created: str
    utm: str
    custom: list[CustomValueView]
    cards: list[CardSummary]
    sms_consent: bool = False
    email_consent: bool = False


def load_profile(merchant_id: int, customer_id: int) -> Profile | None:
    """None when the id is not one of this merchant's customers."""
    with tenant_session(merchant_id) as session:
        customer = session.get(Customer, customer_id)
        if customer is None:
            return None
        values = dict(
            session.exec(
                select(CustomFieldValue.field_id, CustomFieldValue.value).where(
                    CustomFieldValue.customer_id == customer_id
                )
            ).all()
        )
        custom = [
            CustomValueView(d.key, d.label, d.field_type, values.get(d.id, ""))
            for d in list_custom_fields_in(session)
        ]
        cards = _cards(session, customer)
        return Profile(
            id=customer.id,
            first_name=customer.first_name,
            last_name=customer.last_name,
            name=contacts.full_name(customer.first_name, customer.last_name),
            phone=customer.phone or "",
            email=customer.email or "",
            birthdate=customer.birthdate.isoformat() if customer.birthdate else "",
            created=as_utc(customer.created_at).date().isoformat(),
            utm=customer.utm or "",
            custom=custom,
            cards=cards,
            sms_consent=customer.sms_consent,
            email_consent=customer.email_consent,
        )


# --- history ---------------------------------------------------------------------------

HISTORY_COLUMNS = ["Date-time", "Action", "Value change", "Purchase amount", "Balance after", "Source", "Staff user", "Comment"]


@dataclass
class HistoryRow:
    id: int
    at: str  # ISO date-time, UTC
    kind: str
    action: str
    amount: str  # value change in the card's unit, signed
    purchase: str
    balance_after: str
    source: str
    staff: str
    comment: str
    correctable: bool = False

    def as_csv(self) -> list[str]:
        return [self.at, self.action, self.amount, self.purchase, self.balance_after, self.source, self.staff, self.comment]


_NOT_CORRECTABLE = card_rules.UNCORRECTABLE  # the history shows no "Correct" on these rows


def load_cards(merchant_id: int, customer_id: int) -> list[CardSummary] | None:
    """The customer's cards alone (after a card action nothing else of the profile
    changed); None when the customer is gone."""
    with tenant_session(merchant_id) as session:
        customer = session.get(Customer, customer_id)
        return None if customer is None else _cards(session, customer)


def _cards(session: Session, customer: Customer) -> list[CardSummary]:
    ratings = {
        card_id: (total, count)
        for card_id, total, count in session.exec(
            select(Review.card_id, sa.func.sum(Review.rating), sa.func.count())
            .where(Review.customer_id == customer.id)
            .group_by(Review.card_id)
        ).all()
    }
    today = dt.date.today()
    return [
        CardSummary(
            id=c.id,
            card_type=c.card_type,
            type_label=CARD_TYPE_LABELS[CardType(c.card_type)],
            template_id=c.template_id,
            serial=c.serial,
            status=card_status_label(c.status, c.expires_on, today),
            device=device_label(c.device) if c.device else "",
            issued=as_utc(c.issued_at).date().isoformat(),
            installed=as_utc(c.installed_at).date().isoformat() if c.installed_at else "",
            expiration=c.expires_on.isoformat() if c.expires_on else "",
            balance=format_units(c.balance, BALANCE_UNITS[CardType(c.card_type)]),
            install_token=c.install_token,
            referral_code=c.referral_code,
            rating=rating_text(mean_rating(*ratings.get(c.id, (0, 0)))),
            utm=c.utm or customer.utm or "",
            last_activity=as_utc(c.last_activity_at).isoformat() if c.last_activity_at else "",
        )
        for c in session.exec(select(Card).where(Card.customer_id == customer.id).order_by(Card.issued_at, Card.id)).all()
    ]


def _history_statement(card_id: int):  # noqa: ANN202
    return (
        select(CardTransaction, StaffUser.email)
        .outerjoin(StaffUser, StaffUser.id == CardTransaction.staff_user_id)
        .where(CardTransaction.card_id == card_id)
        .order_by(CardTransaction.created_at.desc(), CardTransaction.id.desc())
    )


def _action_label(transaction: CardTransaction) -> str:
    if transaction.kind == ledger.CORRECTION:
        return f"Correction ({ledger.KIND_LABELS.get(transaction.detail or '', transaction.detail or '')})"
    label = ledger.KIND_LABELS.get(transaction.kind, transaction.kind.replace("_", " ").capitalize())
    if transaction.kind == ledger.PAYMENT:  # a Stripe invoice: amount, currency, status, invoice id
        payment = stripe_rules.payment_of(transaction.detail, as_utc(transaction.created_at))
        if payment:
            return (f"{label}: {format_units(payment.amount_cents, BalanceUnit.CENTS)} {payment.currency.upper()} "
                    f"{payment.status} · {payment.invoice_id}")
    if transaction.kind in (ledger.REWARD_REDEEMED, ledger.TIER_CHANGED) and transaction.detail:
        return f"{label}: {transaction.detail}" if not transaction.detail.startswith("{") else label
    return label


def _history_row(transaction: CardTransaction, staff: str | None, unit: BalanceUnit, corrected: set = frozenset()) -> HistoryRow:
    return HistoryRow(
        id=transaction.id,
        at=as_utc(transaction.created_at).strftime("%Y-%m-%d %H:%M:%S"),
        kind=transaction.kind,
        action=_action_label(transaction),
        amount=format_units(transaction.value_delta, unit, signed=True),
        purchase=format_units(transaction.purchase_cents, BalanceUnit.CENTS) if transaction.purchase_cents is not None else "",
        balance_after=format_units(transaction.balance_after, unit),
        source=transaction.source.capitalize(),
        staff=staff or "",
        comment=transaction.comment or "",
        correctable=transaction.kind not in _NOT_CORRECTABLE
        and transaction.id not in corrected and (transaction.action_key or "") not in corrected,
    )


# Built once: aliasing the ledger on every call cost more than the query (cProfile: over a
# third of card_history's CPU).
_ORIGINAL = sa.orm.aliased(CardTransaction)


def _corrected(session, card_id: int) -> set:  # noqa: ANN001
    """Ids and action keys of entries that a correction has reversed already."""
    rows = session.exec(
        select(_ORIGINAL.id, _ORIGINAL.action_key)
        .join(CardTransaction, CardTransaction.correction_of_id == _ORIGINAL.id)
        .where(CardTransaction.card_id == card_id)
    ).all()
    return {i for i, _ in rows} | {k for _, k in rows if k}


def card_history(merchant_id: int, card_id: int, page: int = 1, page_size: int = 20) -> tuple[list[HistoryRow], int]:
    with tenant_session(merchant_id) as session:
        card_type = session.exec(select(Card.card_type).where(Card.id == card_id)).first()
        if card_type is None:
            return [], 0
        unit = BALANCE_UNITS[CardType(card_type)]
        page = max(page, 1)
        rows = session.exec(_history_statement(card_id).offset((page - 1) * page_size).limit(page_size)).all()
        if page == 1 and len(rows) < page_size:
            total = len(rows)  # a short first page is the whole history: no second pass to count it
        else:  # an indexed count; a window on the page would read every entry of a long card
            total = session.exec(
                select(sa.func.count()).select_from(CardTransaction).where(CardTransaction.card_id == card_id)
            ).one()
        corrected = _corrected(session, card_id) if rows else set()
        return [_history_row(t, email, unit, corrected) for t, email in rows], total


def iter_card_history(merchant_id: int, card_id: int, *, staff_user_id: int | None = None,
                      ip: str | None = None) -> tuple[str, Iterator[HistoryRow]] | None:
    """The card's serial and its whole history, streamed in chunks; None if not ours. An
    export: when the stream ends (or is abandoned) an ``export`` audit entry records the
    card and the rows sent."""
    with tenant_session(merchant_id) as session:
        card = session.get(Card, card_id)
        if card is None:
            return None
        serial, unit = card.serial, BALANCE_UNITS[CardType(card.card_type)]

    def rows() -> Iterator[HistoryRow]:
        sent, complete = 0, False
        try:
            with tenant_session(merchant_id) as session:
                result = session.exec(_history_statement(card_id).execution_options(yield_per=1000))
                for transaction, email in result:
                    sent += 1
                    yield _history_row(transaction, email, unit)
            complete = True
        finally:
            audit.record(merchant_id, audit.Action.EXPORT, staff_user_id=staff_user_id, ip=ip,
                         detail={"card_history": serial, "rows": sent, "complete": complete})

    return serial, rows()
