"""The Filters tab (contract v2): presets, the condition rows, Match, Apply and Clear.

Controls are native ``<select>``/``<input>`` elements with visible labels whose ids are
unique per row, so ``get_by_label("Field")`` resolves inside a ``filter-condition`` row.
Text inputs are uncontrolled (``default_value``) so typing never waits for the server;
``key`` remounts them when the builder is refilled (a preset, a segment) or their kind
changes. Selects are controlled: their options come from the server.
"""

from __future__ import annotations

import reflex as rx

from perkstar_ui.components.controls import NATIVE_CONTROL, TOUCH, labelled
from perkstar_ui.domain.filter_rows import ValueKind
from perkstar_ui.domain.filters import PRESETS, Match
from perkstar_ui.state.customer_filters import FilterState, GroupView, OptionView, RowView

PRESET_GROUPS = tuple(dict.fromkeys(preset.group for preset in PRESETS))  # Health, Loyalty, RFM segments
MATCH_OPTIONS = ((Match.ALL.value, "all (AND)"), (Match.ANY.value, "any (OR)"))
FIELD_WIDTH = "220px"
OPERATOR_WIDTH = "190px"
VALUE_WIDTH = "180px"


def _option(option: OptionView) -> rx.Component:
    return rx.el.option(option.label, value=option.value)


def _match_select(control_id: str, value: rx.Var, on_change) -> rx.Component:  # noqa: ANN001
    return rx.el.select(
        *[rx.el.option(text, value=key) for key, text in MATCH_OPTIONS],
        id=control_id, value=value, on_change=on_change, style=NATIVE_CONTROL,
    )


def _control_id(row: RowView, part: str) -> rx.Var:
    return "filter-" + row.id + "-" + part


def _value_input(row: RowView) -> rx.Component:
    control_id = _control_id(row, "value")
    choice = rx.el.select(
        rx.foreach(row.choices, lambda choice: rx.el.option(choice, value=choice)),
        id=control_id, value=row.value, on_change=lambda v: FilterState.set_value(row.id, v),
        style={**NATIVE_CONTROL, "width": VALUE_WIDTH},
    )
    typed = rx.el.input(
        id=control_id, key=row.input_key, type=row.input_type, default_value=row.value,
        placeholder=row.placeholder, on_change=lambda v: FilterState.set_value(row.id, v),
        style={**NATIVE_CONTROL, "width": VALUE_WIDTH},
    )
    return rx.cond(
        row.kind == ValueKind.NONE.value,
        rx.fragment(),
        labelled("Value", control_id, rx.cond(row.kind == ValueKind.CHOICE.value, choice, typed)),
    )


def _value_to_input(row: RowView) -> rx.Component:
    control_id = _control_id(row, "value-to")
    return labelled("Value to", control_id, rx.el.input(
        id=control_id, key=row.input_key + "-to", type=row.input_type, default_value=row.value_to,
        on_change=lambda v: FilterState.set_value_to(row.id, v), style={**NATIVE_CONTROL, "width": VALUE_WIDTH},
    ))


def _days_input(row: RowView) -> rx.Component:
    control_id = _control_id(row, "days")
    return labelled("Days", control_id, rx.el.input(
        id=control_id, key=row.id + "-days", type="number", min="1", default_value=row.days,
        on_change=lambda v: FilterState.set_days(row.id, v), style={**NATIVE_CONTROL, "width": "90px"},
    ))


def _condition(row: RowView) -> rx.Component:
    field_id, op_id = _control_id(row, "field"), _control_id(row, "op")
    return rx.flex(
        rx.text(row.position, ".", size="2", color_scheme="gray", min_width="20px", padding_bottom="12px"),
        labelled("Field", field_id, rx.el.select(
            rx.foreach(FilterState.field_options, _option),
            id=field_id, value=row.field, on_change=lambda v: FilterState.set_field(row.id, v),
            style={**NATIVE_CONTROL, "width": FIELD_WIDTH},
        )),
        labelled("Operator", op_id, rx.el.select(
            rx.foreach(row.ops, _option),
            id=op_id, value=row.op, on_change=lambda v: FilterState.set_op(row.id, v),
            style={**NATIVE_CONTROL, "width": OPERATOR_WIDTH},
        )),
        _value_input(row),
        rx.cond(row.show_to, _value_to_input(row)),
        rx.cond(row.show_days, _days_input(row)),
        rx.icon_button(
            rx.icon("x", size=16), variant="ghost", color_scheme="gray", size="3",
            aria_label="Remove condition " + row.position.to_string(),
            on_click=FilterState.remove_condition(row.id), data_testid="filter-remove", style=TOUCH,
        ),
        key=row.id,
        data_testid="filter-condition",
        data_row_id=row.id,
        gap="8px",
        align="end",
        wrap="wrap",
    )


