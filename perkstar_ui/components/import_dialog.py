"""Import dialog: template, card template, file, preview with per-row errors, confirm,
progress, summary, and the import history with undo."""

from __future__ import annotations

import reflex as rx

from perkstar_ui.components.controls import TOUCH_HEIGHT as TOUCH
from perkstar_ui.services.importing import BatchView
from perkstar_ui.state.import_export import ErrorRow, ImportState


def _error_row(row: ErrorRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell("Row ", row.line, white_space="nowrap"),
        rx.table.cell(row.reason),
        data_testid="import-error-row",
    )


def _preview() -> rx.Component:
    return rx.box(
        rx.flex(
            rx.badge("To create: ", ImportState.to_create, color_scheme="green", size="2", data_testid="import-count-create"),
            rx.badge("To update: ", ImportState.to_update, color_scheme="blue", size="2", data_testid="import-count-update"),
            rx.badge("Unchanged: ", ImportState.unchanged, color_scheme="gray", size="2", data_testid="import-count-unchanged"),
            rx.badge("Rejected: ", ImportState.rejected, color_scheme="red", size="2", data_testid="import-count-rejected"),
            gap="8px", wrap="wrap",
        ),
        rx.cond(
            ImportState.rejected > 0,
            rx.vstack(
                rx.box(
                    rx.table.root(
                        rx.table.header(rx.table.row(rx.table.column_header_cell("Row"), rx.table.column_header_cell("Problem"))),
                        rx.table.body(rx.foreach(ImportState.error_rows, _error_row)),
                        size="1", width="100%",
                    ),
                    max_height="240px", overflow_y="auto", width="100%",
                ),
                rx.button(rx.icon("download", size=14), "Download rejected rows", variant="soft", size="2",
                          on_click=ImportState.download_errors, data_testid="import-errors-download"),
                width="100%", spacing="2", margin_top="8px",
            ),
        ),
        data_testid="import-preview",
        margin_top="12px",
        width="100%",
    )


def _batch(batch: BatchView) -> rx.Component:
    return rx.table.row(
        rx.table.cell(batch.created_at, white_space="nowrap"),
        rx.table.cell(batch.file_name),
        rx.table.cell(batch.staff),
        rx.table.cell(batch.created.to_string() + " / " + batch.updated.to_string() + " / " + batch.rejected.to_string()),
        rx.table.cell(
            rx.cond(
                batch.status == "applied",
                rx.button("Undo", size="1", variant="soft", color_scheme="orange", on_click=ImportState.undo(batch.id),
                          data_testid="import-undo"),
                rx.text("Undone", size="1", color_scheme="gray"),
            )
        ),
        data_testid="import-batch",
    )


def _history() -> rx.Component:
    return rx.cond(
        ImportState.batches.length() > 0,
        rx.vstack(
            rx.heading("Earlier imports", size="3", as_="h3"),
            rx.cond(ImportState.undo_message != "", rx.callout(ImportState.undo_message, data_testid="import-undo-report", size="1", width="100%")),
            rx.box(
                rx.table.root(
                    rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in
                                                   ["When (UTC)", "File", "By", "Created / updated / rejected", ""]])),
                    rx.table.body(rx.foreach(ImportState.batches, _batch)),
                    size="1", width="100%",
                ),
                overflow_x="auto", width="100%",
            ),
            margin_top="16px", width="100%", spacing="2",
        ),
    )


def import_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Import customers"),
            rx.dialog.description(
                "A CSV file with the template's columns (UTF-8 or Excel's Windows encoding; comma, semicolon or "
                "tab separated; up to 10 MB). Rows matching an existing customer by phone or email only fill "
                "that customer's empty fields.",
                size="2", color_scheme="gray",
            ),
            rx.flex(
                rx.button(rx.icon("file-down", size=16), "Download template", variant="soft", size="3", style=TOUCH,
                          on_click=ImportState.download_template, data_testid="import-template-download"),
                gap="8px", margin_y="12px",
            ),
            rx.vstack(
                rx.el.label("Card template to issue", html_for="import-template", class_name="rt-r-size-2"),
                rx.el.select(
                    rx.el.option("None: import customers only", value=""),
                    rx.foreach(ImportState.templates, lambda t: rx.el.option(t.name, value=t.id)),
                    id="import-template", value=ImportState.template_id, on_change=ImportState.set_template,
                    disabled=ImportState.applying, style={"min_height": "40px", "width": "100%"},
                ),
                rx.el.label("CSV file", html_for="import-file", class_name="rt-r-size-2"),
                rx.el.input(type="file", id="import-file", data_testid="import-file", accept=".csv,text/csv",
                            on_change=ImportState.file_chosen, disabled=ImportState.applying),
                spacing="1", width="100%",
            ),
            rx.cond(ImportState.form_error != "",
                    rx.callout(ImportState.form_error, icon="triangle-alert", color_scheme="red", role="alert",
                               data_testid="form-error", margin_top="12px")),
            rx.cond(ImportState.previewing, rx.flex(rx.spinner(), rx.text("Checking the file…"), gap="8px", margin_top="12px")),
            rx.cond(ImportState.has_preview, _preview()),
            rx.cond(ImportState.applying,
                    rx.vstack(rx.text("Importing… ", ImportState.progress, "%"), rx.progress(value=ImportState.progress, width="100%"),
                              data_testid="import-progress", margin_top="12px", width="100%")),
            rx.cond(ImportState.summary != "",
                    rx.callout(ImportState.summary, icon="circle-check", color_scheme="green", data_testid="import-summary",
                               role="status", margin_top="12px")),
            rx.flex(
                rx.dialog.close(rx.button("Close", variant="soft", color_scheme="gray", size="3", style=TOUCH)),
                rx.button("Import", size="3", style=TOUCH, data_testid="import-confirm", on_click=ImportState.confirm,
                          disabled=~ImportState.can_confirm, loading=ImportState.applying),
                gap="3", justify="end", margin_top="16px",
            ),
            _history(),
            max_width="720px",
        ),
        open=ImportState.open,
        on_open_change=ImportState.set_open,
    )
