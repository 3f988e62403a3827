"""My Segments: ``segment_save_form`` (Filters tab) and ``segments_panel`` (the
Segments tab on /customers and the /segments page)."""

from __future__ import annotations

import reflex as rx

from perkstar_ui.components.confirm import confirm_dialog
from perkstar_ui.components.controls import TOUCH
from perkstar_ui.services.segments import MAX_NAME, NO_FILTER
from perkstar_ui.state.customer_grid import GridState
from perkstar_ui.state.segments import SavedSegmentView, SegmentsState

NAME_INPUT_ID = "segment-name"


def _form_error() -> rx.Component:
    return rx.cond(
        SegmentsState.form_error != "",
        rx.callout(SegmentsState.form_error, icon="triangle-alert", color_scheme="red", size="1",
                   data_testid="form-error", role="alert"),
    )


def _editing_note() -> rx.Component:
    return rx.cond(
        SegmentsState.editing_id != 0,
        rx.flex(
            rx.text("Saving updates “", SegmentsState.editing_name, "”.", size="2", data_testid="segment-editing"),
            rx.button("Save as a new segment", type="button", variant="ghost", size="2", style=TOUCH,
                      on_click=SegmentsState.save_as_new, data_testid="segment-save-new"),
            align="center", gap="8px", wrap="wrap",
        ),
    )


def _save_fields() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.text(GridState.filter_summary, size="2", color_scheme="gray"),
            _editing_note(),
            rx.el.label("Segment name", html_for=NAME_INPUT_ID, class_name="rt-r-size-2", style={"font_weight": "500"}),
            rx.input(id=NAME_INPUT_ID, name="name", default_value=SegmentsState.save_name, max_length=MAX_NAME,
                     required=True, auto_focus=True, size="3", width="100%"),
            _form_error(),
            rx.flex(
                rx.dialog.close(rx.button("Cancel", type="button", variant="soft", color_scheme="gray", size="3",
                                          style=TOUCH)),
                rx.button("Save segment", type="submit", size="3", style=TOUCH, data_testid="segment-save-confirm"),
                gap="3", justify="end", width="100%",
            ),
            spacing="3",
            width="100%",
        ),
        on_submit=SegmentsState.save_current,
        reset_on_submit=False,
    )


def segment_save_form() -> rx.Component:
    """``segment-save``: name the grid's active filter and keep it as a segment."""
    return rx.fragment(
        rx.button(rx.icon("bookmark-plus", size=16), "Save as segment", variant="soft", size="3", style=TOUCH,
                  on_click=SegmentsState.open_save, data_testid="segment-save"),
        rx.dialog.root(
            rx.dialog.content(
                rx.dialog.title("Save as segment"),
                rx.dialog.description("A segment keeps the filter, not a list: its customers are found again "
                                      "every time it is used.", size="2", margin_bottom="12px"),
                rx.cond(
                    GridState.filter_active,
                    _save_fields(),
                    rx.vstack(
                        rx.callout(f"{NO_FILTER}: a segment saves the active filter.", icon="info",
                                   data_testid="form-error", role="alert", width="100%"),
                        rx.dialog.close(rx.button("Close", variant="soft", size="3", style=TOUCH)),
                        align="end",
                        spacing="3",
                    ),
                ),
                max_width="440px",
                data_testid="segment-save-dialog",
            ),
            open=SegmentsState.save_open,
            on_open_change=SegmentsState.set_save_open,
        ),
    )


def _row_button(icon: str, label: str, testid: str, name: rx.Var, on_click, **props) -> rx.Component:  # noqa: ANN001
    return rx.button(rx.icon(icon, size=16), rx.text(label, display=["none", "none", "inline"]),
                     variant="soft", size="2", style=TOUCH, on_click=on_click, data_testid=testid,
                     aria_label=label + " " + name, title=label, **props)


def _row(segment: SavedSegmentView, standalone: bool) -> rx.Component:
    open_event = SegmentsState.open_on_customers if standalone else SegmentsState.open_segment
    edit_event = SegmentsState.edit_on_customers if standalone else SegmentsState.edit_segment
    return rx.flex(
        rx.vstack(
            rx.text(segment.name, weight="medium", size="3"),
            rx.cond(
                segment.problem != "",
                rx.text(segment.problem, size="2", color_scheme="red", data_testid="segment-problem"),
                rx.text(segment.summary, size="2", color_scheme="gray"),
            ),
            spacing="1",
            flex="1",
            min_width="200px",
        ),
        rx.text(rx.el.span(segment.count, data_testid="segment-count"),
                rx.cond(segment.count != "", " customers", ""), size="2", weight="medium", white_space="nowrap"),
        rx.hstack(
            _row_button("list-filter", "Open", "segment-open", segment.name, open_event(segment.id)),
            _row_button("pencil", "Edit", "segment-edit", segment.name, edit_event(segment.id)),
            _row_button("copy", "Duplicate", "segment-duplicate", segment.name, SegmentsState.duplicate(segment.id)),
            _row_button("trash-2", "Delete", "segment-delete", segment.name, SegmentsState.ask_delete(segment.id),
                        color_scheme="red"),
            spacing="2",
            wrap="wrap",
        ),
        data_testid="segment-row",
        data_segment_name=segment.name,
        align="center",
        gap="12px",
        wrap="wrap",
        padding_y="12px",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
        width="100%",
    )


def _delete_dialog() -> rx.Component:
    return confirm_dialog(
        "Delete this segment?",
        ["“", SegmentsState.delete_name, "” is removed. Its customers are not changed."],
        SegmentsState.delete_open, SegmentsState.cancel_delete, SegmentsState.delete,
    )


def segments_panel(standalone: bool = False) -> rx.Component:
    """The saved segments with live counts. ``standalone`` (the /segments page): open and
    edit go to /customers; in the Customers page's tab they filter the grid in place."""
    # In the Customers tab the counts refresh whenever the tab is shown; the page loads on_load.
    refresh = {} if standalone else {"on_mount": SegmentsState.load}
    return rx.vstack(
        rx.hstack(
            rx.heading("My segments", size="4", as_="h2"),
            rx.cond(SegmentsState.loading, rx.spinner(size="2", data_testid="segments-loading")),
            align="center",
            spacing="3",
        ),
        rx.cond(
            SegmentsState.open_error != "",
            rx.callout(SegmentsState.open_error, icon="triangle-alert", color_scheme="red", size="1",
                       data_testid="segment-open-error", role="alert"),
        ),
        rx.cond(
            (SegmentsState.segments.length() == 0) & ~SegmentsState.loading,
            rx.text("No segments yet. Filter the customers, then “Save as segment”.", size="2", color_scheme="gray",
                    data_testid="segments-empty"),
        ),
        rx.box(rx.foreach(SegmentsState.segments, lambda segment: _row(segment, standalone)), width="100%"),
        _delete_dialog(),
        **refresh,
        spacing="3",
        width="100%",
    )
