"""``/login``: labels Email and Password, button Log in, errors in ``form-error``."""

import reflex as rx

from perkstar_ui.components.app_ready import app_ready
from perkstar_ui.state.login import LoginState


def _field(label: str, name: str, kind: str, autocomplete: str, **props) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=name, style={"font_weight": "500"}),
        rx.input(id=name, name=name, type=kind, auto_complete=autocomplete, required=True, size="3", width="100%",
                 **props),
        spacing="1",
        width="100%",
    )


def login_page() -> rx.Component:
    return rx.center(
        app_ready(),
        rx.card(
            rx.form(
                rx.vstack(
                    rx.heading("Log in to Perkstar", size="6", as_="h1"),
                    _field("Email", "email", "email", "username"),
                    _field("Password", "password", "password", "current-password"),
                    rx.cond(
                        LoginState.needs_code,
                        _field("Authentication code", "code", "text", "one-time-code", input_mode="numeric",
                               auto_focus=True, max_length=32),
                    ),
                    rx.cond(
                        LoginState.form_error != "",
                        rx.callout(LoginState.form_error, icon="triangle-alert", color_scheme="red", role="alert", data_testid="form-error", width="100%"),
                    ),
                    rx.button("Log in", type="submit", size="3", width="100%", loading=LoginState.busy),
                    spacing="4",
                ),
                on_submit=LoginState.log_in,
            ),
            width="100%",
            max_width="400px",
            padding="24px",
        ),
        min_height="100vh",
        padding="16px",
    )
