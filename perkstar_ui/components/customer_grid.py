"""The customer grid: toolbar, table (one page), pager, bulk-delete dialogs."""

from __future__ import annotations

import reflex as rx

from perkstar_ui.components.confirm import confirm_dialog
from perkstar_ui.components.controls import TOUCH
from perkstar_ui.components.customer_form import customer_dialog
from perkstar_ui.components.import_dialog import import_dialog
from perkstar_ui.services.customer_grid import GridRow
from perkstar_ui.state.auth import AuthState
from perkstar_ui.state.campaigns import CampaignComposeState
from perkstar_ui.state.customer_form import CustomerFormState
from perkstar_ui.state.customer_grid import BUILT_IN_COLUMNS, ColumnView, GridState
from perkstar_ui.state.import_export import ExportState, ImportState
from perkstar_ui.state.issue_cards import IssueCardsState


def _search() -> rx.Component:
    # Enter submits at once; typing waits for a pause (the same text is not searched twice).
    return rx.form(
        rx.el.label("Search customers", html_for="customer-search", class_name="rt-r-size-2", style={"display": "block", "margin_bottom": "4px"}),
        rx.input(
            rx.input.slot(rx.icon("search", size=16)),
            id="customer-search",
            name="search",
            data_testid="customer-search",
            placeholder="Name, email, phone or card serial",
            default_value=GridState.search,
            on_change=GridState.set_search.debounce(300),
            type="search",
            size="3",
            width="100%",
        ),
        on_submit=GridState.submit_search,
        reset_on_submit=False,
        role="search",
        flex="1",
        min_width="200px",
    )


def _actions_menu() -> rx.Component:
    return rx.menu.root(
        rx.menu.trigger(
            rx.button(
                "Actions", rx.cond(GridState.selected_count > 0, rx.badge(GridState.selected_count), rx.fragment()),
                rx.icon("chevron-down", size=16),
                variant="soft", size="3", data_testid="actions-menu", style=TOUCH,
            )
        ),
        rx.menu.content(
            rx.menu.item("Issue cards", data_testid="action-issue-cards", on_select=IssueCardsState.open_dialog,
                         style={"min_height": "44px"}),
            rx.menu.item("Send message", data_testid="action-send-message", on_select=CampaignComposeState.open_dialog,
                         style={"min_height": "44px"}),
            rx.menu.item("Delete customers", color="red", data_testid="action-delete-customers", on_select=GridState.ask_delete_selected,
                         style={"min_height": "44px"}),
        ),
    )


def _toolbar() -> rx.Component:
    return rx.flex(
        _search(),
        rx.hstack(
            rx.button(rx.icon("plus", size=16), "Add customer", size="3", data_testid="add-customer",
                      on_click=CustomerFormState.open_new, style=TOUCH),
            # Import, export and the bulk actions are absent for the counter role (domain.permissions).
            rx.cond(AuthState.manager_tools, rx.fragment(
                rx.button(rx.icon("upload", size=16), "Import", size="3", variant="soft", data_testid="import-customers",
                          on_click=ImportState.open_dialog, style=TOUCH),
                rx.button(rx.icon("download", size=16), "Export", size="3", variant="soft", data_testid="export-customers",
                          on_click=ExportState.export, style=TOUCH),
                _actions_menu(),
            )),
            spacing="2",
            align="end",
            wrap="wrap",
        ),
        gap="12px",
        align="end",
        wrap="wrap",
        width="100%",
        margin_y="16px",
    )


def _selection_bar() -> rx.Component:
    """The active filter's count, how many are selected, and "select all N matching"."""
    return rx.flex(
        rx.cond(
            GridState.filter_active,
            rx.hstack(
                rx.icon("filter", size=16),
                rx.text(rx.el.span(GridState.total, data_testid="filter-count"), " matching", size="2", weight="medium"),
                rx.text(GridState.filter_summary, size="2", color_scheme="gray", data_testid="filter-summary"),
                align="center", spacing="2",
            ),
        ),
        rx.cond(
            GridState.selected_count > 0,
            rx.hstack(
                rx.text(rx.el.span(GridState.selected_count, data_testid="selection-count"), " selected", size="2"),
                rx.cond(
                    GridState.can_select_all_matching,
                    rx.button("Select all ", GridState.total, " matching", variant="ghost", size="2",
                              data_testid="select-all-matching", on_click=GridState.select_all_matching, style=TOUCH),
                ),
                rx.button("Clear selection", variant="ghost", size="2", color_scheme="gray",
                          on_click=GridState.clear_selection, style=TOUCH),
                align="center", spacing="2",
            ),
        ),
        rx.cond(GridState.loading, rx.spinner(size="2", data_testid="grid-loading")),
        rx.cond(GridState.grid_error != "", rx.callout(GridState.grid_error, icon="triangle-alert", color_scheme="red",
                                                        size="1", data_testid="grid-error")),
        gap="16px", align="center", wrap="wrap", min_height="44px",
    )


def _header(column: ColumnView) -> rx.Component:
    arrow = rx.cond(
        GridState.sort == column.key,
        rx.cond(GridState.descending, rx.icon("arrow-down", size=14), rx.icon("arrow-up", size=14)),
        rx.fragment(),
    )
    return rx.table.column_header_cell(
        rx.el.button(
            rx.hstack(rx.text(column.label), arrow, spacing="1", align="center"),
            on_click=GridState.sort_by(column.key),
            style={"all": "unset", "cursor": "pointer", "white_space": "nowrap", "min_height": "32px"},
        ),
        aria_sort=rx.cond(GridState.sort == column.key, rx.cond(GridState.descending, "descending", "ascending"), "none"),
    )


