"""Customer filters (customers.md §13.1): the one condition model used by the grid, saved
segments, exports, bulk actions and campaigns.

A filter is a list of conditions joined by ``all`` (AND) or ``any`` (OR); an item may be a
group of conditions with its own join (one level). A condition names a parameter, a typed
operator and the value(s) as the merchant typed them. ``check`` turns that text into typed
values or refuses with a message naming the condition; ``services.customer_filters``
compiles a checked filter to one SQL ``WHERE``. No database and no Reflex here.
"""

from __future__ import annotations

import csv
import datetime as dt
import enum
import io
import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from perkstar_ui.domain.filter_params import (
    CUSTOM_PREFIX,
    DAY_OPS,
    DEFAULT_VISIT_DAYS,
    NO_VALUE_OPS,
    OP_LABELS,
    RFM_SEGMENTS,
    Kind,
    Op,
    Param,
    ParamSpec,
)

MAX_CONDITIONS = 20
MAX_DAYS = 3650
MAX_LIST = 50


class Match(str, enum.Enum):
    ALL = "all"  # AND
    ANY = "any"  # OR


# --- the stored form ------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """One condition as typed: texts, not yet checked."""

    field: str
    op: str
    value: str = ""
    value_to: str = ""
    days: str = ""  # only "Visits in the last N days": the N

    def __post_init__(self) -> None:
        # Presets name parameters and operators by enum; stored and compared as their text.
        for name in ("field", "op"):
            value = getattr(self, name)
            if isinstance(value, enum.Enum):
                object.__setattr__(self, name, value.value)

    def to_json(self) -> dict:
        data = {"field": self.field, "op": self.op, "value": self.value}
        if self.value_to:
            data["value_to"] = self.value_to
        if self.days:
            data["days"] = self.days
        return data


@dataclass(frozen=True)
class Group:
    match: Match
    conditions: tuple[Condition, ...]

    def to_json(self) -> dict:
        return {"match": self.match.value, "conditions": [c.to_json() for c in self.conditions]}


