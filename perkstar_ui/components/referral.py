"""The referral sign-up form for phones (labels and ids per the contract)."""

from __future__ import annotations

import reflex as rx

from perkstar_ui.components.controls import TOUCH_HEIGHT as TOUCH
from perkstar_ui.state.referral import ReferralState as S


def _field(label: str, name: str, kind: str = "text", autocomplete: str = "off") -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=f"referral-{name}", class_name="rt-r-size-2", style={"font_weight": "500"}),
        rx.input(id=f"referral-{name}", name=name, type=kind, auto_complete=autocomplete, size="3", width="100%",
                 style=TOUCH),
        spacing="1",
        width="100%",
    )


def invitation() -> rx.Component:
    return rx.vstack(
        rx.text(S.business, size="2", color_scheme="gray", data_testid="referral-business"),
        rx.heading(S.referrer, " invites you to ", S.card_name, size="6", as_="h1"),
        rx.text("Join and get your ", S.type_label.lower(), " card on your phone.", size="3"),
        spacing="2",
        width="100%",
    )


def sign_up_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            _field("First name", "first_name", autocomplete="given-name"),
            _field("Last name", "last_name", autocomplete="family-name"),
            _field("Phone", "phone", kind="tel", autocomplete="tel"),
            _field("Email", "email", kind="email", autocomplete="email"),
            rx.cond(S.form_error != "",
                    rx.callout(S.form_error, icon="triangle-alert", color_scheme="red", data_testid="form-error",
                               role="alert", width="100%")),
            rx.button("Get my card", type="submit", size="3", width="100%", style=TOUCH, loading=S.busy,
                      data_testid="referral-submit"),
            spacing="3",
            width="100%",
        ),
        on_submit=S.submit,
        no_validate=True,  # the server's messages, the same in every browser
        width="100%",
    )


def invalid_link() -> rx.Component:
    return rx.callout("This referral link is not valid any more.", icon="link-2-off", color_scheme="gray", size="3",
                      data_testid="not-found", width="100%")