def _checkbox(label: rx.Var | str, checked: rx.Var, on_change, testid: str) -> rx.Component:  # noqa: ANN001
    return rx.el.label(
        rx.el.input(type="checkbox", checked=checked, on_change=on_change, data_testid=testid, aria_label=label,
                    style={"width": "20px", "height": "20px"}),
        style={"display": "inline-flex", "align_items": "center", "justify_content": "center", **TOUCH, "cursor": "pointer"},
    )


def _row(row: GridRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(_checkbox("Select " + row.name, GridState.all_matching | GridState.selected_ids.contains(row.id),
                                GridState.toggle_row(row.id), "row-select")),
        rx.table.cell(rx.link(row.name, href="/customers/" + row.id.to_string(), data_testid="cell-name", weight="medium")),
        rx.table.cell(row.created, data_testid="cell-date-created"),
        rx.table.cell(row.birthdate, data_testid="cell-birthdate"),
        rx.table.cell(row.phone, data_testid="cell-phone", white_space="nowrap"),
        rx.table.cell(row.rating, data_testid="cell-feedback-rating"),
        rx.table.cell(row.utm, data_testid="cell-utm"),
        rx.table.cell(row.device, data_testid="cell-device"),
        rx.table.cell(row.cards, data_testid="cell-cards"),
        rx.foreach(row.custom, lambda cell: rx.table.cell(cell.value, data_testid="cell-cf-" + cell.key)),
        data_testid="customer-row",
        data_customer_id=row.id,
        align="center",
    )


def _table() -> rx.Component:
    return rx.box(
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    rx.table.column_header_cell(
                        _checkbox("Select all on this page", GridState.all_selected, GridState.toggle_all, "select-all"),
                        width="48px",
                    ),
                    *[_header(c) for c in BUILT_IN_COLUMNS],
                    rx.foreach(GridState.custom_columns, _header),
                )
            ),
            rx.table.body(rx.foreach(GridState.rows, _row)),
            data_testid="customer-grid",
            variant="surface",
            size="2",
            width="100%",
        ),
        rx.cond(
            (GridState.total == 0) & ~GridState.loading,
            rx.text(rx.cond((GridState.search != "") | GridState.filter_active, "No customer matches this search and filter.",
                            "No customers yet."),
                    color_scheme="gray", padding="16px", data_testid="grid-empty"),
        ),
        # The grid scrolls sideways inside this box; the page never does.
        overflow_x="auto",
        width="100%",
        max_width="100%",
    )


def _pager() -> rx.Component:
    return rx.flex(
        rx.text(GridState.page_info, data_testid="grid-page-info", size="2"),
        rx.spacer(),
        rx.hstack(
            rx.el.label("Rows per page", html_for="page-size", class_name="rt-r-size-2"),
            rx.el.select(
                rx.el.option("25", value="25"), rx.el.option("50", value="50"), rx.el.option("100", value="100"),
                id="page-size", value=GridState.page_size.to_string(), on_change=GridState.set_page_size,
                style={"min_height": "36px"},
            ),
            align="center",
            spacing="2",
        ),
        rx.button(rx.icon("chevron-left"), "Previous", variant="soft", on_click=GridState.prev_page,
                  disabled=GridState.page <= 1, data_testid="grid-prev", style=TOUCH),
        rx.button("Next", rx.icon("chevron-right"), variant="soft", on_click=GridState.next_page,
                  disabled=GridState.page >= GridState.pages, data_testid="grid-next", style=TOUCH),
        gap="12px",
        align="center",
        wrap="wrap",
        margin_top="12px",
    )


def _bulk_delete_dialogs() -> rx.Component:
    confirm = confirm_dialog(
        "Delete customers",
        ["Delete the ", GridState.selected_count, " selected customers permanently, with their cards and "
         "transactions? This cannot be undone; export first if you may need them. Customers whose card is "
         "installed on a phone are kept."],
        GridState.confirm_delete_open, GridState.cancel_delete, GridState.delete_selected, busy=GridState.deleting,
    )
    report = rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Delete customers: result"),
            rx.text("Deleted ", GridState.deleted_count, " customers.", data_testid="delete-summary"),
            rx.cond(
                GridState.refused.length() > 0,
                rx.vstack(
                    rx.text("Not deleted:", weight="bold"),
                    rx.foreach(
                        GridState.refused,
                        lambda item: rx.text(rx.text.strong(item.name), ": ", item.reason, data_testid="delete-refused"),
                    ),
                    margin_top="8px",
                ),
            ),
            rx.flex(rx.button("Close", on_click=GridState.close_report), justify="end", margin_top="16px"),
            data_testid="delete-report",
        ),
        open=GridState.report_open,
        on_open_change=lambda _: GridState.close_report(),
    )
    return rx.fragment(confirm, report)


def customer_grid() -> rx.Component:
    return rx.box(_toolbar(), _selection_bar(), _table(), _pager(), _bulk_delete_dialogs(), customer_dialog(), import_dialog(),
                  width="100%")
