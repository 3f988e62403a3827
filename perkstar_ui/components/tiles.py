"""Dashboard tiles: the value element holds the plain number, the label sits beside it."""

import reflex as rx

from perkstar_ui.state.tiles import TilesState


def tile(key: str, label: str, icon: str, value: rx.Var) -> rx.Component:
    return rx.card(
        rx.hstack(
            rx.icon(icon, size=22, color=rx.color("accent", 9)),
            rx.vstack(
                rx.text(label, size="2", color_scheme="gray"),
                rx.text(value, data_testid="tile-value", size="6", weight="bold"),
                spacing="1",
            ),
            align="center",
            spacing="3",
        ),
        data_testid=f"tile-{key}",
    )


def dashboard_tiles() -> rx.Component:
    return rx.grid(
        tile("total-customers", "Total customers", "users", TilesState.total_customers),
        tile("card-transactions", "Card transactions", "arrow-left-right", TilesState.card_transactions),
        tile("reviews", "Reviews", "message-square", TilesState.reviews),
        tile("feedback-rating", "Feedback rating", "star", TilesState.feedback_rating),
        columns=rx.breakpoints(initial="1", xs="2", md="4"),
        spacing="3",
        width="100%",
    )