@dataclass(frozen=True)
class Filter:
    match: Match = Match.ALL
    items: tuple[Condition | Group, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.items

    def conditions(self) -> list[Condition]:
        """Every condition, groups flattened, in order (for messages and counts)."""
        out: list[Condition] = []
        for item in self.items:
            out.extend(item.conditions if isinstance(item, Group) else (item,))
        return out

    def to_json(self) -> dict:
        return {"match": self.match.value, "items": [i.to_json() for i in self.items]}

    def dumps(self) -> str:
        return json.dumps(self.to_json(), separators=(",", ":"), ensure_ascii=False)


class FilterError(ValueError):
    """A filter that cannot be applied; the message names the condition (1-based)."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


def _text(value: object, limit: int = 200) -> str:
    return str(value if value is not None else "")[:limit]


def _condition_from(data: object) -> Condition:
    if not isinstance(data, dict):
        raise FilterError("A filter condition is malformed.")
    return Condition(_text(data.get("field"), 60), _text(data.get("op"), 20), _text(data.get("value"), 2000),
                     _text(data.get("value_to")), _text(data.get("days"), 10))


def _match(value: object) -> Match:
    try:
        return Match(value or "all")
    except ValueError:
        raise FilterError("Match must be all or any.") from None


def from_json(data: object) -> Filter:
    """The stored or submitted form; anything malformed is refused, never guessed."""
    if data in (None, "", {}):
        return Filter()
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            raise FilterError("The filter is malformed.") from None
    if not isinstance(data, dict) or not isinstance(data.get("items", []), list):
        raise FilterError("The filter is malformed.")
    items: list[Condition | Group] = []
    for raw in data.get("items", []):
        if isinstance(raw, dict) and "conditions" in raw:
            if not isinstance(raw["conditions"], list):
                raise FilterError("A filter group is malformed.")
            items.append(Group(_match(raw.get("match")), tuple(_condition_from(c) for c in raw["conditions"])))
        else:
            items.append(_condition_from(raw))
    result = Filter(_match(data.get("match")), tuple(items))
    if len(result.conditions()) > MAX_CONDITIONS:
        raise FilterError(f"A filter has at most {MAX_CONDITIONS} conditions.")
    return result


# --- checking -------------------------------------------------------------------------


@dataclass(frozen=True)
class Checked:
    """A condition with typed values: ``values`` per kind (Decimal, int cents, date,
    str) — one for most operators, two for between, several for any-of, none for empty;
    ``days`` for relative dates and the visit window."""

    param: ParamSpec
    op: Op
    values: tuple = ()
    days: int = 0


@dataclass(frozen=True)
class CheckedGroup:
    match: Match
    conditions: tuple[Checked, ...]


@dataclass(frozen=True)
class CheckedFilter:
    match: Match
    items: tuple[Checked | CheckedGroup, ...] = field(default_factory=tuple)


def _parse_number(text: str) -> Decimal:
    try:
        number = Decimal(text.strip().replace(",", "."))
    except InvalidOperation:
        raise ValueError(f"“{text}” is not a number") from None
    if not number.is_finite() or abs(number) > Decimal(10) ** 12:
        raise ValueError(f"“{text}” is not a number")
    return number


def _parse_money(text: str) -> int:
    number = _parse_number(text)
    if number != number.quantize(Decimal("0.01")):
        raise ValueError(f"“{text}” has more than two decimal places")
    return int(number * 100)


def _parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"“{text}” is not a date (YYYY-MM-DD)") from None


def _parse_days(text: str, what: str = "The number of days") -> int:
    try:
        days = int(text.strip())
    except ValueError:
        raise ValueError(f"{what} must be a whole number") from None
    if not 0 <= days <= MAX_DAYS:
        raise ValueError(f"{what} must be between 0 and {MAX_DAYS}")
    return days


def _parse_choice(spec: ParamSpec, text: str) -> str:
    for choice in spec.choices:
        if choice.casefold() == text.strip().casefold():
            return choice
    if spec.key == Param.CARD_STATUS and text.strip().casefold() == "not installed":
        return "Uninstalled"  # spec Q26: the newer articles' name
    raise ValueError(f"“{text}” is not one of: {', '.join(spec.choices) or 'nothing yet'}")


def split_list(text: str) -> list[str]:
    """An "any of" value: comma-separated (or one per line), CSV-style, so a value holding a
    comma is written in double quotes (``"Coffee, tea", Gift card``; ``""`` for a quote)."""
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), skipinitialspace=True))
    except csv.Error:
        raise ValueError("the list is malformed (check its quotes)") from None
    return [part.strip() for row in rows for part in row if part.strip()]


def join_list(values: list[str] | tuple[str, ...]) -> str:
    """What ``split_list`` reads back as ``values`` (each stripped): joined by ", ", quoted
    when they hold a comma, a quote or a line break. Whatever the app writes as an "any
    of" value (presets) goes through here."""

    def one(value: str) -> str:
        if any(ch in value for ch in ',"\n\r'):
            return '"' + value.replace('"', '""') + '"'
        return value

    return ", ".join(one(str(v)) for v in values)


def _any_of(spec: ParamSpec, text: str) -> tuple:
    """The listed values, typed and without repeats. For choices, a value that is one whole
    choice is taken as it is even unquoted, but only when splitting it does not give valid
    choices (``Coffee, tea`` is the choices Coffee and tea when both exist)."""
    parts = split_list(text)
    if not parts:
        raise ValueError("list at least one value")
    if len(parts) > MAX_LIST:
        raise ValueError(f"list at most {MAX_LIST} values")
    try:
        return tuple(dict.fromkeys(_parse_one(spec, p) for p in parts))
    except ValueError as error:
        if spec.kind != Kind.CHOICE or len(parts) == 1:
            raise
        try:
            return (_parse_choice(spec, text),)
        except ValueError:
            pass
        if any("," in choice for choice in spec.choices):
            raise ValueError(f"{error} (put a choice that contains a comma in double quotes)") from None
        raise


def _parse_one(spec: ParamSpec, text: str) -> object:
    if not text.strip():
        raise ValueError("a value is needed")
    if spec.kind == Kind.NUMBER:
        return _parse_number(text)
    if spec.kind == Kind.MONEY:
        return _parse_money(text)
    if spec.kind == Kind.DATE:
        return _parse_date(text)
    if spec.kind == Kind.CHOICE:
        return _parse_choice(spec, text)
    return text.strip()


def _check_one(condition: Condition, params: dict[str, ParamSpec]) -> Checked:
    spec = params.get(condition.field)
    if spec is None:
        if condition.field.startswith(CUSTOM_PREFIX):
            raise ValueError(f"the custom field “{condition.field[len(CUSTOM_PREFIX):]}” no longer exists")
        raise ValueError(f"unknown field “{condition.field}”")
    try:
        op = Op(condition.op)
    except ValueError:
        raise ValueError(f"unknown operator “{condition.op}”") from None
    if op not in spec.operators:
        raise ValueError(f"{spec.label} cannot use “{OP_LABELS[op]}”")
    days = 0
    if spec.key == Param.VISITS_IN_DAYS:
        days = _parse_days(condition.days or str(DEFAULT_VISIT_DAYS), "The number of days")
        if days == 0:
            raise ValueError("the number of days must be at least 1")
    if op in NO_VALUE_OPS:
        return Checked(spec, op, (), days)
    if op in DAY_OPS:
        window = _parse_days(condition.value)
        if window == 0:  # "the last N days" are today and the N-1 before it: N ≥ 1
            raise ValueError("the number of days must be at least 1")
        return Checked(spec, op, (), window)
    if op == Op.ANY_OF:
        return Checked(spec, op, _any_of(spec, condition.value), days)
    first = _parse_one(spec, condition.value)
    if op == Op.BETWEEN:
        if not condition.value_to.strip():
            raise ValueError("“between” needs a value to")
        last = _parse_one(spec, condition.value_to)
        if first > last:  # type: ignore[operator]
            raise ValueError("“between” needs from ≤ to")
        return Checked(spec, op, (first, last), days)
    if op == Op.CONTAINS and spec.kind == Kind.TEXT and len(str(first)) > 200:
        raise ValueError("the text is longer than 200 characters")
    return Checked(spec, op, (first,), days)


def check(spec: Filter, params: dict[str, ParamSpec]) -> CheckedFilter:
    """Typed values for every condition, or ``FilterError`` naming the first bad one."""
    position = 0
    items: list[Checked | CheckedGroup] = []

    def one(condition: Condition) -> Checked:
        nonlocal position
        position += 1
        try:
            return _check_one(condition, params)
        except ValueError as error:
            label = params[condition.field].label if condition.field in params else condition.field
            raise FilterError(f"Condition {position} ({label}): {error}.", position) from None

    for item in spec.items:
        if isinstance(item, Group):
            if item.conditions:
                items.append(CheckedGroup(item.match, tuple(one(c) for c in item.conditions)))
        else:
            items.append(one(item))
    return CheckedFilter(spec.match, tuple(items))


def describe(spec: Filter, params: dict[str, ParamSpec]) -> str:
    """A one-line human summary, e.g. ``Card status equals Installed and Birthday month equals May``."""
    joiner = " and " if spec.match == Match.ALL else " or "

    def text(c: Condition) -> str:
        param = params.get(c.field)
        label = param.label if param else c.field
        try:
            op = Op(c.op)
        except ValueError:
            return f"{label} ?"
        op_text = param.op_label(op) if param else OP_LABELS[op]
        if op in DAY_OPS:
            op_text = op_text.replace("N", c.value or "N")
            return f"{label} {op_text}"
        if op in NO_VALUE_OPS:
            return f"{label} {op_text}"
        window = f" (last {c.days or DEFAULT_VISIT_DAYS} days)" if c.field == Param.VISITS_IN_DAYS else ""
        value = f"{c.value} and {c.value_to}" if op == Op.BETWEEN else c.value
        return f"{label}{window} {op_text} {value}"

    parts = []
    for item in spec.items:
        if isinstance(item, Group):
            inner = (" and " if item.match == Match.ALL else " or ").join(text(c) for c in item.conditions)
            parts.append(f"({inner})")
        else:
            parts.append(text(item))
    return joiner.join(parts)


# --- presets (customers.md §13.1) ---------------------------------------------------------


@dataclass(frozen=True)
class Preset:
    key: str  # kebab name: the test id is filter-preset-<key>
    name: str
    group: str
    filter: Filter


def kebab(name: str) -> str:
    return "-".join("".join(ch if ch.isalnum() else " " for ch in name.lower()).split())


def _preset(name: str, group: str, *conditions: Condition) -> Preset:
    return Preset(kebab(name), name, group, Filter(Match.ALL, tuple(conditions)))


PRESETS: tuple[Preset, ...] = (
    _preset("Not installed", "Health", Condition(Param.CARD_STATUS, Op.NOT_EQUALS, "Installed")),
    _preset("Unknown gender", "Health", Condition(Param.GENDER, Op.EQUALS, "Unknown")),
    _preset("Empty birthday", "Health", Condition(Param.BIRTHDAY, Op.IS_EMPTY)),
    _preset("Installed", "Loyalty", Condition(Param.CARD_STATUS, Op.EQUALS, "Installed")),
    _preset("Apple Wallet", "Loyalty", Condition(Param.DEVICE, Op.EQUALS, "Apple Wallet")),
    _preset("Wallet passes", "Loyalty", Condition(Param.DEVICE, Op.ANY_OF, join_list(("Apple Wallet", "Google Wallet")))),
    _preset("Google Pay", "Loyalty", Condition(Param.DEVICE, Op.EQUALS, "Google Wallet")),
    _preset("PWA", "Loyalty", Condition(Param.DEVICE, Op.EQUALS, "PWA")),
    *(_preset(name, "RFM segments", Condition(Param.RFM_SEGMENT, Op.EQUALS, name)) for name in RFM_SEGMENTS),
)
PRESETS_BY_KEY = {preset.key: preset for preset in PRESETS}
