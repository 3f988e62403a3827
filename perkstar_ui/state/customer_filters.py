"""The Filters tab: the condition builder's rows, presets, and applying them to the grid.

The rows live here as ``domain.filter_rows`` data (server side) and are shown as
``RowView``s carrying everything a row's controls need (its operators, its choices, which
Value input). Applying re-checks the filter against the merchant's fields in a worker
thread and hands it to ``GridState.apply_filter``, which checks it again: the browser's
text is never trusted. The builder follows the grid when a filter is set elsewhere (an
RFM segment, a saved segment): the tab re-reads the grid's filter when it is shown.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import replace

import reflex as rx

from perkstar_ui.domain import filter_rows as fr
from perkstar_ui.domain import filters
from perkstar_ui.domain.filter_params import Op, Param
from perkstar_ui.domain.filter_rows import Builder, GroupRow, Row
from perkstar_ui.domain.filters import MAX_CONDITIONS, Match
from perkstar_ui.domain.permissions import Permission
from perkstar_ui.services import customer_filters
from perkstar_ui.state.auth import AuthState
from perkstar_ui.state.guard import current_login, requires
from perkstar_ui.state.customer_grid import GridState

TEXT_LIMIT = 200
LIST_LIMIT = 2000  # "any of" lists of up to filters.MAX_LIST values
DAYS_LIMIT = 10
MAX_GROUPS = 5


@dataclasses.dataclass
class OptionView:
    value: str
    label: str


@dataclasses.dataclass
class RowView:
    id: str
    position: int  # 1-based, as FilterError messages count
    field: str
    op: str
    value: str
    value_to: str
    days: str
    kind: str  # ValueKind
    input_type: str
    placeholder: str
    input_key: str  # remounts the uncontrolled Value inputs when their kind changes
    ops: list[OptionView]
    choices: list[str]
    show_to: bool
    show_days: bool


@dataclasses.dataclass
class GroupView:
    id: str
    match: str
    rows: list[RowView]


def _row_view(row: Row, position: int, params: dict[str, filters.ParamSpec]) -> RowView:
    spec = params.get(row.field)
    kind = fr.value_kind(spec, row.op)
    ops = [OptionView(op.value, spec.op_label(op)) for op in spec.operators] if spec else []
    return RowView(
        id=row.id, position=position, field=row.field, op=row.op, value=row.value, value_to=row.value_to,
        days=row.days, kind=kind.value, input_type=fr.INPUT_TYPES.get(kind, "text"),
        placeholder=fr.PLACEHOLDERS.get(kind, ""), input_key=f"{row.id}-{kind.value}", ops=ops,
        choices=list(spec.choices) if spec else [], show_to=row.op == Op.BETWEEN,
        show_days=row.field == Param.VISITS_IN_DAYS,
    )


def _match(value: str) -> Match:
    return Match.ANY if value == Match.ANY.value else Match.ALL


class FilterState(AuthState):
    match: str = Match.ALL.value
    top_rows: list[RowView] = []
    groups: list[GroupView] = []
    field_options: list[OptionView] = []
    form_error: str = ""
    applying: bool = False

    _builder: Builder = Builder()
    _params: dict[str, filters.ParamSpec] = {}
    _next_id: int = 0
    # The grid filter the builder last showed or applied; another one means "set elsewhere".
    _synced_json: str = ""

    # --- helpers ------------------------------------------------------------------------

    async def _catalog(self, merchant_id: int, *, fresh: bool = False) -> dict[str, filters.ParamSpec]:
        if fresh or not self._params:
            self._params = await asyncio.to_thread(customer_filters.params_for, merchant_id)
            self.field_options = [OptionView(key, spec.label) for key, spec in self._params.items()]
        return self._params

    def _new_id(self) -> str:
        self._next_id += 1
        return f"r{self._next_id}"

    def _show(self, builder: Builder) -> None:
        """Store the builder and refresh what the browser shows of it."""
        self._builder = builder
        self.match = builder.match.value
        position = 0
        views: dict[str, list[RowView]] = {}
        for row in builder.ordered_rows():
            position += 1
            views.setdefault(row.group, []).append(_row_view(row, position, self._params))
        self.top_rows = views.get(fr.TOP_LEVEL, [])
        self.groups = [GroupView(g.id, g.match.value, views.get(g.id, [])) for g in builder.groups]

    def _change_row(self, row_id: str, change) -> None:  # noqa: ANN001  (Row -> Row)
        rows = tuple(change(row) if row.id == row_id else row for row in self._builder.rows)
        self._show(replace(self._builder, rows=rows))

    def _fill(self, spec: filters.Filter) -> None:
        self._show(fr.from_filter(spec, self._new_id))
        self.form_error = ""

    async def _apply_builder(self, merchant_id: int, summary_prefix: str = ""):
        """Check the builder's filter on the server and show it in the grid (or say why not)."""
        spec = fr.to_filter(self._builder)
        self.applying = True
        yield
        try:
            checked = await asyncio.to_thread(customer_filters.validate, merchant_id, spec.dumps())
        except filters.FilterError as error:
            self.form_error, self.applying = str(error), False
            return
        self.form_error, self.applying = "", False
        stored = "" if checked.empty else checked.dumps()
        summary = filters.describe(checked, self._params) if stored else ""
        self._synced_json = stored
        yield GridState.apply_filter(stored, f"{summary_prefix}{summary}")

    # --- page load and sync ---------------------------------------------------------------

    async def _open(self, merchant_id: int) -> None:
        """/customers' load: the builder as the grid's filter, with the fields as they are now."""
        await self._catalog(merchant_id, fresh=True)
        await self._sync(force=True)

    async def _sync(self, force: bool = False) -> None:
        grid = await self.get_state(GridState)
        if not force and grid.filter_json == self._synced_json:
            return
        self._synced_json = grid.filter_json
        try:
            self._fill(filters.from_json(grid.filter_json))
        except filters.FilterError:
            self._fill(filters.Filter())

    @rx.event
    @requires(Permission.VIEW_CUSTOMERS)
    async def sync_from_grid(self):
        """When the tab is shown: follow a filter the grid got elsewhere (RFM, a segment)."""
        merchant_id = current_login().merchant_id
        await self._catalog(merchant_id)
        await self._sync()
        return None

    @rx.event
    @requires(Permission.VIEW_CUSTOMERS)
    async def load_filter(self, filter_json: str):
        """Show a stored filter (e.g. a segment being edited) in the builder without applying it."""
        merchant_id = current_login().merchant_id
        await self._catalog(merchant_id)
        try:
            self._fill(filters.from_json(str(filter_json)[:20_000]))
        except filters.FilterError as error:
            self.form_error = str(error)
        # The builder now shows this filter, not the grid's: record the grid's filter as seen,
        # so the tab's on-mount sync keeps these rows (e.g. a segment being repaired, while
        # the grid shows none) until the grid's filter changes again.
        self._synced_json = (await self.get_state(GridState)).filter_json
        return None

    # --- editing the rows ---------------------------------------------------------------------

    @rx.event
    @requires(Permission.VIEW_CUSTOMERS)
    async def add_condition(self, group_id: str = fr.TOP_LEVEL):
        merchant_id = current_login().merchant_id
        params = await self._catalog(merchant_id)
        if len(self._builder.rows) >= MAX_CONDITIONS:
            self.form_error = f"A filter has at most {MAX_CONDITIONS} conditions."
            return None
        if group_id != fr.TOP_LEVEL and group_id not in {g.id for g in self._builder.groups}:
            return None
        row = fr.new_row(self._new_id(), params, group_id)
        self._show(replace(self._builder, rows=(*self._builder.rows, row)))
        return None

    @rx.event
    @requires(Permission.VIEW_CUSTOMERS)
    async def add_group(self):
        """A group of conditions with its own all/any, starting with one condition."""
        merchant_id = current_login().merchant_id
        params = await self._catalog(merchant_id)
        if len(self._builder.groups) >= MAX_GROUPS or len(self._builder.rows) >= MAX_CONDITIONS:
            self.form_error = f"A filter has at most {MAX_GROUPS} groups and {MAX_CONDITIONS} conditions."
            return None
        group = GroupRow(self._new_id(), Match.ANY)
        row = fr.new_row(self._new_id(), params, group.id)
        self._show(replace(self._builder, rows=(*self._builder.rows, row), groups=(*self._builder.groups, group)))
        return None

    @rx.event
    @requires(Permission.VIEW_CUSTOMERS)
    async def remove_condition(self, row_id: str):
        self._show(replace(self._builder, rows=tuple(r for r in self._builder.rows if r.id != row_id)))
        return None

    @rx.event
    @requires(Permission.VIEW_CUSTOMERS)
    async def remove_group(self, group_id: str):
        self._show(replace(
            self._builder,
            rows=tuple(r for r in self._builder.rows if r.group != group_id),
            groups=tuple(g for g in self._builder.groups if g.id != group_id),
        ))
        return None

    @rx.event
    @requires(Permission.VIEW_CUSTOMERS)
    async def set_match(self, value: str):
        self._show(replace(self._builder, match=_match(value)))
        return None

    @rx.event
    @requires(Permission.VIEW_CUSTOMERS)
    async def set_group_match(self, group_id: str, value: str):
        groups = tuple(GroupRow(g.id, _match(value)) if g.id == group_id else g for g in self._builder.groups)
        self._show(replace(self._builder, groups=groups))
        return None

    @rx.event
    @requires(Permission.VIEW_CUSTOMERS)
    async def set_field(self, row_id: str, value: str):
        merchant_id = current_login().merchant_id
        params = await self._catalog(merchant_id)
        if value in params:
            self._change_row(row_id, lambda row: fr.with_field(row, value, params))
        return None

    @rx.event
    @requires(Permission.VIEW_CUSTOMERS)
    async def set_op(self, row_id: str, value: str):
        merchant_id = current_login().merchant_id
        params = await self._catalog(merchant_id)
        self._change_row(row_id, lambda row: fr.with_op(row, str(value), params))
        return None

    @rx.event
    @requires(Permission.VIEW_CUSTOMERS)
    async def set_value(self, row_id: str, value: str):
        self._change_row(row_id, lambda row: replace(row, value=str(value)[:LIST_LIMIT]))
        return None

    @rx.event
    @requires(Permission.VIEW_CUSTOMERS)
    async def set_value_to(self, row_id: str, value: str):
        self._change_row(row_id, lambda row: replace(row, value_to=str(value)[:TEXT_LIMIT]))
        return None

    @rx.event
    @requires(Permission.VIEW_CUSTOMERS)
    async def set_days(self, row_id: str, value: str):
        self._change_row(row_id, lambda row: replace(row, days=str(value)[:DAYS_LIMIT]))
        return None

    # --- applying -------------------------------------------------------------------------------

    @rx.event
    @requires(Permission.VIEW_CUSTOMERS)
    async def apply(self):
        merchant_id = current_login().merchant_id
        await self._catalog(merchant_id)
        async for update in self._apply_builder(merchant_id):
            yield update

    @rx.event
    @requires(Permission.VIEW_CUSTOMERS)
    async def clear(self):
        self._fill(filters.Filter())
        self._synced_json = ""
        yield GridState.apply_filter("", "")

    @rx.event
    @requires(Permission.VIEW_CUSTOMERS)
    async def apply_preset(self, key: str):
        """One click: the preset's conditions in the builder, and the grid filtered by them."""
        merchant_id = current_login().merchant_id
        preset = filters.PRESETS_BY_KEY.get(str(key))
        if preset is None:
            self.form_error = "That preset does not exist."
            return
        await self._catalog(merchant_id)
        self._fill(preset.filter)
        async for update in self._apply_builder(merchant_id, f"{preset.name}: "):
            yield update

