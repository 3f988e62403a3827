"""Customer profile: contact block, card switcher, the card's common fields, links, history."""

from __future__ import annotations

import reflex as rx

from perkstar_ui.components.card_panels import card_panel as shared_card_panel
from perkstar_ui.components.confirm import confirm_dialog
from perkstar_ui.components.values import labelled_value
from perkstar_ui.domain.rfm import NO_SEGMENT_LABEL
from perkstar_ui.state.auth import AuthState
from perkstar_ui.state.card_panels import CardPanelState
from perkstar_ui.state.profile import CardView, CustomValue, HistoryView, ProfileState
from perkstar_ui.state.customer_form import CustomerFormState

TOUCH = {"min_height": "44px"}


def _custom_value(item: CustomValue) -> rx.Component:
    return labelled_value(item.label, item.value, "profile-cf-" + item.key)


def contact_block() -> rx.Component:
    return rx.card(
        rx.flex(
            rx.heading(ProfileState.name, size="6", as_="h2", data_testid="profile-name"),
            rx.spacer(),
            rx.button(rx.icon("pencil", size=16), "Edit", variant="soft", size="3", style=TOUCH,
                      data_testid="edit-customer", on_click=CustomerFormState.open_edit(ProfileState.customer_id)),
            rx.cond(AuthState.manager_tools,  # deleting is absent for the counter role
                    rx.button(rx.icon("trash-2", size=16), "Delete customer", variant="soft", color_scheme="red", size="3",
                              style=TOUCH, data_testid="delete-customer", on_click=ProfileState.set_delete_customer_open(True))),
            gap="8px", align="center", wrap="wrap",
        ),
        rx.flex(
            labelled_value("Phone", ProfileState.phone, "profile-phone"),
            labelled_value("Email", ProfileState.email, "profile-email"),
            labelled_value("Date of birth", ProfileState.birthdate, "profile-birthdate"),
            labelled_value("Customer since", ProfileState.created, "profile-created"),
            labelled_value("SMS consent", rx.cond(ProfileState.sms_consent, "yes", "no"), "profile-sms-consent"),
            labelled_value("Email consent", rx.cond(ProfileState.email_consent, "yes", "no"), "profile-email-consent"),
            rx.foreach(ProfileState.custom, _custom_value),
            gap="16px", wrap="wrap", margin_top="12px",
        ),
        width="100%",
    )


def card_tab(card: CardView) -> rx.Component:
    selected = ProfileState.selected_card_id == card.id
    return rx.button(
        card.type_label, rx.text(card.serial, size="1", color_scheme="gray"),
        variant=rx.cond(selected, "solid", "soft"),
        aria_pressed=rx.cond(selected, "true", "false"),
        on_click=ProfileState.select_card(card.id),
        data_testid="card-tab",
        data_serial=card.serial,
        size="3",
        style=TOUCH,
    )


def _link_row(label: str, path: rx.Var, key: str) -> rx.Component:
    url = ProfileState.origin + path
    return rx.flex(
        rx.text(label, size="2", color_scheme="gray", min_width="110px"),
        rx.code(url, data_testid=f"{key}-link", style={"word_break": "break-all"}),
        rx.icon_button(rx.icon("copy", size=16), variant="soft", aria_label=f"Copy {label.lower()}",
                       data_testid=f"copy-{key}-link", size="3",
                       on_click=[rx.set_clipboard(url), rx.toast.success("Link copied.")]),
        gap="8px", align="center", wrap="wrap",
    )


def _card_details(card: CardView) -> rx.Component:
    return rx.fragment(
        labelled_value("Installed on device", card.device, "card-device"),
        labelled_value("Card issue date", card.issued, "card-issued"),
        labelled_value("Segments", ProfileState.rfm_segment, "card-rfm-segment", empty=NO_SEGMENT_LABEL,
                       empty_hint="No RFM segment"),
        labelled_value("Feedback rating", card.rating, "card-rating"),
        labelled_value("UTM", card.utm, "card-utm"),
    )


def _card_links(card: CardView) -> rx.Component:
    return rx.vstack(
        _link_row("Installation link", card.install_path, "install"),
        _link_row("Referral link", card.referral_path, "referral"),
        spacing="2",
    )


def _selected(render) -> rx.Component:  # noqa: ANN001
    """``render(card)`` for the selected card only."""
    return rx.foreach(ProfileState.cards,
                      lambda card: rx.cond(card.id == ProfileState.selected_card_id, render(card), rx.fragment()))


def card_panel() -> rx.Component:
    """The shared card panel with what the profile adds: delete, device, dates, links."""
    return shared_card_panel(
        header=[rx.cond(AuthState.manager_tools,
                        rx.button(rx.icon("trash-2", size=16), "Delete card", variant="soft", color_scheme="red",
                                  size="3", style=TOUCH, data_testid="card-action-delete-card",
                                  disabled=CardPanelState.status == "Deleted",
                                  on_click=ProfileState.set_delete_card_open(True)))],
        details=[_selected(_card_details)],
        footer=[_selected(_card_links)],
    )


