"""The parameters a customer filter can use (customers.md §13.1 and issue 10): their
kinds, the operators each kind allows, and the catalog for one merchant. No database."""

from __future__ import annotations

import calendar
import enum
from dataclasses import dataclass

from perkstar_ui.domain.card_types import CARD_TYPE_LABELS, CardType
from perkstar_ui.domain.formatting import DEVICE_LABELS, STATUS_LABELS


class Kind(str, enum.Enum):
    TEXT = "text"
    NUMBER = "number"
    MONEY = "money"  # a decimal amount with two places, compared in cents
    DATE = "date"
    CHOICE = "choice"


class Op(str, enum.Enum):
    EQUALS = "equals"
    NOT_EQUALS = "not_equals"
    GREATER = "greater"
    LESS = "less"
    BETWEEN = "between"
    CONTAINS = "contains"
    ANY_OF = "any_of"
    IN_LAST = "in_last"  # dates: in the last N days (today included)
    NOT_IN_LAST = "not_in_last"  # dates: N or more days ago (before the last N days)
    IN_NEXT = "in_next"  # dates: in the next N days (today included)
    IS_EMPTY = "is_empty"
    NOT_EMPTY = "not_empty"


OP_LABELS: dict[Op, str] = {
    Op.EQUALS: "equals",
    Op.NOT_EQUALS: "does not equal",
    Op.GREATER: "greater than",
    Op.LESS: "less than",
    Op.BETWEEN: "between",
    Op.CONTAINS: "contains",
    Op.ANY_OF: "any of",
    Op.IN_LAST: "in the last N days",
    Op.NOT_IN_LAST: "not in the last N days",
    Op.IN_NEXT: "in the next N days",
    Op.IS_EMPTY: "is empty",
    Op.NOT_EMPTY: "is not empty",
}
# Dates read "after"/"before" better than greater/less.
DATE_OP_LABELS = {**OP_LABELS, Op.GREATER: "after", Op.LESS: "before"}

OPS_BY_KIND: dict[Kind, tuple[Op, ...]] = {
    Kind.TEXT: (Op.CONTAINS, Op.EQUALS, Op.NOT_EQUALS, Op.ANY_OF, Op.IS_EMPTY, Op.NOT_EMPTY),
    Kind.NUMBER: (Op.EQUALS, Op.NOT_EQUALS, Op.GREATER, Op.LESS, Op.BETWEEN),
    Kind.MONEY: (Op.EQUALS, Op.NOT_EQUALS, Op.GREATER, Op.LESS, Op.BETWEEN),
    Kind.DATE: (Op.IN_LAST, Op.NOT_IN_LAST, Op.IN_NEXT, Op.EQUALS, Op.GREATER, Op.LESS, Op.BETWEEN,
                Op.IS_EMPTY, Op.NOT_EMPTY),
    Kind.CHOICE: (Op.EQUALS, Op.NOT_EQUALS, Op.ANY_OF),
}
# Operators whose value is a number of days, and those that take no value at all.
DAY_OPS = frozenset({Op.IN_LAST, Op.NOT_IN_LAST, Op.IN_NEXT})
NO_VALUE_OPS = frozenset({Op.IS_EMPTY, Op.NOT_EMPTY})


class Param(str, enum.Enum):
    """Built-in parameters; custom fields are ``cf:<key>``."""

    NAME = "name"
    PHONE = "phone"
    EMAIL = "email"
    GENDER = "gender"
    BIRTHDAY = "birthday"
    BIRTHDAY_MONTH = "birthday_month"
    REGISTERED = "registered"
    UTM = "utm"
    CARD_STATUS = "card_status"
    DEVICE = "device"
    SERIAL = "serial"
    CARD_TEMPLATE = "card_template"
    CARD_TYPE = "card_type"
    CARD_BALANCE = "card_balance"
    STAMPS = "stamps"
    UNUSED_REWARDS = "unused_rewards"
    CARD_EXPIRATION = "card_expiration"
    USES = "uses"
    VISITS_IN_DAYS = "visits_in_days"
    LAST_VISIT = "last_visit"
    TOTAL_SPEND = "total_spend"
    RFM_SEGMENT = "rfm_segment"


CUSTOM_PREFIX = "cf:"
GENDERS = ("Male", "Female", "Other", "Unknown")
MONTHS = tuple(calendar.month_name[1:])
CARD_STATUSES = (*STATUS_LABELS.values(), "Expired")
DEVICES = tuple(DEVICE_LABELS.values())
CARD_TYPES = tuple(CARD_TYPE_LABELS.values())
# rfm.md's names, in the order the RFM tab lists them.
RFM_SEGMENTS = ("Champions", "Loyal Customers", "Potential Loyalists", "New Customers", "Needs Attention",
                "At-Risk Customers", "Lost Customers")
DEFAULT_VISIT_DAYS = 90


