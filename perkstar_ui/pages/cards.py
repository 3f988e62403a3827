"""``/cards``: the merchant's card templates of the eight types."""

import reflex as rx

from perkstar_ui.components.card_templates import create_dialog, edit_dialog, template_list
from perkstar_ui.components.shell import shell
from perkstar_ui.state.card_templates import CardTemplatesState


def cards_page() -> rx.Component:
    return shell(
        rx.card(
            rx.flex(
                rx.vstack(
                    rx.heading("Card templates", size="4", as_="h2"),
                    rx.text("Each issued card follows its template. Once a template has cards, its card type, "
                            "expiration and (on stamp cards) the stamp rules are locked.",
                            color_scheme="gray", size="2"),
                    spacing="1",
                ),
                rx.button(rx.icon("plus", size=16), "New template", size="3", on_click=CardTemplatesState.open_create,
                          data_testid="template-create"),
                justify="between", align="start", gap="12px", wrap="wrap", margin_bottom="12px",
            ),
            template_list(),
            width="100%",
        ),
        create_dialog(),
        edit_dialog(),
        title="Cards",
    )
