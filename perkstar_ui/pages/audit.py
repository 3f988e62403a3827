"""``/settings/audit``: `audit-row` elements (attributes `data-action`, `data-actor`), newest
first; filters by actor (`audit-actor`), action (`audit-action`) and date (`audit-from`,
`audit-to`), button `audit-filter`; paging `audit-prev` / `audit-next`; `audit-csv` downloads
the filtered trail through `/api/audit.csv`."""

from __future__ import annotations

import reflex as rx

from perkstar_ui.components.shell import shell
from perkstar_ui.state.audit_log import ACTION_CHOICES, ANY, AuditLogState, AuditRowView


def _select(label: str, name: str, test_id: str, options: rx.Var | list[str], value: rx.Var) -> rx.Component:
    choices = (rx.foreach(options, lambda o: rx.el.option(o, value=o)) if isinstance(options, rx.Var)
               else [rx.el.option(o, value=o) for o in options])
    return rx.vstack(
        rx.el.label(label, html_for=f"audit-{name}", class_name="rt-r-size-2"),
        rx.el.select(rx.el.option("Any", value=ANY), *(choices if isinstance(choices, list) else [choices]),
                     id=f"audit-{name}", name=name, default_value=value, data_testid=test_id,
                     style={"min_height": "40px", "min_width": "12em"}),
        spacing="1",
    )


def _day(label: str, name: str, test_id: str, value: rx.Var) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=f"audit-{name}", class_name="rt-r-size-2"),
        rx.input(id=f"audit-{name}", name=name, type="date", default_value=value, data_testid=test_id, size="3"),
        spacing="1",
    )


def _filters() -> rx.Component:
    return rx.form(
        rx.flex(
            _select("Actor", "actor", "audit-actor", AuditLogState.actors, AuditLogState.actor),
            _select("Action", "action", "audit-action", ACTION_CHOICES, AuditLogState.action),
            _day("From", "date_from", "audit-from", AuditLogState.date_from),
            _day("To", "date_to", "audit-to", AuditLogState.date_to),
            rx.button("Filter", type="submit", size="3", data_testid="audit-filter"),
            rx.link(rx.button(rx.icon("download", size=16), "CSV", variant="soft", size="3", type="button"),
                    href=AuditLogState.csv_url, data_testid="audit-csv", is_external=False),
            gap="12px", align="end", wrap="wrap",
        ),
        on_submit=AuditLogState.apply_filters,
        reset_on_submit=False,
    )


def _row(row: AuditRowView) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row.when, white_space="nowrap"),
        rx.table.cell(rx.code(row.action)),
        rx.table.cell(row.actor),
        rx.table.cell(row.ip),
        rx.table.cell(row.detail),
        data_testid="audit-row",
        data_action=row.action,
        data_actor=row.actor,
    )


def _pager() -> rx.Component:
    return rx.hstack(
        rx.button("Previous", variant="soft", disabled=AuditLogState.page <= 1, data_testid="audit-prev",
                  on_click=AuditLogState.go_to_page(AuditLogState.page - 1)),
        rx.text("Page ", AuditLogState.page, " of ", AuditLogState.pages, " · ", AuditLogState.total, " entries",
                size="2"),
        rx.button("Next", variant="soft", disabled=AuditLogState.page >= AuditLogState.pages, data_testid="audit-next",
                  on_click=AuditLogState.go_to_page(AuditLogState.page + 1)),
        align="center",
    )


def audit_page() -> rx.Component:
    return shell(
        rx.card(
            rx.heading("Audit trail", size="4", as_="h2", margin_bottom="4px"),
            rx.text("Who did what and when: sign-ins, exports, imports, deletions, card actions and changes "
                    "to templates, settings and staff.", color_scheme="gray", size="2"),
            rx.box(_filters(), margin_y="12px"),
            rx.box(
                rx.table.root(
                    rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in
                                                   ["When", "Action", "Who", "IP", "Detail"]])),
                    rx.table.body(rx.foreach(AuditLogState.rows, _row)),
                    width="100%",
                ),
                overflow_x="auto",
            ),
            _pager(),
            width="100%",
        ),
        title="Audit trail",
    )
