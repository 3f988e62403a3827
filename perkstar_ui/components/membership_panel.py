"""The membership panel's subscription block (issue 12): `card-subscription-status`,
`card-renewal`, `card-visits-left` in every mode; in Stripe mode the buttons
`card-action-start-subscription` (then `card-checkout-link` to copy and
`card-checkout-message`), `card-open-in-stripe` (a new tab) and
`card-action-cancel-subscription` with its confirmation (`confirm-cancel-subscription`)."""

from __future__ import annotations

import reflex as rx

from perkstar_ui.components.controls import TOUCH_HEIGHT as TOUCH
from perkstar_ui.components.values import labelled_value
from perkstar_ui.state.card_panels import CardPanelState as S

STATUS_COLOURS = (("Valid", "green"), ("Active", "green"), ("Pending payment", "amber"), ("Past due", "orange"),
                  ("Cancelled", "red"), ("Inactive", "red"))


def _status() -> rx.Component:
    return rx.vstack(
        rx.text("Subscription status", size="1", color_scheme="gray"),
        rx.badge(S.subscription_status, data_testid="card-subscription-status", size="3",
                 color_scheme=rx.match(S.subscription_status, *STATUS_COLOURS, "gray")),
        spacing="1",
        min_width="140px",
    )


def _checkout_link() -> rx.Component:
    return rx.cond(
        S.checkout_url != "",
        rx.vstack(
            rx.text(S.checkout_message, size="2", data_testid="card-checkout-message"),
            rx.flex(
                rx.text("Checkout link", size="2", color_scheme="gray"),
                rx.code(S.checkout_url, data_testid="card-checkout-link", style={"word_break": "break-all"}),
                rx.icon_button(rx.icon("copy", size=16), variant="soft", size="3", aria_label="Copy checkout link",
                               data_testid="copy-checkout-link",
                               on_click=[rx.set_clipboard(S.checkout_url), rx.toast.success("Link copied.")]),
                gap="8px", align="center", wrap="wrap",
            ),
            spacing="1", width="100%",
        ),
    )


def _cancel_dialog() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title("Cancel at period end"),
            rx.alert_dialog.description(
                "Stripe stops renewing this membership. It stays valid until ", rx.cond(S.renewal != "", S.renewal,
                                                                                        "the end of the paid period"),
                " and the customer is not charged again."),
            rx.cond(S.stripe_error != "",
                    rx.callout(S.stripe_error, icon="triangle-alert", color_scheme="red", data_testid="form-error",
                               role="alert", margin_top="12px")),
            rx.flex(
                rx.button("Keep it", variant="soft", color_scheme="gray", size="3", style=TOUCH,
                          on_click=S.set_cancel_open(False)),
                rx.button("Cancel at period end", color_scheme="red", size="3", style=TOUCH, loading=S.cancelling,
                          on_click=S.cancel_at_period_end, data_testid="confirm-cancel-subscription"),
                gap="3", justify="end", margin_top="16px",
            ),
        ),
        open=S.cancel_open,
    )


def _stripe_actions() -> rx.Component:
    return rx.vstack(
        rx.flex(
            rx.cond(S.can_start_subscription,
                    rx.button(rx.icon("credit-card", size=16), "Start subscription", size="3", style=TOUCH,
                              loading=S.starting, on_click=S.start_subscription,
                              data_testid="card-action-start-subscription")),
            rx.cond(S.dashboard_url != "",
                    rx.link(rx.icon("external-link", size=16), "Open in Stripe", href=S.dashboard_url, is_external=True,
                            data_testid="card-open-in-stripe", title="Opens the subscription in Stripe (new tab)",
                            style={**TOUCH, "display": "inline-flex", "align_items": "center", "gap": "6px",
                                   "padding": "0 12px"})),
            rx.cond(S.can_cancel,
                    rx.button("Cancel at period end", variant="soft", color_scheme="red", size="3", style=TOUCH,
                              on_click=S.set_cancel_open(True), data_testid="card-action-cancel-subscription")),
            gap="8px", wrap="wrap", role="group", aria_label="Stripe subscription",
        ),
        rx.cond(S.stripe_error != "",
                rx.callout(S.stripe_error, icon="triangle-alert", color_scheme="red", data_testid="form-error",
                           role="alert", width="100%")),
        _checkout_link(),
        _cancel_dialog(),
        spacing="2",
        width="100%",
    )


def subscription_block() -> rx.Component:
    return rx.cond(
        S.subscription_status != "",
        rx.vstack(
            rx.flex(
                _status(),
                labelled_value("Renewal date", S.renewal, "card-renewal"),
                labelled_value("Visits left this period", S.visits_left, "card-visits-left"),
                gap="16px", wrap="wrap", align="end",
            ),
            rx.cond(S.stripe_mode, _stripe_actions()),
            spacing="3",
            width="100%",
            data_testid="card-subscription",
            data_mode=S.mode,
        ),
    )
