"""Settings → Sign-ups: the public join and referral pages' limits and bonus verification."""

from __future__ import annotations

import reflex as rx

from perkstar_ui.components.controls import TOUCH_HEIGHT, labelled
from perkstar_ui.state.signup_settings import SignupSettingsState as S


def _limit(label: str, name: str, value: rx.Var) -> rx.Component:
    control_id = f"signup-{name}".replace("_", "-")
    return labelled(label, control_id, rx.input(id=control_id, name=name, default_value=value, input_mode="numeric",
                                                size="3", width="120px", style=TOUCH_HEIGHT,
                                                key=S.form_version.to_string() + name))


def signup_settings_card() -> rx.Component:
    return rx.card(
        rx.heading("Sign-ups", size="4", as_="h2", margin_bottom="4px"),
        rx.text("Limits for the public join and referral pages, and whether a welcome or referral bonus waits "
                "until the new customer confirms a code sent to their phone or email.", color_scheme="gray", size="2"),
        rx.cond(S.form_error != "", rx.callout(S.form_error, icon="triangle-alert", color_scheme="red",
                                               data_testid="form-error", role="alert", margin_y="8px")),
        rx.form(
            rx.flex(
                _limit("Sign-ups per address an hour", "per_ip_hour", S.per_ip_hour),
                _limit("Sign-ups per referral link a day", "per_code_day", S.per_code_day),
                _limit("Sign-ups per card a day", "per_template_day", S.per_template_day),
                rx.el.label(
                    rx.el.input(type="checkbox", id="signup-verify", name="verify_contact_for_bonus",
                                default_checked=S.verify_contact_for_bonus, key=S.form_version.to_string() + "v",
                                style={"width": "20px", "height": "20px"}),
                    "Verify contact for bonus",
                    html_for="signup-verify", class_name="rt-r-size-2",
                    style={"display": "flex", "align_items": "center", "gap": "8px", "min_height": "44px"},
                ),
                rx.button("Save", type="submit", size="3", min_height="44px", loading=S.saving,
                          data_testid="signup-settings-save"),
                gap="16px", align="end", wrap="wrap", margin_top="8px",
            ),
            on_submit=S.save,
            reset_on_submit=False,
        ),
        on_mount=S.load,
        width="100%",
    )
