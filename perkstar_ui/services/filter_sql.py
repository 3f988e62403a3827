"""Compiles a checked ``domain.filters`` filter to one SQL WHERE on ``customer``
(SQLAlchemy Core, the merchant named first in every subquery, every value bound).

Customer columns compare directly; card, ledger, custom-field and RFM conditions are
``customer.id IN (subquery)`` over the indexes of migration 0006. Aggregates (uses,
visits in N days, unused rewards, total spend, last visit) group by customer; when a
customer with no rows at all would match too (e.g. "uses < 3"), the condition is written
as NOT IN the customers whose aggregate fails it, so nobody is lost to a missing row.
"""

from __future__ import annotations

import calendar
import datetime as dt
import operator
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import select

from perkstar_ui.db.models import (
    Card,
    CardTemplate,
    CardTransaction,
    Customer,
    CustomerRfm,
    CustomFieldValue,
)
from perkstar_ui.domain import contacts, ledger
from perkstar_ui.domain import filter_params as P
from perkstar_ui.domain import filters as F
from perkstar_ui.domain.card_types import BALANCE_UNITS, BalanceUnit, CardType
from perkstar_ui.domain.filter_params import Kind, Op, Param
from perkstar_ui.domain.serials import normalise_serial

_HUNDREDTHS = [t.value for t, unit in BALANCE_UNITS.items() if unit in (BalanceUnit.CENTS, BalanceUnit.CENTIPOINTS)]
_COUNTS = [t.value for t, unit in BALANCE_UNITS.items() if unit == BalanceUnit.COUNT]
_ACTIVITY = sorted(ledger.ACTIVITY_KINDS)
# Card parameters about what a customer holds now: deleted cards don't count (status and
# serial still find them; device needs an installed card anyway).
_LIVE_CARD_PARAMS = frozenset({Param.CARD_TEMPLATE, Param.CARD_TYPE, Param.CARD_BALANCE, Param.STAMPS,
                               Param.CARD_EXPIRATION})
_PY_OPS: dict[Op, Callable] = {Op.EQUALS: operator.eq, Op.NOT_EQUALS: operator.ne, Op.GREATER: operator.gt,
                               Op.LESS: operator.lt}


@dataclass(frozen=True)
class Context:
    merchant_id: int
    today: dt.date
    dialect: str
    region: str
    custom_ids: dict[str, tuple[int, str]]  # field key → (definition id, field type)