def _history_row(row: HistoryView) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row.at, white_space="nowrap"),
        rx.table.cell(row.action),
        rx.table.cell(row.amount, data_testid="transaction-amount"),
        rx.table.cell(row.purchase),
        rx.table.cell(row.balance_after),
        rx.table.cell(row.source),
        rx.table.cell(row.staff),
        rx.table.cell(row.comment),
        rx.table.cell(rx.cond(
            row.correctable,
            rx.button("Correct", size="2", variant="soft", color_scheme="orange", data_testid="transaction-correct",
                      aria_label="Correct this transaction", on_click=ProfileState.open_correction(row.id), style=TOUCH),
        )),
        data_testid="transaction-row",
        data_kind=row.kind,
        data_amount=row.amount,
    )


def history_block() -> rx.Component:
    return rx.card(
        rx.flex(
            rx.heading("Transaction history", size="4", as_="h2"),
            rx.spacer(),
            # A real download, not a SPA link: React Router would swallow an <a href>. An export:
            # absent for staff (the counter role), whom the handler and the route refuse anyway.
            rx.cond(AuthState.manager_tools,
                    rx.button(rx.icon("download", size=16), "Download CSV", variant="soft", size="3", style=TOUCH,
                              data_testid="download-history", on_click=ProfileState.download_history,
                              disabled=ProfileState.selected_card_id == 0)),
            align="center", gap="8px",
        ),
        rx.box(
            rx.table.root(
                rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in
                    ["Date-time (UTC)", "Action", "Value change", "Purchase amount", "Balance after", "Source", "Staff user", "Comment", ""]])),
                rx.table.body(rx.foreach(ProfileState.history, _history_row)),
                data_testid="transaction-history",
                size="1",
                width="100%",
            ),
            overflow_x="auto",
            width="100%",
            margin_top="8px",
        ),
        rx.flex(
            rx.text(ProfileState.history_info, size="2", data_testid="history-page-info"),
            rx.spacer(),
            rx.button("Newer", variant="soft", on_click=ProfileState.history_prev, disabled=ProfileState.history_page <= 1, style=TOUCH),
            rx.button("Older", variant="soft", on_click=ProfileState.history_next, disabled=~ProfileState.history_has_next, style=TOUCH),
            gap="8px", align="center", margin_top="8px",
        ),
        width="100%",
    )


def correction_dialog() -> rx.Component:
    """Spec Q29: the opposite of the row's action, pre-filled; the original row stays."""
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Correct a transaction"),
            rx.dialog.description("A reversing entry is written; the original stays in the history."),
            rx.vstack(
                rx.text("Action: ", ProfileState.correct_action, size="3", margin_top="8px"),
                rx.vstack(
                    rx.el.label("Value", html_for="correct-value", class_name="rt-r-size-2"),
                    rx.input(id="correct-value", value=ProfileState.correct_amount, read_only=True, size="3", width="100%"),
                    spacing="1", width="100%",
                ),
                rx.vstack(
                    rx.el.label("Purchase amount", html_for="correct-purchase", class_name="rt-r-size-2"),
                    rx.input(id="correct-purchase", value=ProfileState.correct_purchase, read_only=True, size="3", width="100%"),
                    spacing="1", width="100%",
                ),
                rx.vstack(
                    rx.el.label("Comment", html_for="correct-comment", class_name="rt-r-size-2"),
                    rx.input(id="correct-comment", value=ProfileState.correct_comment,
                             on_change=ProfileState.set_correct_comment, size="3", width="100%"),
                    spacing="1", width="100%",
                ),
                rx.cond(ProfileState.correct_error != "",
                        rx.callout(ProfileState.correct_error, icon="triangle-alert", color_scheme="red",
                                   data_testid="form-error", role="alert", width="100%")),
                rx.flex(
                    rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray", size="3", style=TOUCH)),
                    rx.button("Apply", size="3", style=TOUCH, data_testid="action-apply", on_click=ProfileState.apply_correction),
                    gap="3", justify="end", width="100%",
                ),
                spacing="3", width="100%",
            ),
            max_width="440px",
        ),
        open=ProfileState.correct_open,
        on_open_change=ProfileState.set_correct_open,
    )


def delete_dialogs() -> rx.Component:
    customer = confirm_dialog(
        "Delete customer",
        ["Delete ", ProfileState.name, " permanently, with all cards and transactions? This cannot be undone."],
        ProfileState.delete_customer_open, ProfileState.set_delete_customer_open(False), ProfileState.delete_customer,
        error=rx.cond(ProfileState.form_error != "",
                      rx.callout(ProfileState.form_error, icon="triangle-alert", color_scheme="orange",
                                 data_testid="form-error", role="alert", margin_top="12px")),
    )
    card = confirm_dialog(
        "Delete card",
        ["The card stops working on the customer's phone and stays on the profile as Deleted. "
         "The pass itself is not removed from the phone."],
        ProfileState.delete_card_open, ProfileState.set_delete_card_open(False), ProfileState.delete_card,
        confirm_label="Delete card",
    )
    return rx.fragment(customer, card)
