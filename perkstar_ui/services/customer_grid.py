"""The customer grid: one page of rows for a search and sort (never the table).

Every function takes the merchant id of the logged-in user and works in a
``tenant_session``; pages are plain dataclasses.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlmodel import select

from perkstar_ui.db.models import (
    Card,
    Customer,
    CustomFieldDefinition,
    CustomFieldValue,
    Review,
    as_utc,
)
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.domain import contacts
from perkstar_ui.domain.card_types import (
    CARD_TYPE_LABELS,
    CardType,
)
from perkstar_ui.domain.formatting import (
    card_status_label,
    device_label,
    mean_rating,
    rating_text,
)
from perkstar_ui.domain.filters import Filter
from perkstar_ui.services import dashboard
from perkstar_ui.services.custom_fields import CustomFieldView, list_custom_fields_in
from perkstar_ui.services.customer_filters import where_in

PAGE_SIZES = (25, 50, 100)
SORT_KEYS = ("name", "created", "birthdate", "phone", "rating", "utm", "device", "cards")


@dataclass(frozen=True)
class GridQuery:
    search: str = ""
    filter: Filter | None = None  # domain.filters; checked here, FilterError if it cannot apply
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


def grid_page(merchant_id: int, query: GridQuery) -> GridPage:
    page_size = query.page_size if query.page_size in PAGE_SIZES else 50
    with tenant_session(merchant_id) as session:
        condition = where_in(session, merchant_id, query.filter, query.search)
        order, joins = _sort_columns(query, session)

        def count_everyone() -> int:
            # The Total customers tile's count (settled part + live tail), not a scan of
            # the whole table on every visit: the grid and the tile show one number.
            return dashboard.count_customers(session, merchant_id)

        def ordered(statement: sa.Select) -> sa.Select:
            for target, on in joins:
                statement = statement.outerjoin(target, on)
            if condition is not None:
                statement = statement.where(condition)
            return statement.order_by(*order)

        def fetch(page: int) -> list:
            return list(session.exec(
                ordered(select(*_GRID_COLUMNS)).offset((page - 1) * page_size).limit(page_size)).all())

        def clamp(total: int) -> int:
            return min(max(1, query.page), max(1, -(-total // page_size)))

        if condition is None:
            if query.page > 1:
                total = count_everyone()
                page = clamp(total)
                customers = fetch(page) if total else []
            else:
                page, customers = 1, fetch(1)
                # A short first page is the whole list: no second pass to count it.
                total = len(customers) if len(customers) < page_size else count_everyone()
        else:
            # A search or filter is evaluated once: the matching ids in grid order (ints,
            # cheap to send), whose length is the count and whose slice is the page.
            # Counting and paging separately evaluated the filter twice.
            matching = session.exec(ordered(select(Customer.id))).all()
            total = len(matching)
            page = clamp(total)
            page_ids = matching[(page - 1) * page_size:page * page_size]
            found = {row.id: row for row in session.exec(select(*_GRID_COLUMNS).where(Customer.id.in_(page_ids))).all()}
            customers = [found[i] for i in page_ids if i in found]
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
