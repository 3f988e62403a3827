"""Two-factor sign-in on ``/account``: status, set-up with a QR code, recovery codes shown
once, turning it off, and (owners) requiring it for managers. Ids in docs/testing.md."""

import reflex as rx

from perkstar_ui.state.auth import AuthState
from perkstar_ui.state.two_factor import TwoFactorState


def _field(label: str, field_id: str, name: str, **props) -> rx.Component:  # noqa: ANN003
    return rx.vstack(
        rx.el.label(label, html_for=field_id, style={"font_weight": "500"}),
        rx.input(id=field_id, name=name, required=True, size="3", **props),
        spacing="1",
    )


def _code_form(label: str, name: str, button: str, testid: str, handler, password_id: str = "") -> rx.Component:  # noqa: ANN001
    """A code field (and with ``password_id`` the current password first) and its button."""
    password = [_field("Current password", password_id, "password", type="password",
                       auto_complete="current-password", max_length=200)] if password_id else []
    return rx.form(
        rx.hstack(
            *password,
            _field(label, name, "code", auto_complete="one-time-code", input_mode="numeric", max_length=32),
            rx.button(button, type="submit", size="3", data_testid=testid),
            align="end",
            wrap="wrap",
        ),
        on_submit=handler,
        reset_on_submit=True,
    )


def _setup() -> rx.Component:
    return rx.vstack(
        rx.text("Scan this code with an authenticator app, then type the 6-digit code it shows."),
        rx.image(src=TwoFactorState.qr_data_uri, alt="QR code for your authenticator app", width="200px",
                 data_testid="two-factor-qr"),
        rx.text("Or type this key: ", rx.code(TwoFactorState.secret, data_testid="two-factor-secret")),
        _code_form("Code from your app", "two-factor-code", "Turn on", "two-factor-confirm", TwoFactorState.confirm),
        spacing="3",
    )


def _recovery_codes() -> rx.Component:
    return rx.callout.root(
        rx.callout.text("Recovery codes: each signs you in once without your phone. Keep them somewhere safe; "
                        "they are not shown again."),
        rx.el.ul(rx.foreach(TwoFactorState.recovery_codes,
                            lambda code: rx.el.li(rx.code(code), data_testid="two-factor-recovery-code"))),
        rx.button("I have saved them", variant="soft", on_click=TwoFactorState.hide_recovery_codes),
        color_scheme="amber",
    )


def two_factor_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Two-factor sign-in", size="4", as_="h2"),
            rx.text(
                "Status: ",
                rx.text.strong(rx.cond(TwoFactorState.enabled, "On", "Off"), data_testid="two-factor-status"),
                rx.cond(TwoFactorState.enabled,
                        rx.text.span(" (", TwoFactorState.recovery_left.to_string(), " recovery codes left)")),
            ),
            rx.cond(TwoFactorState.recovery_codes.length() > 0, _recovery_codes()),
            rx.cond(
                TwoFactorState.enabled,
                rx.vstack(
                    _code_form("Code to turn it off", "two-factor-off-code", "Turn off", "two-factor-disable",
                               TwoFactorState.turn_off, password_id="two-factor-off-password"),
                    _code_form("Code for new recovery codes", "two-factor-renew-code", "New recovery codes",
                               "two-factor-regenerate", TwoFactorState.new_recovery_codes),
                    spacing="4",
                ),
                rx.cond(TwoFactorState.setting_up, _setup(),
                        rx.button("Set up two-factor sign-in", on_click=TwoFactorState.start,
                                  data_testid="two-factor-start")),
            ),
            rx.cond(
                AuthState.owner_tools,
                rx.hstack(
                    rx.switch(checked=TwoFactorState.require_for_managers,
                              on_change=TwoFactorState.set_require_for_managers, id="two-factor-require",
                              data_testid="two-factor-require-managers"),
                    rx.el.label("Require two-factor sign-in for managers", html_for="two-factor-require"),
                    align="center",
                ),
            ),
            rx.cond(TwoFactorState.error != "",
                    rx.callout(TwoFactorState.error, icon="triangle-alert", color_scheme="red", role="alert",
                               data_testid="two-factor-error")),
            spacing="4",
        ),
        max_width="640px",
    )
