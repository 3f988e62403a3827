"""``/card/[token]``: the public page of one issued card (no login, phone-sized)."""

import reflex as rx

from perkstar_ui.components.app_ready import app_ready
from perkstar_ui.components.public_card import (
    capture_install_prompt,
    card_face,
    deleted_notice,
    install_block,
    manifest_link,
    messages_block,
    not_found,
    push_block,
    qr_block,
    review_block,
)
from perkstar_ui.state.public_card import PublicCardState as S

ROUTE = "/card/[token]"
# Static head tags of the page; the manifest link depends on the card (see manifest_link).
META = [
    {"name": "theme-color", "content": "#6e56cf"},
    {"name": "mobile-web-app-capable", "content": "yes"},
    {"name": "apple-mobile-web-app-capable", "content": "yes"},
    {"name": "apple-mobile-web-app-title", "content": "Perkstar card"},
    {"name": "robots", "content": "noindex"},
]


def _card() -> rx.Component:
    return rx.cond(
        S.deleted,
        rx.vstack(deleted_notice(), card_face(), width="100%", spacing="4"),
        rx.vstack(card_face(), qr_block(), messages_block(), install_block(), push_block(), review_block(),
                  width="100%", spacing="4"),
    )


def public_card_page() -> rx.Component:
    return rx.box(
        app_ready(),
        capture_install_prompt(),
        manifest_link(),
        rx.el.link(rel="apple-touch-icon", href="/card-icon-192.png"),
        rx.box(
            rx.cond(
                S.loaded,
                rx.cond(S.found, _card(), not_found()),
                rx.center(rx.spinner(size="3"), padding="48px"),
            ),
            as_="main",
            width="100%",
            max_width="420px",
            margin_x="auto",
            padding="16px",
        ),
        min_height="100vh",
        background=rx.color("gray", 2),
    )
