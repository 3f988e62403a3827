"""Customer records: the grid page, create/edit, profile, history, deletion.

Every function takes the merchant id of the logged-in user and works in a
``tenant_session``; the grid returns one page (never the table) as plain dataclasses.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from perkstar_ui.db.models import (
    Card,
    CardTransaction,
    CustomFieldDefinition,
    CustomFieldValue,
    Customer,
    Merchant,
    Message,
    Review,
    StaffUser,
    as_utc,
    utcnow,
)
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.domain import card_rules, contacts, ledger
from perkstar_ui.domain.card_types import BALANCE_UNITS, CARD_TYPE_LABELS, BalanceUnit, CardType
from perkstar_ui.domain.deletion import customer_deletion_refusal
from perkstar_ui.domain.formatting import card_status_label, device_label, format_units, mean_rating, rating_text
from perkstar_ui.domain.serials import normalise_serial

PAGE_SIZES = (25, 50, 100)
SORT_KEYS = ("name", "created", "birthdate", "phone", "rating", "utm", "device", "cards")


# --- grid ----------------------------------------------------------------------------


@dataclass(frozen=True)
class GridQuery:
    search: str = ""
    sort: str = "created"  # one of SORT_KEYS or "cf:<field key>"
    descending: bool = True
    page: int = 1
    page_size: int = 50


@dataclass
class Cell:
    key: str
    value: str


@dataclass
class GridRow:
    id: int
    name: str
    created: str
    birthdate: str
    phone: str
    rating: str
    utm: str
    device: str
    cards: str
    custom: list[Cell] = field(default_factory=list)  # one per custom field, in field order


@dataclass
class GridPage:
    rows: list[GridRow]
    total: int
    page: int
    page_size: int
    fields: list["CustomFieldView"] = field(default_factory=list)  # the custom columns

    @property
    def page_info(self) -> str:
        if not self.total:
            return "0 of 0"
        first = (self.page - 1) * self.page_size + 1
        last = min(self.page * self.page_size, self.total)
        return f"{first}–{last} of {self.total}"

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def search_condition(term: str, region_of_merchant) -> sa.ColumnElement | None:  # noqa: ANN001
    term = term.strip()
    if not term:
        return None
    e164 = contacts.phone_search_key(term, region_of_merchant)
    if e164:
        # A whole phone number names one customer: an indexed equality, no scan.
        return Customer.phone == e164
    pattern = contacts.search_pattern(term)
    if not pattern:
        return sa.false()  # e.g. only punctuation: nothing can match
    conditions = [Customer.search_text.like(f"%{_escape_like(pattern)}%", escape="\\")]
    serial = normalise_serial(term)
    if len(serial) >= 4 and serial.isalnum():
        # A prefix range on the unique serial index, not a LIKE per customer row.
        conditions.append(
            Customer.id.in_(
                select(Card.customer_id).where(Card.serial >= serial, Card.serial < serial + "\uffff")
            )
        )
    return sa.or_(*conditions)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _sort_columns(query: GridQuery, session) -> tuple[list, list]:  # noqa: ANN001
    """ORDER BY terms (nulls last either way, id as tie-break) and any outer joins."""
    joins = []
    if query.sort == "name":
        column = Customer.search_name
    elif query.sort == "birthdate":
        column = Customer.birthdate
    elif query.sort == "phone":
        column = Customer.phone
    elif query.sort == "utm":
        column = Customer.utm
    elif query.sort == "rating":
        column = (
            select(sa.func.avg(Review.rating)).where(Review.customer_id == Customer.id).scalar_subquery()
        )
    elif query.sort == "device":
        column = (
            select(sa.func.min(Card.device))
            .where(Card.customer_id == Customer.id, Card.status == "installed")
            .scalar_subquery()
        )
    elif query.sort == "cards":
        column = select(sa.func.count(Card.id)).where(Card.customer_id == Customer.id).scalar_subquery()
    elif query.sort.startswith("cf:"):
        definition = session.exec(
            select(CustomFieldDefinition).where(CustomFieldDefinition.key == query.sort[3:])
        ).first()
        if definition is None:
            column = Customer.created_at
        else:
            value = sa.orm.aliased(CustomFieldValue)
            joins.append((value, sa.and_(value.customer_id == Customer.id, value.field_id == definition.id)))
            column = value.value
            if definition.field_type == "number":
                column = sa.cast(value.value, sa.Numeric)
    else:
        column = Customer.created_at
    ordered = column.desc() if query.descending else column.asc()
    if column is not Customer.created_at and column is not Customer.search_name:
        # Empty values last either way; not on NOT NULL columns, where NULLS LAST would
        # stop PostgreSQL from reading the index in order.
        ordered = ordered.nulls_last()
    tie = Customer.id.desc() if query.descending else Customer.id.asc()
    return [ordered, tie], joins


SPARSE_RESULT = 500


def grid_page(merchant_id: int, query: GridQuery) -> GridPage:
    page_size = query.page_size if query.page_size in PAGE_SIZES else 50
    with tenant_session(merchant_id) as session:
        condition = search_condition(query.search, lambda: session.get(Merchant, merchant_id).default_country)
        order, joins = _sort_columns(query, session)

        def count() -> int:
            counting = select(sa.func.count()).select_from(Customer)
            return session.exec(counting if condition is None else counting.where(condition)).one()

        def fetch(page: int, where: sa.ColumnElement | None) -> list:
            statement = select(*_GRID_COLUMNS)
            for target, on in joins:
                statement = statement.outerjoin(target, on)
            if where is not None:
                statement = statement.where(where)
            statement = statement.order_by(*order).offset((page - 1) * page_size).limit(page_size)
            return list(session.exec(statement).all())

        def clamp(total: int) -> int:
            return min(max(1, query.page), max(1, -(-total // page_size)))

        where = condition
        if condition is None:
            total = count() if query.page > 1 else None
        else:
            # One pass over the covering search index: a few matches are collected by
            # id and sorted alone; many matches are rare to miss in the sort order.
            matches = session.exec(select(Customer.id).where(condition).limit(SPARSE_RESULT + 1)).all()
            if len(matches) <= SPARSE_RESULT:
                total, where = len(matches), Customer.id.in_(matches)
            else:
                total = count()
        if total is None:
            page, customers = 1, fetch(1, None)
            # A short first page is the whole list: no second pass to count it.
            total = len(customers) if len(customers) < page_size else count()
        else:
            page = clamp(total)
            customers = fetch(page, where) if total else []
        definitions = list_custom_fields_in(session)
        rows = _grid_rows(session, customers, definitions)
    return GridPage(rows, total, page, page_size, definitions)


# Columns, not entities: a page is read-only and ORM instances cost more than the query.
_GRID_COLUMNS = (Customer.id, Customer.first_name, Customer.last_name, Customer.phone,
                 Customer.birthdate, Customer.utm, Customer.created_at)
_GRID_CARD_COLUMNS = (Card.customer_id, Card.card_type, Card.status, Card.device, Card.expires_on)


def _grid_rows(session, customers: list, definitions: list["CustomFieldView"]) -> list[GridRow]:  # noqa: ANN001
    ids = [c.id for c in customers]
    if not ids:
        return []
    today = dt.date.today()
    cards: dict[int, list[Card]] = defaultdict(list)
    for card in session.exec(
        select(*_GRID_CARD_COLUMNS).where(Card.customer_id.in_(ids)).order_by(Card.issued_at, Card.id)
    ).all():
        cards[card.customer_id].append(card)
    ratings = {
        customer_id: (total, count)
        for customer_id, total, count in session.exec(
            select(Review.customer_id, sa.func.sum(Review.rating), sa.func.count())
            .where(Review.customer_id.in_(ids))
            .group_by(Review.customer_id)
        ).all()
    }
    custom: dict[int, dict[int, str]] = defaultdict(dict)
    values = (
        session.exec(
            select(CustomFieldValue.customer_id, CustomFieldValue.field_id, CustomFieldValue.value).where(
                CustomFieldValue.customer_id.in_(ids)
            )
        ).all()
        if definitions
        else []
    )
    for customer_id, field_id, value in values:
        custom[customer_id][field_id] = value
    rows = []
    for customer in customers:
        held = cards[customer.id]
        devices = sorted({device_label(c.device) for c in held if c.device and c.status == "installed"})
        rows.append(
            GridRow(
                id=customer.id,
                name=contacts.full_name(customer.first_name, customer.last_name),
                created=as_utc(customer.created_at).date().isoformat(),
                birthdate=customer.birthdate.isoformat() if customer.birthdate else "",
                phone=customer.phone or "",
                rating=rating_text(mean_rating(*ratings.get(customer.id, (0, 0)))),
                utm=customer.utm or "",
                device=", ".join(devices),
                cards=", ".join(
                    f"{CARD_TYPE_LABELS[CardType(c.card_type)]} ({card_status_label(c.status, c.expires_on, today)})"
                    for c in held
                ),
                custom=[Cell(d.key, custom[customer.id].get(d.id, "")) for d in definitions],
            )
        )
    return rows




# --- custom fields -----------------------------------------------------------------


@dataclass
class CustomFieldView:
    id: int
    key: str
    label: str
    field_type: str
    choices: list[str]
    position: int


def list_custom_fields_in(session) -> list[CustomFieldView]:  # noqa: ANN001
    return [
        CustomFieldView(d.id, d.key, d.label, d.field_type, list(d.choices or []), d.position)
        for d in session.exec(
            select(CustomFieldDefinition).order_by(CustomFieldDefinition.position, CustomFieldDefinition.id)
        ).all()
    ]


def list_custom_fields(merchant_id: int) -> list[CustomFieldView]:
    with tenant_session(merchant_id) as session:
        return list_custom_fields_in(session)


class RecordError(ValueError):
    """A refusal with a message for the merchant; ``errors`` maps form fields to messages."""

    def __init__(self, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or {}


def add_custom_field(merchant_id: int, label: str, field_type: str, choices: list[str] | None = None) -> int:
    label = " ".join(label.split())
    if not label:
        raise RecordError("The field needs a name.")
    if field_type not in contacts.FIELD_TYPES:
        raise RecordError(f"Unknown field type {field_type!r}.")
    choices = [c.strip() for c in (choices or []) if c.strip()]
    if field_type == "choice" and not choices:
        raise RecordError("A choice field needs at least one choice.")
    try:
        key = contacts.field_key(label)
    except ValueError as error:
        raise RecordError(str(error)) from None
    with tenant_session(merchant_id) as session:
        existing = list_custom_fields_in(session)
        if any(f.key == key or f.label.lower() == label.lower() for f in existing):
            raise RecordError(f"A field named “{label}” already exists.")
        definition = CustomFieldDefinition(
            key=key, label=label, field_type=field_type, choices=choices if field_type == "choice" else [],
            position=max((f.position for f in existing), default=-1) + 1,
        )
        session.add(definition)
        session.commit()
        return definition.id


def rename_custom_field(merchant_id: int, field_id: int, label: str) -> None:
    """Only the display name changes; the key (test ids, CSV column) stays stable."""
    label = " ".join(label.split())
    if not label:
        raise RecordError("The field needs a name.")
    with tenant_session(merchant_id) as session:
        definition = session.get(CustomFieldDefinition, field_id)
        if definition is None:
            raise RecordError("That field no longer exists.")
        clash = session.exec(
            select(CustomFieldDefinition.id).where(
                sa.func.lower(CustomFieldDefinition.label) == label.lower(), CustomFieldDefinition.id != field_id
            )
        ).first()
        if clash:
            raise RecordError(f"A field named “{label}” already exists.")
        definition.label = label
        session.add(definition)
        session.commit()


def move_custom_field(merchant_id: int, field_id: int, offset: int) -> None:
    with tenant_session(merchant_id) as session:
        definitions = session.exec(
            select(CustomFieldDefinition).order_by(CustomFieldDefinition.position, CustomFieldDefinition.id)
        ).all()
        index = next((i for i, d in enumerate(definitions) if d.id == field_id), None)
        if index is None:
            raise RecordError("That field no longer exists.")
        target = min(max(index + offset, 0), len(definitions) - 1)
        definitions.insert(target, definitions.pop(index))
        for position, definition in enumerate(definitions):
            definition.position = position
            session.add(definition)
        session.commit()


def remove_custom_field(merchant_id: int, field_id: int) -> None:
    with tenant_session(merchant_id) as session:
        session.execute(sa.delete(CustomFieldValue).where(CustomFieldValue.field_id == field_id))
        session.execute(sa.delete(CustomFieldDefinition).where(CustomFieldDefinition.id == field_id))
        session.commit()


# --- create and edit --------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerInput:
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    email: str = ""
    birthdate: str = ""
    custom: dict[str, str] = field(default_factory=dict)  # by field key


def save_customer(merchant_id: int, data: CustomerInput, customer_id: int | None = None) -> int:
    """Create (``customer_id`` None) or update a customer; all-or-nothing.

    Raises ``RecordError`` with one message per invalid field; a phone or email that
    another customer of this merchant has is refused naming that customer.
    """
    with tenant_session(merchant_id) as session:
        region = session.get(Merchant, merchant_id).default_country
        definitions = list_custom_fields_in(session)
        errors: dict[str, str] = {}
        values: dict[str, object] = {}
        for name, label, parse in (
            ("first_name", "First name", lambda v: contacts.clean_name(v, "First name")),
            ("last_name", "Last name", lambda v: contacts.clean_name(v, "Last name")),
            ("phone", "Phone", lambda v: contacts.normalise_phone(v, region)),
            ("email", "Email", contacts.normalise_email),
            ("birthdate", "Date of birth", contacts.parse_birthdate),
        ):
            try:
                values[name] = parse(getattr(data, name))
            except ValueError as error:
                errors[name] = str(error)
        custom_values: dict[int, str | None] = {}
        for definition in definitions:
            try:
                custom_values[definition.id] = contacts.parse_custom_value(
                    definition.field_type, definition.label, data.custom.get(definition.key), definition.choices
                )
            except ValueError as error:
                errors[f"cf:{definition.key}"] = str(error)
        for name in ("phone", "email"):
            if values.get(name) and name not in errors:
                other = session.exec(
                    select(Customer).where(getattr(Customer, name) == values[name], Customer.id != (customer_id or 0))
                ).first()
                if other is not None:
                    what = "phone number" if name == "phone" else "email"
                    errors[name] = (
                        f"This {what} already belongs to "
                        f"{contacts.full_name(other.first_name, other.last_name)}."
                    )
        if errors:
            raise RecordError(" ".join(errors.values()), errors)

        if customer_id is None:
            customer = Customer(utm="dashboard")
        else:
            customer = session.get(Customer, customer_id)
            if customer is None:
                raise RecordError("This customer no longer exists.")
        for name, value in values.items():
            setattr(customer, name, value)
        customer.search_name = contacts.search_fold(f"{customer.first_name} {customer.last_name}")
        customer.search_text = contacts.search_text(customer.first_name, customer.last_name, customer.email, customer.phone)
        customer.updated_at = utcnow()
        session.add(customer)
        try:
            session.flush()
            _store_custom_values(session, customer.id, custom_values)
            session.commit()
        except IntegrityError:
            # Another tablet saved the same phone/email a moment ago.
            session.rollback()
            raise RecordError(
                "Another customer with this phone number or email was just saved.",
                {"phone": "Another customer with this phone number or email was just saved."},
            ) from None
        return customer.id


def _store_custom_values(session, customer_id: int, values: dict[int, str | None]) -> None:  # noqa: ANN001
    existing = {
        v.field_id: v
        for v in session.exec(select(CustomFieldValue).where(CustomFieldValue.customer_id == customer_id)).all()
    }
    for field_id, value in values.items():
        row = existing.get(field_id)
        if value is None:
            if row is not None:
                session.delete(row)
        elif row is None:
            session.add(CustomFieldValue(customer_id=customer_id, field_id=field_id, value=value))
        elif row.value != value:
            row.value = value
            session.add(row)


# --- profile ---------------------------------------------------------------------------


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
        ratings = {
            card_id: (total, count)
            for card_id, total, count in session.exec(
                select(Review.card_id, sa.func.sum(Review.rating), sa.func.count())
                .where(Review.customer_id == customer_id)
                .group_by(Review.card_id)
            ).all()
        }
        today = dt.date.today()
        cards = [
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
            for c in session.exec(
                select(Card).where(Card.customer_id == customer_id).order_by(Card.issued_at, Card.id)
            ).all()
        ]
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


def _corrected(session, card_id: int) -> set:  # noqa: ANN001
    """Ids and action keys of entries that a correction has reversed already."""
    original = sa.orm.aliased(CardTransaction)
    rows = session.exec(
        select(original.id, original.action_key)
        .join(CardTransaction, CardTransaction.correction_of_id == original.id)
        .where(CardTransaction.card_id == card_id)
    ).all()
    return {i for i, _ in rows} | {k for _, k in rows if k}


def card_history(merchant_id: int, card_id: int, page: int = 1, page_size: int = 20) -> tuple[list[HistoryRow], int]:
    with tenant_session(merchant_id) as session:
        card = session.get(Card, card_id)
        if card is None:
            return [], 0
        unit = BALANCE_UNITS[CardType(card.card_type)]
        total = session.exec(
            select(sa.func.count()).select_from(CardTransaction).where(CardTransaction.card_id == card_id)
        ).one()
        rows = session.exec(_history_statement(card_id).offset((max(page, 1) - 1) * page_size).limit(page_size)).all()
        corrected = _corrected(session, card_id)
        return [_history_row(t, email, unit, corrected) for t, email in rows], total


def iter_card_history(merchant_id: int, card_id: int) -> tuple[str, Iterator[HistoryRow]] | None:
    """The card's serial and its whole history, streamed in chunks; None if not ours."""
    with tenant_session(merchant_id) as session:
        card = session.get(Card, card_id)
        if card is None:
            return None
        serial, unit = card.serial, BALANCE_UNITS[CardType(card.card_type)]

    def rows() -> Iterator[HistoryRow]:
        with tenant_session(merchant_id) as session:
            result = session.exec(_history_statement(card_id).execution_options(yield_per=1000))
            for transaction, email in result:
                yield _history_row(transaction, email, unit)

    return serial, rows()