def _number(value: object) -> int | float:
    """Bound parameters: SQLite cannot bind ``Decimal``."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value  # type: ignore[return-value]


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.timezone.utc)


def _compare(expr: sa.ColumnElement, op: Op, values: tuple) -> sa.ColumnElement:
    values = tuple(_number(v) for v in values)
    if op in _PY_OPS:
        return _PY_OPS[op](expr, values[0])
    if op == Op.BETWEEN:
        return expr.between(values[0], values[1])
    if op == Op.ANY_OF:
        return expr.in_(values)
    raise F.FilterError(f"{op.value} cannot compare numbers")


def _zero_matches(op: Op, values: tuple) -> bool:
    values = tuple(Decimal(v) for v in values)
    if op in _PY_OPS:
        return _PY_OPS[op](Decimal(0), values[0])
    if op == Op.BETWEEN:
        return values[0] <= 0 <= values[1]
    return Decimal(0) in values


def _not(condition: sa.ColumnElement) -> sa.ColumnElement:
    """NOT that treats an unknown (NULL) comparison as false, so NULLs match the negation."""
    return sa.not_(sa.func.coalesce(condition, sa.false()))


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# --- dates ----------------------------------------------------------------------------


def first_of_last(today: dt.date, days: int) -> dt.date:
    """The first day of "the last ``days`` days": today is day 0 of them (as RFM's window,
    ``services.rfm.window_start``), so the last 7 days are today and the 6 before it."""
    return today - dt.timedelta(days=days - 1)


def _day_range(checked: F.Checked, today: dt.date) -> tuple[dt.date | None, dt.date | None]:
    """[start, end) in days for a date operator; None = open."""
    op, values = checked.op, checked.values
    if op == Op.EQUALS:
        return values[0], values[0] + dt.timedelta(days=1)
    if op == Op.GREATER:
        return values[0] + dt.timedelta(days=1), None
    if op == Op.LESS:
        return None, values[0]
    if op == Op.BETWEEN:
        return values[0], values[1] + dt.timedelta(days=1)
    if op == Op.IN_LAST:
        return first_of_last(today, checked.days), today + dt.timedelta(days=1)
    if op == Op.NOT_IN_LAST:
        return None, first_of_last(today, checked.days)
    if op == Op.IN_NEXT:
        return today, today + dt.timedelta(days=checked.days)
    raise F.FilterError(f"{op.value} is not a date comparison")


def _date_condition(column: sa.ColumnElement, checked: F.Checked, today: dt.date, *, timestamp: bool = False,
                    as_text: bool = False) -> sa.ColumnElement:
    """A date operator on a DATE column, a UTC timestamp (calendar days in UTC) or ISO text."""
    if checked.op == Op.IS_EMPTY:
        return column.is_(None)
    if checked.op == Op.NOT_EMPTY:
        return column.is_not(None)
    if checked.op == Op.NOT_EQUALS:
        return _not(_date_condition(column, F.Checked(checked.param, Op.EQUALS, checked.values), today,
                                    timestamp=timestamp, as_text=as_text))
    start, end = _day_range(checked, today)

    def bound(day: dt.date) -> object:
        return _midnight(day) if timestamp else day.isoformat() if as_text else day

    parts = []
    if start is not None:
        parts.append(column >= bound(start))
    if end is not None:
        parts.append(column < bound(end))
    return sa.and_(*parts)


def _month_day(column: sa.ColumnElement, dialect: str) -> sa.ColumnElement:
    if dialect == "sqlite":
        return sa.func.strftime("%m-%d", column)
    return sa.func.to_char(column, "MM-DD")


def _anniversaries(first: dt.date, days: int) -> list[str]:
    """MM-DD of every day from ``first`` for ``days`` days; 29 February counts on 1 March
    in years without it."""
    if days >= 366:
        return []  # every day of the year
    window = [first + dt.timedelta(days=i) for i in range(days)]
    stamps = {d.strftime("%m-%d") for d in window}
    if any(d.month == 3 and d.day == 1 and not calendar.isleap(d.year) for d in window):
        stamps.add("02-29")  # a leap year's 1 March is not 29 February's stand-in
    return sorted(stamps)


def _birthday(checked: F.Checked, ctx: Context) -> sa.ColumnElement:
    column = Customer.birthdate
    if checked.op in (Op.IN_NEXT, Op.IN_LAST, Op.NOT_IN_LAST):
        first = ctx.today if checked.op == Op.IN_NEXT else first_of_last(ctx.today, checked.days)
        stamps = _anniversaries(first, checked.days)
        inside = column.is_not(None) if not stamps else _month_day(column, ctx.dialect).in_(stamps)
        if checked.op == Op.NOT_IN_LAST:
            return sa.and_(column.is_not(None), _not(inside))
        return inside
    return _date_condition(column, checked, ctx.today)


# --- text and choices -------------------------------------------------------------------


def _text_condition(column: sa.ColumnElement, checked: F.Checked, fold: Callable[[str], str] = str.lower,
                    *, folded_column: sa.ColumnElement | None = None) -> sa.ColumnElement:
    target = folded_column if folded_column is not None else sa.func.lower(column)
    op, values = checked.op, tuple(fold(str(v)) for v in checked.values)
    if op == Op.IS_EMPTY:
        return sa.or_(column.is_(None), column == "")
    if op == Op.NOT_EMPTY:
        return sa.and_(column.is_not(None), column != "")
    if op == Op.CONTAINS:
        return target.like(f"%{escape_like(values[0])}%", escape="\\")
    if op == Op.EQUALS:
        return target == values[0]
    if op == Op.NOT_EQUALS:
        return _not(target == values[0])
    if op == Op.ANY_OF:
        return target.in_(values)
    raise F.FilterError(f"{op.value} cannot compare text")


def _choice(column: sa.ColumnElement, checked: F.Checked, stored: Callable[[str], object]) -> sa.ColumnElement:
    values = [stored(v) for v in checked.values]
    positive = column.in_(values) if len(values) > 1 else column == values[0]
    return _not(positive) if checked.op == Op.NOT_EQUALS else positive


def _gender(checked: F.Checked) -> sa.ColumnElement:
    named = [v.lower() for v in checked.values if v != "Unknown"]
    parts = [Customer.gender.in_(named)] if named else []
    if "Unknown" in checked.values:
        parts.append(Customer.gender.is_(None))
    positive = sa.or_(*parts)
    return _not(positive) if checked.op == Op.NOT_EQUALS else positive


# --- cards, ledger, custom fields, RFM ----------------------------------------------------


def _holders(ctx: Context, *where: sa.ColumnElement) -> sa.Select:
    return select(Card.customer_id).where(Card.merchant_id == ctx.merchant_id, *where)


def _card_status(label: str, today: dt.date) -> sa.ColumnElement:
    not_expired = sa.or_(Card.expires_on.is_(None), Card.expires_on >= today)
    if label == "Expired":
        return sa.and_(Card.status != "deleted", Card.expires_on < today)
    status = P.status_of_label(label)
    return Card.status == status if status == "deleted" else sa.and_(Card.status == status, not_expired)


def _card_param(checked: F.Checked, ctx: Context) -> sa.ColumnElement:
    """"Has a card that …"; a negative operator means "has no card that …"."""
    key, op = checked.param.key, checked.op
    negative = op == Op.NOT_EQUALS
    positive_op = Op.EQUALS if negative else op
    positive = F.Checked(checked.param, positive_op, checked.values, checked.days)
    if key == Param.CARD_STATUS:
        where = sa.or_(*(_card_status(v, ctx.today) for v in checked.values))
    elif key == Param.DEVICE:
        where = sa.and_(Card.status == "installed", Card.device.in_([P.device_of_label(v) for v in checked.values]))
    elif key == Param.CARD_TYPE:
        where = Card.card_type.in_([P.card_type_of_label(v).value for v in checked.values])
    elif key == Param.CARD_TEMPLATE:
        where = Card.template_id.in_(
            select(CardTemplate.id).where(CardTemplate.merchant_id == ctx.merchant_id,
                                          CardTemplate.name.in_(list(checked.values)))
        )
    elif key == Param.SERIAL:
        if op in (Op.IS_EMPTY, Op.NOT_EMPTY):  # no card at all / any card
            holders = _holders(ctx)
            return Customer.id.not_in(holders) if op == Op.IS_EMPTY else Customer.id.in_(holders)
        positive = F.Checked(checked.param, positive_op, tuple(normalise_serial(v) for v in checked.values))
        where = _text_condition(Card.serial, positive, normalise_serial, folded_column=Card.serial)
    elif key == Param.STAMPS:
        where = sa.and_(Card.card_type == CardType.STAMP.value, _compare(Card.balance, positive_op, checked.values))
    elif key == Param.CARD_BALANCE:
        hundredths = tuple(Decimal(v) * 100 for v in checked.values)
        where = sa.or_(
            sa.and_(Card.card_type.in_(_COUNTS), _compare(Card.balance, positive_op, checked.values)),
            sa.and_(Card.card_type.in_(_HUNDREDTHS), _compare(Card.balance, positive_op, hundredths)),
        )
    elif key == Param.CARD_EXPIRATION:
        if negative:
            where = _date_condition(Card.expires_on, positive, ctx.today)
        else:
            where = _date_condition(Card.expires_on, checked, ctx.today)
    else:  # pragma: no cover - the catalog and this function list the same parameters
        raise F.FilterError(f"unknown card parameter {key}")
    if key in _LIVE_CARD_PARAMS:
        where = sa.and_(Card.status != "deleted", where)  # a deleted card is no longer held
    holders = _holders(ctx, where)
    return Customer.id.not_in(holders) if negative else Customer.id.in_(holders)


def _aggregate(ctx: Context, table_customer: sa.ColumnElement, value: sa.ColumnElement, where: list,
               checked: F.Checked) -> sa.ColumnElement:
    """A per-customer aggregate compared as a number; customers without rows count as 0."""
    grouped = select(table_customer).where(*where).group_by(table_customer)
    if _zero_matches(checked.op, checked.values):
        return Customer.id.not_in(grouped.having(_not(_compare(value, checked.op, checked.values))))
    return Customer.id.in_(grouped.having(_compare(value, checked.op, checked.values)))


def _visits(checked: F.Checked, ctx: Context) -> sa.ColumnElement:
    where = [CardTransaction.merchant_id == ctx.merchant_id, CardTransaction.kind.in_(_ACTIVITY)]
    if checked.param.key == Param.VISITS_IN_DAYS:
        since = _midnight(first_of_last(ctx.today, checked.days))
        if checked.op == Op.GREATER and 0 <= checked.values[0] < 1:
            # "at least one visit": the cards' last visit answers from an index, no counting.
            return Customer.id.in_(_holders(ctx, Card.last_activity_at >= since))
        where.append(CardTransaction.created_at >= since)
    return _aggregate(ctx, CardTransaction.customer_id, sa.func.count(), where, checked)


def _card_sum(column: sa.ColumnElement, checked: F.Checked, ctx: Context, *where: sa.ColumnElement) -> sa.ColumnElement:
    return _aggregate(ctx, Card.customer_id, sa.func.sum(column), [Card.merchant_id == ctx.merchant_id, *where],
                      checked)


def _last_visit(checked: F.Checked, ctx: Context) -> sa.ColumnElement:
    visited = _holders(ctx, Card.last_activity_at.is_not(None))
    if checked.op == Op.IS_EMPTY:
        return Customer.id.not_in(visited)
    if checked.op == Op.NOT_EMPTY:
        return Customer.id.in_(visited)
    last = sa.func.max(Card.last_activity_at)
    having = _date_condition(last, checked, ctx.today, timestamp=True)
    grouped = (select(Card.customer_id).where(Card.merchant_id == ctx.merchant_id, Card.last_activity_at.is_not(None))
               .group_by(Card.customer_id).having(having))
    return Customer.id.in_(grouped)


def _custom(checked: F.Checked, ctx: Context) -> sa.ColumnElement:
    field_id, field_type = ctx.custom_ids[checked.param.key[len(F.CUSTOM_PREFIX):]]
    value = CustomFieldValue.value

    def owners(*where: sa.ColumnElement) -> sa.Select:
        return select(CustomFieldValue.customer_id).where(
            CustomFieldValue.merchant_id == ctx.merchant_id, CustomFieldValue.field_id == field_id, *where)

    op = checked.op
    if op == Op.IS_EMPTY:
        return Customer.id.not_in(owners())
    if op == Op.NOT_EMPTY:
        return Customer.id.in_(owners())
    negative = op == Op.NOT_EQUALS
    positive = F.Checked(checked.param, Op.EQUALS if negative else op, checked.values, checked.days)
    if checked.param.kind == Kind.NUMBER:
        # CASE keeps the cast to this field's rows: PostgreSQL may evaluate the cast before
        # the field_id test and fail on another field's text.
        number = sa.case((CustomFieldValue.field_id == field_id, sa.cast(value, sa.Numeric)))
        where = _compare(number, positive.op, positive.values)
    elif checked.param.kind == Kind.DATE:
        where = _date_condition(value, positive, ctx.today, as_text=True)
    elif checked.param.kind == Kind.CHOICE:
        where = value.in_(list(positive.values))
    else:
        where = _text_condition(value, positive)
    return Customer.id.not_in(owners(where)) if negative else Customer.id.in_(owners(where))


def _rfm(checked: F.Checked, ctx: Context) -> sa.ColumnElement:
    members = select(CustomerRfm.customer_id).where(
        CustomerRfm.merchant_id == ctx.merchant_id, CustomerRfm.segment.in_(list(checked.values)))
    return Customer.id.not_in(members) if checked.op == Op.NOT_EQUALS else Customer.id.in_(members)


def _phone_values(checked: F.Checked, ctx: Context) -> F.Checked:
    if checked.op == Op.CONTAINS:
        digits = "".join(ch for ch in checked.values[0] if ch.isdigit())
        return F.Checked(checked.param, checked.op, (digits or checked.values[0],))
    return F.Checked(checked.param, checked.op,
                     tuple(contacts.phone_search_key(v, ctx.region) or v for v in checked.values))


def _condition(checked: F.Checked, ctx: Context) -> sa.ColumnElement:
    key = checked.param.key
    if key.startswith(F.CUSTOM_PREFIX):
        return _custom(checked, ctx)
    if key in P.CARD_PARAMS:
        return _card_param(checked, ctx)
    if key == Param.NAME:
        return _text_condition(Customer.search_name, checked, contacts.search_fold, folded_column=Customer.search_name)
    if key == Param.PHONE:
        return _text_condition(Customer.phone, _phone_values(checked, ctx), str, folded_column=Customer.phone)
    if key == Param.EMAIL:
        return _text_condition(Customer.email, checked)
    if key == Param.UTM:
        return _text_condition(Customer.utm, checked)
    if key == Param.GENDER:
        return _gender(checked)
    if key == Param.BIRTHDAY:
        return _birthday(checked, ctx)
    if key == Param.BIRTHDAY_MONTH:
        return _choice(sa.extract("month", Customer.birthdate), checked, lambda name: P.MONTHS.index(name) + 1)
    if key == Param.REGISTERED:
        return _date_condition(Customer.created_at, checked, ctx.today, timestamp=True)
    if key in (Param.USES, Param.VISITS_IN_DAYS):
        return _visits(checked, ctx)
    if key == Param.UNUSED_REWARDS:
        # Rewards on a deleted card can no longer be redeemed; past spend still counts.
        return _card_sum(Card.rewards_available, checked, ctx, Card.status != "deleted")
    if key == Param.TOTAL_SPEND:
        return _card_sum(Card.ltv_cents, checked, ctx)
    if key == Param.LAST_VISIT:
        return _last_visit(checked, ctx)
    if key == Param.RFM_SEGMENT:
        return _rfm(checked, ctx)
    raise F.FilterError(f"unknown field {key}")  # pragma: no cover


def _join(match: F.Match, parts: list[sa.ColumnElement]) -> sa.ColumnElement:
    return sa.and_(*parts) if match == F.Match.ALL else sa.or_(*parts)


def compile_filter(checked: F.CheckedFilter, ctx: Context) -> sa.ColumnElement | None:
    parts = []
    for item in checked.items:
        if isinstance(item, F.CheckedGroup):
            parts.append(_join(item.match, [_condition(c, ctx) for c in item.conditions]))
        else:
            parts.append(_condition(item, ctx))
    return _join(checked.match, parts) if parts else None
