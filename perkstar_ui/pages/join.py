"""``/join/[code]`` and ``/r/[code]``: public sign-up (no login, phone-sized); then the new
card's page."""

import reflex as rx

from perkstar_ui.components.app_ready import app_ready
from perkstar_ui.components.join import invalid_link, join_card
from perkstar_ui.state.join import JoinState as S

ROUTE = "/join/[code]"
REFERRAL_ROUTE = "/r/[code]"


def _page(page: str) -> rx.Component:
    return rx.box(
        app_ready(),
        rx.box(
            rx.cond(
                S.loaded,
                rx.cond(S.found, join_card(page), invalid_link()),
                rx.center(rx.spinner(size="3"), padding="48px"),
            ),
            as_="main", width="100%", max_width="420px", margin_x="auto", padding="16px",
        ),
        min_height="100vh",
        background=rx.color("gray", 2),
    )


def join_page() -> rx.Component:
    return _page("join")


def referral_page() -> rx.Component:
    return _page("referral")
