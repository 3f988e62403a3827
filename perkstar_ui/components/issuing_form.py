"""The template edit dialog's "Issuing form" section (customers.md §12, spec Q25): for each
standard and custom field, whether the public join page asks it (Not asked / Optional /
Required) and, for the phone and email, whether it must be unique. Submitted with the
template form (``issuing_key`` / ``issuing_mode`` rows, ``issuing_unique:<key>``); read-only
once a card was issued through the join page (``domain.template_rules.FORM_KEY``)."""

from __future__ import annotations

import reflex as rx

from perkstar_ui.components.controls import NATIVE_CONTROL
from perkstar_ui.domain.template_form import ISSUING_MODES
from perkstar_ui.state.join_links import IssuingFormState as F, IssuingRowView


def _mode(row: IssuingRowView) -> rx.Component:
    return rx.cond(
        row.fixed,
        rx.fragment(rx.el.input(type="hidden", name="issuing_mode", value="required"),
                    rx.text("Required", size="2", color_scheme="gray")),
        rx.el.select(
            *[rx.el.option(label, value=value) for value, label in ISSUING_MODES.items()],
            name="issuing_mode", id="issuing-mode-" + row.key, default_value=row.mode,
            aria_label=row.label + " on the join form", style=NATIVE_CONTROL,
            key=F.version.to_string() + row.key,
        ),
    )


def _row(row: IssuingRowView) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.el.input(type="hidden", name="issuing_key", value=row.key), row.label),
        rx.table.cell(_mode(row)),
        rx.table.cell(rx.cond(
            row.can_be_unique,
            rx.el.input(type="checkbox", name="issuing_unique:" + row.key, default_checked=row.unique,
                        aria_label=row.label + " unique", key=F.version.to_string() + "u" + row.key,
                        style={"width": "20px", "height": "20px"}),
        )),
        data_testid="issuing-row",
        data_key=row.key,
    )


def _read_only(row: IssuingRowView) -> rx.Component:
    return rx.cond(row.mode != "off", rx.text(row.label, ": ", rx.match(row.mode, *ISSUING_MODES.items(), row.mode),
                                              rx.cond(row.unique, " (unique)", ""), size="2"))


def issuing_section(template_id: rx.Var, locked: rx.Var) -> rx.Component:
    return rx.vstack(
        rx.heading("Issuing form", size="3", as_="h3"),
        rx.text("What the public join page asks (its link and poster are on the card list). A phone or an email "
                "must be asked; unique ones identify the customer.", size="2", color_scheme="gray"),
        rx.cond(
            locked,
            rx.vstack(rx.foreach(F.rows, _read_only), spacing="1"),
            rx.fragment(
                rx.el.input(type="hidden", name="issuing_shown", value="1"),
                rx.table.root(
                    rx.table.header(rx.table.row(rx.table.column_header_cell("Field"),
                                                 rx.table.column_header_cell("On the join page"),
                                                 rx.table.column_header_cell("Unique"))),
                    rx.table.body(rx.foreach(F.rows, _row)),
                    size="1", width="100%", data_testid="issuing-form",
                ),
            ),
        ),
        on_mount=F.load(template_id),
        spacing="2",
        width="100%",
    )
