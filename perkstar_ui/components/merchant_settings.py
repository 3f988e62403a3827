"""Settings → Business: `Business name`, `Country`, `Timezone` (a select of IANA zones),
`Currency`, `Date format`, `Consent collected at sign-up`, button `settings-save`, `form-error`."""

from __future__ import annotations

import reflex as rx

from perkstar_ui.domain.account_formats import CURRENCY_CHOICES, DATE_FORMAT_CHOICES
from perkstar_ui.services.merchant_settings import country_choices, timezone_choices
from perkstar_ui.state.merchant_settings import MerchantSettingsState


def _timezone_select() -> rx.Component:
    return rx.vstack(
        rx.el.label("Timezone", html_for="settings-timezone", class_name="rt-r-size-2", style={"font_weight": "500"}),
        rx.el.select(
            *[rx.el.option(name, value=name) for name in timezone_choices()],
            id="settings-timezone", name="timezone", default_value=MerchantSettingsState.timezone,
            key=f"timezone-{MerchantSettingsState.form_version}",
            style={"min_height": "44px", "min_width": "16em"},
        ),
        rx.text("Scheduled campaigns are sent at this local time.", size="1", color_scheme="gray"),
        spacing="1",
    )


def _labelled_select(label: str, name: str, options: list[tuple[str, str]], value: rx.Var, hint: str) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=f"settings-{name}", class_name="rt-r-size-2", style={"font_weight": "500"}),
        rx.el.select(
            *[rx.el.option(text, value=code) for code, text in options],
            id=f"settings-{name}", name=name, default_value=value,
            key=f"{name}-{MerchantSettingsState.form_version}", style={"min_height": "44px", "min_width": "10em"},
        ),
        rx.text(hint, size="1", color_scheme="gray", max_width="20em"),
        spacing="1",
    )


def _business_name() -> rx.Component:
    return rx.vstack(
        rx.el.label("Business name", html_for="settings-business-name", class_name="rt-r-size-2",
                    style={"font_weight": "500"}),
        rx.input(id="settings-business-name", name="business_name", default_value=MerchantSettingsState.business_name,
                 key=f"name-{MerchantSettingsState.form_version}", size="3", width="18em", required=True),
        spacing="1",
    )


def _account_fields() -> list[rx.Component]:
    return [
        _business_name(),
        _labelled_select("Country", "country", list(country_choices()), MerchantSettingsState.country,
                         "Phone numbers typed without “+” are read as this country's."),
        _labelled_select("Currency", "currency", [(c, c) for c in CURRENCY_CHOICES], MerchantSettingsState.currency,
                         "ISO 4217; amounts are shown with its decimal places."),
        _labelled_select("Date format", "date_format", [(f, f) for f in DATE_FORMAT_CHOICES],
                         MerchantSettingsState.date_format, "How dates are shown to you."),
    ]


def _consent_checkbox() -> rx.Component:
    return rx.vstack(
        rx.el.label(
            rx.el.input(type="checkbox", id="settings-consent-at-signup", name="consent_at_signup",
                        default_checked=MerchantSettingsState.consent_at_signup,
                        key=f"consent-{MerchantSettingsState.form_version}", style={"width": "20px", "height": "20px"}),
            "Consent collected at sign-up",
            html_for="settings-consent-at-signup",
            class_name="rt-r-size-2",
            style={"display": "flex", "align_items": "center", "gap": "8px", "min_height": "44px", "font_weight": "500"},
        ),
        rx.text("On: new customers keep the SMS and email consent ticked when they are added. Off: they start "
                "without consent; record it later by editing the customer.", size="1", color_scheme="gray",
                max_width="32em"),
        spacing="1",
    )


def merchant_settings_card() -> rx.Component:
    return rx.card(
        rx.heading("Business", size="4", as_="h2", margin_bottom="4px"),
        rx.cond(MerchantSettingsState.form_error != "",
                rx.callout(MerchantSettingsState.form_error, icon="triangle-alert", color_scheme="red",
                           data_testid="form-error", role="alert", margin_y="8px")),
        rx.form(
            rx.flex(
                *_account_fields(),
                _timezone_select(),
                _consent_checkbox(),
                rx.button("Save", type="submit", size="3", min_height="44px", loading=MerchantSettingsState.saving,
                          data_testid="settings-save"),
                gap="16px", align="end", wrap="wrap", margin_top="8px",
            ),
            on_submit=MerchantSettingsState.save,
            reset_on_submit=False,
        ),
        on_mount=MerchantSettingsState.load,  # the page's on_load belongs to the custom fields
        width="100%",
    )
