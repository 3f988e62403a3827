"""``/r/[code]``: public referral sign-up (no login, phone-sized); then the new card's page."""

import reflex as rx

from perkstar_ui.components.app_ready import app_ready
from perkstar_ui.components.referral import invalid_link, invitation, sign_up_form
from perkstar_ui.state.referral import ReferralState as S

ROUTE = "/r/[code]"


def referral_page() -> rx.Component:
    return rx.box(
        app_ready(),
        rx.box(
            rx.cond(
                S.loaded,
                rx.cond(S.found, rx.card(rx.vstack(invitation(), sign_up_form(), spacing="4", width="100%"),
                                         width="100%"), invalid_link()),
                rx.center(rx.spinner(size="3"), padding="48px"),
            ),
            as_="main", width="100%", max_width="420px", margin_x="auto", padding="16px",
        ),
        min_height="100vh",
        background=rx.color("gray", 2),
    )