# --- deletion ----------------------------------------------------------------------------


@dataclass
class DeleteReport:
    deleted: list[str]
    refused: list[tuple[str, str]]  # (name, reason)


def delete_customers(merchant_id: int, customer_ids: list[int]) -> DeleteReport:
    """Delete what may be deleted, permanently with cards and ledger; report the rest."""
    report = DeleteReport([], [])
    with tenant_session(merchant_id) as session:
        customers = session.exec(select(Customer).where(Customer.id.in_(customer_ids))).all()
        statuses: dict[int, list[str]] = defaultdict(list)
        for customer_id, status in session.exec(
            select(Card.customer_id, Card.status).where(Card.customer_id.in_(customer_ids))
        ).all():
            statuses[customer_id].append(status)
        deletable = []
        for customer in sorted(customers, key=lambda c: c.search_name):
            name = contacts.full_name(customer.first_name, customer.last_name)
            refusal = customer_deletion_refusal(statuses[customer.id])
            if refusal:
                report.refused.append((name, refusal))
            else:
                deletable.append(customer.id)
                report.deleted.append(name)
        if deletable:
            # Children first: correct on databases without ON DELETE CASCADE too.
            for model in (CardTransaction, Review, CustomFieldValue, Message):
                session.execute(sa.delete(model).where(model.customer_id.in_(deletable)))
            card_ids = select(Card.id).where(Card.customer_id.in_(deletable)).scalar_subquery()
            session.execute(
                sa.update(Card).where(Card.referred_by_card_id.in_(card_ids)).values(referred_by_card_id=None)
            )
            session.execute(sa.delete(Card).where(Card.customer_id.in_(deletable)))
            session.execute(sa.delete(Customer).where(Customer.id.in_(deletable)))
        session.commit()
    return report


def delete_card(merchant_id: int, card_id: int) -> None:
    """The card stops working and stays on the profile as Deleted (customers.md §9)."""
    with tenant_session(merchant_id) as session:
        updated = session.execute(
            sa.update(Card)
            .where(Card.id == card_id)
            .values(status="deleted", version=Card.version + 1)
        )
        if updated.rowcount != 1:
            raise RecordError("This card no longer exists.")
        session.commit()