@dataclass(frozen=True)
class ParamSpec:
    key: str
    label: str
    kind: Kind
    choices: tuple[str, ...] = ()
    help: str = ""

    @property
    def operators(self) -> tuple[Op, ...]:
        ops = OPS_BY_KIND[self.kind]
        if self.key == Param.BIRTHDAY:
            # A birthday recurs: "in the next 7 days" means the anniversary.
            return (Op.IN_NEXT, Op.IN_LAST, Op.EQUALS, Op.GREATER, Op.LESS, Op.BETWEEN, Op.IS_EMPTY, Op.NOT_EMPTY)
        if self.key in (Param.LAST_VISIT, Param.REGISTERED):
            return tuple(op for op in ops if op != Op.IN_NEXT)
        return ops

    def op_label(self, op: Op) -> str:
        return (DATE_OP_LABELS if self.kind == Kind.DATE else OP_LABELS)[op]


BUILT_IN: tuple[ParamSpec, ...] = (
    ParamSpec(Param.NAME, "Name", Kind.TEXT),
    ParamSpec(Param.PHONE, "Phone", Kind.TEXT, help="digits of the number"),
    ParamSpec(Param.EMAIL, "Email", Kind.TEXT),
    ParamSpec(Param.GENDER, "Gender", Kind.CHOICE, GENDERS),
    ParamSpec(Param.BIRTHDAY, "Customer birthday", Kind.DATE),
    ParamSpec(Param.BIRTHDAY_MONTH, "Birthday month", Kind.CHOICE, MONTHS),
    ParamSpec(Param.REGISTERED, "Registration date", Kind.DATE),
    ParamSpec(Param.UTM, "UTM tag", Kind.TEXT),
    ParamSpec(Param.CARD_STATUS, "Card status", Kind.CHOICE, CARD_STATUSES, "of any card"),
    ParamSpec(Param.DEVICE, "Device type", Kind.CHOICE, DEVICES, "of any installed card"),
    ParamSpec(Param.SERIAL, "Card serial number", Kind.TEXT),
    ParamSpec(Param.CARD_TEMPLATE, "Card template", Kind.CHOICE, help="owns a card of it"),
    ParamSpec(Param.CARD_TYPE, "Card type", Kind.CHOICE, CARD_TYPES, "owns a card of it"),
    ParamSpec(Param.CARD_BALANCE, "Card balance", Kind.NUMBER, help="of any card, in its unit"),
    ParamSpec(Param.STAMPS, "Number of stamps", Kind.NUMBER, help="on any stamp card"),
    ParamSpec(Param.UNUSED_REWARDS, "Unused rewards", Kind.NUMBER, help="on all cards together"),
    ParamSpec(Param.CARD_EXPIRATION, "Card expiration date", Kind.DATE, help="of any card"),
    ParamSpec(Param.USES, "Current number of uses", Kind.NUMBER, help="visits on all cards, ever"),
    ParamSpec(Param.VISITS_IN_DAYS, "Visits in the last N days", Kind.NUMBER),
    ParamSpec(Param.LAST_VISIT, "Last visit", Kind.DATE),
    ParamSpec(Param.TOTAL_SPEND, "Total spend", Kind.MONEY, help="purchase amounts on all cards"),
    ParamSpec(Param.RFM_SEGMENT, "RFM segment", Kind.CHOICE, RFM_SEGMENTS),
)
# Parameters about cards: negative operators mean "has no card that …".
CARD_PARAMS = frozenset({Param.CARD_STATUS, Param.DEVICE, Param.SERIAL, Param.CARD_TEMPLATE, Param.CARD_TYPE,
                         Param.CARD_BALANCE, Param.STAMPS, Param.CARD_EXPIRATION})
CUSTOM_KINDS = {"text": Kind.TEXT, "number": Kind.NUMBER, "date": Kind.DATE, "choice": Kind.CHOICE}


@dataclass(frozen=True)
class CustomFieldRef:
    """What the catalog needs of a custom field definition."""

    key: str
    label: str
    field_type: str
    choices: tuple[str, ...] = ()


def catalog(custom_fields: list[CustomFieldRef] = (), templates: list[str] = ()) -> dict[str, ParamSpec]:  # type: ignore[assignment]
    """Every parameter the merchant can filter by, by key, in menu order."""
    params: dict[str, ParamSpec] = {}
    for spec in BUILT_IN:
        if spec.key == Param.CARD_TEMPLATE:
            spec = ParamSpec(spec.key, spec.label, spec.kind, tuple(templates), spec.help)
        params[spec.key] = spec
    for field_ref in custom_fields:
        key = CUSTOM_PREFIX + field_ref.key
        params[key] = ParamSpec(key, field_ref.label, CUSTOM_KINDS.get(field_ref.field_type, Kind.TEXT),
                                tuple(field_ref.choices))
    return params


def card_type_of_label(label: str) -> CardType:
    return next(t for t, text in CARD_TYPE_LABELS.items() if text == label)


def device_of_label(label: str) -> str:
    return next(key for key, text in DEVICE_LABELS.items() if text == label)


def status_of_label(label: str) -> str:
    return next(key for key, text in STATUS_LABELS.items() if text == label)