def _group(group: GroupView) -> rx.Component:
    control_id = "filter-" + group.id + "-match"
    return rx.box(
        rx.flex(
            labelled("Within this group", control_id, _match_select(
                control_id, group.match, lambda v: FilterState.set_group_match(group.id, v))),
            rx.spacer(),
            rx.button(rx.icon("plus", size=16), "Condition in group", variant="soft", size="2", style=TOUCH,
                      on_click=FilterState.add_condition(group.id), data_testid="filter-group-add"),
            rx.button("Remove group", variant="ghost", color_scheme="gray", size="2", style=TOUCH,
                      on_click=FilterState.remove_group(group.id), data_testid="filter-group-remove"),
            gap="8px", align="end", wrap="wrap",
        ),
        rx.vstack(rx.foreach(group.rows, _condition), spacing="3", margin_top="8px"),
        key=group.id,
        data_testid="filter-group",
        padding="12px",
        border=f"1px dashed {rx.color('gray', 7)}",
        border_radius="var(--radius-3)",
        width="100%",
    )


def _presets() -> rx.Component:
    sections = []
    for group_name in PRESET_GROUPS:
        buttons = [
            rx.button(preset.name, variant="surface", size="2", style=TOUCH,
                      on_click=FilterState.apply_preset(preset.key), data_testid=f"filter-preset-{preset.key}")
            for preset in PRESETS if preset.group == group_name
        ]
        sections.append(rx.box(
            rx.heading(group_name, as_="h3", size="2", margin_bottom="6px"),
            rx.flex(*buttons, gap="8px", wrap="wrap"),
        ))
    return rx.flex(*sections, direction="column", gap="12px", width="100%")


def _actions() -> rx.Component:
    return rx.flex(
        rx.button(rx.icon("plus", size=16), "Add condition", variant="soft", size="3", style=TOUCH,
                  on_click=FilterState.add_condition(""), data_testid="filter-add"),
        rx.button(rx.icon("brackets", size=16), "Add group", variant="soft", size="3", style=TOUCH,
                  on_click=FilterState.add_group, data_testid="filter-add-group"),
        rx.spacer(),
        rx.button("Clear", variant="outline", color_scheme="gray", size="3", style=TOUCH,
                  on_click=FilterState.clear, data_testid="filter-clear"),
        rx.button(rx.icon("filter", size=16), "Apply filter", size="3", style=TOUCH, loading=FilterState.applying,
                  on_click=FilterState.apply, data_testid="filter-apply"),
        gap="8px", align="center", wrap="wrap", width="100%",
    )


def filter_builder() -> rx.Component:
    return rx.vstack(
        _presets(),
        rx.separator(size="4"),
        labelled("Match", "filter-match", _match_select("filter-match", FilterState.match, FilterState.set_match)),
        rx.vstack(rx.foreach(FilterState.top_rows, _condition), spacing="3", width="100%"),
        rx.foreach(FilterState.groups, _group),
        rx.cond(
            (FilterState.top_rows.length() == 0) & (FilterState.groups.length() == 0),
            rx.text("No conditions: every customer is shown. Add a condition or pick a preset.", size="2",
                    color_scheme="gray"),
        ),
        _actions(),
        rx.cond(FilterState.form_error != "", rx.callout(FilterState.form_error, icon="triangle-alert", color_scheme="red",
                                                          size="1", role="alert", data_testid="form-error")),
        # The tab's content mounts whenever it is shown: pick up a filter set elsewhere.
        on_mount=FilterState.sync_from_grid,
        spacing="4",
        width="100%",
        data_testid="filter-builder",
    )
