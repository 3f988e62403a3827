"""``/customers/[customer_id]``: one customer's profile, or a not-found page."""

import reflex as rx

from perkstar_ui.components.customer_form import customer_dialog
from perkstar_ui.components.profile import (
    card_panel,
    card_tab,
    contact_block,
    correction_dialog,
    delete_dialogs,
    history_block,
)
from perkstar_ui.components.shell import shell
from perkstar_ui.state.profile import ProfileState


def _not_found() -> rx.Component:
    return rx.callout(
        "Customer not found. It may have been deleted, or the link belongs to another account.",
        icon="search-x", color_scheme="gray", data_testid="not-found", size="3",
    )


def _cards() -> rx.Component:
    return rx.cond(
        ProfileState.cards.length() > 0,
        rx.vstack(
            rx.flex(rx.foreach(ProfileState.cards, card_tab), gap="8px", wrap="wrap", role="group",
                    aria_label="Cards"),
            # Only the selected card's panel is in the page.
            rx.cond(ProfileState.selected_card_id != 0, card_panel()),
            history_block(),
            width="100%",
            spacing="3",
        ),
        rx.text("No cards issued yet.", color_scheme="gray"),
    )


def profile_page() -> rx.Component:
    content = rx.cond(
        ProfileState.loaded,
        rx.cond(
            ProfileState.found,
            rx.vstack(contact_block(), _cards(), delete_dialogs(), correction_dialog(), customer_dialog(), spacing="4", width="100%"),
            _not_found(),
        ),
        rx.spinner(size="3"),
    )
    return shell(
        rx.link(rx.hstack(rx.icon("arrow-left", size=16), "Customers", align="center"), href="/customers", margin_bottom="12px"),
        content,
        title="Customer profile",
    )
