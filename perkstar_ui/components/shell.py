"""The app shell: left-hand menu and main area.

At desktop widths the menu shows icons and labels; below 1024 px (a portrait tablet)
it collapses to an icon rail so the page never needs a sideways scroll. Every menu
entry keeps its accessible name through ``aria-label`` when only the icon shows.
"""

from __future__ import annotations

import reflex as rx

from perkstar_ui.components.app_ready import app_ready
from perkstar_ui.state.auth import AuthState

NAV_ITEMS = [
    ("customers", "Customers", "users", "/customers"),
    ("counter", "Counter", "scan-line", "/counter"),
    ("segments", "Segments", "layers", "/segments"),
    ("account", "Your sign-in", "shield-check", "/account"),  # two-factor sign-in, every role
]
# Pages the counter role may not open (domain.permissions): their links are absent for it.
MANAGER_NAV_ITEMS = [
    ("campaigns", "Campaigns", "send", "/campaigns"),
    ("cards", "Cards", "credit-card", "/cards"),
    ("settings", "Settings", "settings", "/settings"),
]
ACCESS_DENIED_TEXT = "You don't have access to this page. Ask the account owner if you need it."

# Radix breakpoints: initial, xs 520, sm 768, md 1024. Labels from md up.
WIDE_ONLY = ["none", "none", "none", "inline"]
RAIL_WIDTH = ["56px", "56px", "56px", "210px"]


def _nav_link(key: str, label: str, icon: str, href: str) -> rx.Component:
    return rx.link(
        rx.hstack(
            rx.icon(icon, size=20),
            rx.text(label, display=WIDE_ONLY, size="3"),
            align="center",
            spacing="3",
        ),
        href=href,
        data_testid=f"nav-{key}",
        aria_label=label,
        title=label,
        underline="none",
        color_scheme="gray",
        high_contrast=True,
        style={"padding": "12px", "border_radius": "8px", "min_height": "44px", "display": "flex"},
        _hover={"background": rx.color("gray", 3)},
    )


def sidebar() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.icon("sparkles", size=22, color=rx.color("accent", 9)),
            rx.heading("Perkstar", size="4", display=WIDE_ONLY),
            padding="12px",
            align="center",
        ),
        *[_nav_link(*item) for item in NAV_ITEMS],
        rx.cond(AuthState.manager_tools, rx.fragment(*[_nav_link(*item) for item in MANAGER_NAV_ITEMS])),
        rx.spacer(),
        rx.text(AuthState.merchant_name, size="2", color_scheme="gray", display=WIDE_ONLY, padding_x="12px"),
        rx.button(
            rx.icon("log-out", size=18),
            rx.text("Log out", display=WIDE_ONLY),
            on_click=AuthState.log_out,
            data_testid="logout",
            aria_label="Log out",
            variant="soft",
            color_scheme="gray",
            style={"min_height": "44px", "justify_content": "flex-start"},
            width="100%",
        ),
        as_="nav",
        aria_label="Main menu",
        width=RAIL_WIDTH,
        min_width=RAIL_WIDTH,
        height="100vh",
        position="sticky",
        top="0",
        padding="8px",
        spacing="1",
        border_right=f"1px solid {rx.color('gray', 5)}",
        background=rx.color("gray", 1),
    )


def access_denied() -> rx.Component:
    return rx.box(rx.callout(ACCESS_DENIED_TEXT, icon="lock", color_scheme="amber"), role="alert",
                  data_testid="access-denied")


def shell(*content: rx.Component, title: str) -> rx.Component:
    return rx.hstack(
        app_ready(),
        sidebar(),
        rx.box(
            rx.heading(title, size="6", as_="h1", margin_bottom="16px"),
            # A page's on_load guard (state.guard.requires(page=True)) sets access_denied.
            rx.cond(AuthState.access_denied, access_denied(), rx.fragment(*content)),
            as_="main",
            flex="1",
            min_width="0",  # lets wide children scroll inside, not the page
            padding=["12px", "16px", "16px", "24px"],
        ),
        spacing="0",
        align="start",
        width="100%",
    )
