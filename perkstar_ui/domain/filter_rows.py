"""The filter builder's rows as plain data (no Reflex, no database): what the Filters tab
edits, turned into a ``domain.filters.Filter`` and back.

The builder shows top-level conditions first, then each group (one level) with its own
match. ``to_filter`` keeps that order, so "Condition 3" in a ``FilterError`` is the third
row on screen. A field change keeps what was typed only while the kind of input stays
the same; the operator falls back to the field's first one when it does not apply.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, replace

from perkstar_ui.domain.filter_params import (
    DAY_OPS,
    DEFAULT_VISIT_DAYS,
    NO_VALUE_OPS,
    Kind,
    Op,
    Param,
    ParamSpec,
)
from perkstar_ui.domain.filters import Condition, Filter, Group, Match

TOP_LEVEL = ""  # the group id of rows outside any group
DEFAULT_FIELD = Param.NAME.value


class ValueKind(str, enum.Enum):
    """Which control the Value slot shows."""

    NONE = "none"  # is empty / is not empty
    CHOICE = "choice"  # a select of the field's choices
    DAYS = "days"  # a number of days (in the last N days …)
    LIST = "list"  # any of: comma-separated
    DATE = "date"
    NUMBER = "number"
    TEXT = "text"


# The HTML input type of each kind shown as an <input>.
INPUT_TYPES = {ValueKind.DAYS: "number", ValueKind.LIST: "text", ValueKind.DATE: "date",
               ValueKind.NUMBER: "number", ValueKind.TEXT: "text"}
PLACEHOLDERS = {ValueKind.DAYS: "days", ValueKind.LIST: "comma-separated", ValueKind.DATE: "YYYY-MM-DD"}


@dataclass(frozen=True)
class Row:
    """One condition as the builder holds it: the texts typed, not yet checked."""

    id: str
    field: str
    op: str
    value: str = ""
    value_to: str = ""
    days: str = ""
    group: str = TOP_LEVEL

    def condition(self) -> Condition:
        return Condition(self.field, self.op, self.value, self.value_to, self.days)


@dataclass(frozen=True)
class GroupRow:
    id: str
    match: Match = Match.ALL


@dataclass(frozen=True)
class Builder:
    """Everything the builder edits: the top-level match, the rows, the groups."""

    match: Match = Match.ALL
    rows: tuple[Row, ...] = ()
    groups: tuple[GroupRow, ...] = ()

    def ordered_rows(self) -> list[Row]:
        """Rows in screen order: top level first, then group by group."""
        top = [row for row in self.rows if row.group == TOP_LEVEL]
        return top + [row for group in self.groups for row in self.rows if row.group == group.id]


def value_kind(spec: ParamSpec | None, op: str) -> ValueKind:
    try:
        operator = Op(op)
    except ValueError:
        return ValueKind.TEXT
    if operator in NO_VALUE_OPS:
        return ValueKind.NONE
    if operator in DAY_OPS:
        return ValueKind.DAYS
    if operator == Op.ANY_OF:
        return ValueKind.LIST
    kind = spec.kind if spec else Kind.TEXT
    if kind == Kind.CHOICE:
        return ValueKind.CHOICE
    if kind == Kind.DATE:
        return ValueKind.DATE
    if kind in (Kind.NUMBER, Kind.MONEY):
        return ValueKind.NUMBER
    return ValueKind.TEXT


def _default_value(spec: ParamSpec | None, kind: ValueKind) -> str:
    """A choice select shows its first option, so the row must hold it too."""
    if kind == ValueKind.CHOICE and spec and spec.choices:
        return spec.choices[0]
    return ""


def new_row(row_id: str, params: dict[str, ParamSpec], group: str = TOP_LEVEL) -> Row:
    field = DEFAULT_FIELD if DEFAULT_FIELD in params else next(iter(params), DEFAULT_FIELD)
    return with_field(Row(row_id, "", "", group=group), field, params)


def with_field(row: Row, field: str, params: dict[str, ParamSpec]) -> Row:
    spec = params.get(field)
    ops = [op.value for op in spec.operators] if spec else []
    op = row.op if row.op in ops else (ops[0] if ops else row.op)
    days = (row.days or str(DEFAULT_VISIT_DAYS)) if field == Param.VISITS_IN_DAYS else ""
    return _retyped(row, replace(row, field=field, op=op, days=days), params)


def with_op(row: Row, op: str, params: dict[str, ParamSpec]) -> Row:
    spec = params.get(row.field)
    if spec is None or op not in {o.value for o in spec.operators}:
        return row
    changed = replace(row, op=op, value_to=row.value_to if op == Op.BETWEEN else "")
    return _retyped(row, changed, params)


def _retyped(before: Row, after: Row, params: dict[str, ParamSpec]) -> Row:
    """Keep the typed value while the input stays of the same kind; else start afresh."""
    old_kind = value_kind(params.get(before.field), before.op)
    new_kind = value_kind(params.get(after.field), after.op)
    # Another field's choices are different values, so a choice is kept only on its field.
    same_input = old_kind == new_kind and (new_kind != ValueKind.CHOICE or before.field == after.field)
    if before.field and same_input:
        return after
    return replace(after, value=_default_value(params.get(after.field), new_kind), value_to="")


def to_filter(builder: Builder) -> Filter:
    """The filter the rows describe, in screen order; empty groups are dropped."""
    items: list[Condition | Group] = [row.condition() for row in builder.rows if row.group == TOP_LEVEL]
    for group in builder.groups:
        conditions = tuple(row.condition() for row in builder.rows if row.group == group.id)
        if conditions:
            items.append(Group(group.match, conditions))
    return Filter(builder.match, tuple(items))


def from_filter(spec: Filter, make_id: Callable[[], str]) -> Builder:
    """Rows for a stored filter (a preset, a segment, the grid's active filter)."""
    rows: list[Row] = []
    groups: list[GroupRow] = []
    for item in spec.items:
        if isinstance(item, Group):
            group = GroupRow(make_id(), item.match)
            groups.append(group)
            rows.extend(_row_of(make_id(), c, group.id) for c in item.conditions)
        else:
            rows.append(_row_of(make_id(), item, TOP_LEVEL))
    # Screen order puts the top level first: the ids are stable, only the order changes.
    top = [row for row in rows if row.group == TOP_LEVEL]
    return Builder(spec.match, tuple(top + [row for row in rows if row.group != TOP_LEVEL]), tuple(groups))


def _row_of(row_id: str, condition: Condition, group: str) -> Row:
    return Row(row_id, condition.field, condition.op, condition.value, condition.value_to, condition.days, group)
