"""Settings › Stripe: labels `Stripe secret key` and `Webhook signing secret` (password
inputs, never filled: the saved value shows only as a masked hint beside), `stripe-save`,
`stripe-test` with `stripe-status`, the webhook endpoint to copy, one `stripe-tier-row`
per tier of a Stripe-mode membership template with its price select, and the events
that arrived for no card (`stripe-unmatched-row`)."""

from __future__ import annotations

import reflex as rx

from perkstar_ui.components.controls import TOUCH_HEIGHT as TOUCH
from perkstar_ui.state.stripe_settings import CREATE_PRICE, NOT_MAPPED, PriceChoice, StripeSettingsState, TierRow, UnmatchedRow

S = StripeSettingsState


def _secret_input(label: str, name: str, input_id: str, placeholder: str, hint: rx.Var, note: rx.Var,
                  hint_id: str) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=input_id, class_name="rt-r-size-2", style={"font_weight": "500"}),
        rx.input(id=input_id, name=name, type="password", placeholder=placeholder, auto_complete="off",
                 spellcheck=False, size="3", width="22em", max_width="100%", key=f"{name}-{S.form_version}",
                 aria_describedby=f"{hint_id}-line"),
        rx.text(
            rx.cond(hint != "", rx.fragment("Saved: ", rx.code(hint, data_testid=hint_id), " (", note, ")"),
                    rx.fragment("Not set", rx.el.span(data_testid=hint_id))),
            id=f"{hint_id}-line", size="1", color_scheme="gray",
        ),
        spacing="1",
    )


def _keys_form() -> rx.Component:
    return rx.form(
        rx.flex(
            _secret_input("Stripe secret key", "secret_key", "stripe-secret-key", "sk_live_… or sk_test_…",
                          S.secret_key_hint, S.secret_key_note, "stripe-secret-key-hint"),
            _secret_input("Webhook signing secret", "webhook_secret", "stripe-webhook-secret", "whsec_…",
                          S.webhook_secret_hint, S.webhook_secret_note, "stripe-webhook-secret-hint"),
            rx.button("Save keys", type="submit", size="3", style=TOUCH, loading=S.saving, data_testid="stripe-save"),
            gap="16px", align="start", wrap="wrap", margin_top="8px",
        ),
        on_submit=S.save,
        reset_on_submit=True,
    )


def _connection() -> rx.Component:
    return rx.flex(
        rx.button(rx.icon("plug-zap", size=16), "Test connection", size="3", variant="soft", style=TOUCH,
                  loading=S.testing, on_click=S.test_connection, data_testid="stripe-test"),
        rx.button("Remove saved keys", size="3", variant="soft", color_scheme="gray", style=TOUCH,
                  on_click=S.remove_keys, data_testid="stripe-remove-keys",
                  display=rx.cond(S.has_saved_keys, "inline-flex", "none")),
        rx.text(S.status, data_testid="stripe-status", role="status", size="2",
                color=rx.cond(S.status_ok, "var(--green-11)", "var(--red-11)")),
        gap="12px", align="center", wrap="wrap", margin_top="12px",
    )


def _webhook_endpoint() -> rx.Component:
    return rx.vstack(
        rx.text("Webhook endpoint for this account (in Stripe: Developers › Webhooks › Add endpoint):", size="2"),
        rx.flex(
            rx.code(S.webhook_url, data_testid="stripe-webhook-url", style={"word_break": "break-all"}),
            rx.icon_button(rx.icon("copy", size=16), variant="soft", size="3", aria_label="Copy webhook endpoint",
                           on_click=[rx.set_clipboard(S.webhook_url), rx.toast.success("Endpoint copied.")]),
            gap="8px", align="center", wrap="wrap",
        ),
        rx.text("Events: checkout.session.completed, customer.subscription.created, customer.subscription.updated, "
                "customer.subscription.deleted, invoice.paid, invoice.payment_failed. See docs/stripe.md.",
                size="1", color_scheme="gray"),
        spacing="1", margin_top="12px",
    )


def _price_option(price: PriceChoice) -> rx.Component:
    return rx.el.option(price.label, value=price.id)


def _tier_row(row: TierRow, index: rx.Var) -> rx.Component:
    select_id = "stripe-price-" + index.to_string()
    return rx.table.row(
        rx.table.cell(row.template_name),
        rx.table.cell(rx.el.label(row.tier, html_for=select_id)),
        rx.table.cell(row.tier_price, data_testid="stripe-tier-own-price"),
        rx.table.cell(
            rx.el.select(
                rx.el.option("Not mapped", value=NOT_MAPPED),
                rx.cond((row.price_id != "") & ~row.listed, rx.el.option(row.price_id, value=row.price_id)),
                rx.foreach(S.prices, _price_option),
                rx.el.option("Create from the tier's price (" + row.tier_price + ")", value=CREATE_PRICE),
                id=select_id, value=row.price_id, data_testid="stripe-tier-price",
                disabled=S.mapping_busy == row.key,
                on_change=lambda choice: S.map_price(row.key, choice),
                style={"min_height": "44px", "max_width": "26em", "font_size": "16px"},
            ),
        ),
        data_testid="stripe-tier-row",
        data_template=row.template_name,
        data_tier=row.tier,
        data_price_id=row.price_id,
    )


def _tier_prices() -> rx.Component:
    return rx.vstack(
        rx.heading("Membership tiers → Stripe prices", size="3", as_="h3"),
        rx.cond(
            S.tiers.length() > 0,
            rx.vstack(
                rx.flex(
                    rx.text("Each tier's Checkout uses its Stripe price (recurring).", size="2", color_scheme="gray"),
                    rx.button(rx.icon("refresh-cw", size=14), "Reload prices", variant="ghost", size="2",
                              loading=S.prices_loading, on_click=S.load_prices, data_testid="stripe-reload-prices"),
                    gap="8px", align="center", wrap="wrap",
                ),
                rx.cond(S.prices_error != "",
                        rx.callout(S.prices_error, icon="triangle-alert", color_scheme="red", role="alert",
                                   data_testid="stripe-prices-error", width="100%")),
                rx.box(
                    rx.table.root(
                        rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in
                                                       ["Template", "Tier", "Tier price", "Stripe price"]])),
                        rx.table.body(rx.foreach(S.tiers, _tier_row)),
                        width="100%", size="1",
                    ),
                    overflow_x="auto", width="100%",
                ),
                spacing="2", width="100%",
            ),
            rx.text("No membership template is billed by Stripe. Set a membership template's mode to Stripe on /cards.",
                    size="2", color_scheme="gray", data_testid="stripe-no-tiers"),
        ),
        spacing="2", width="100%", margin_top="16px",
    )


def _unmatched_row(row: UnmatchedRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row.received, white_space="nowrap"),
        rx.table.cell(row.event_type),
        rx.table.cell(rx.code(row.id)),
        rx.table.cell(row.subscription_id),
        rx.table.cell(row.customer_id),
        data_testid="stripe-unmatched-row",
        data_event_id=row.id,
    )


def _unmatched() -> rx.Component:
    return rx.cond(
        S.unmatched.length() > 0,
        rx.vstack(
            rx.heading("Events for no card", size="3", as_="h3"),
            rx.text("Stripe sent these for a subscription or customer this app does not know (no card serial in "
                    "its metadata). They are kept and applied if the card is linked later.", size="2",
                    color_scheme="gray"),
            rx.box(
                rx.table.root(
                    rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in
                                                   ["Received (UTC)", "Type", "Event", "Subscription", "Customer"]])),
                    rx.table.body(rx.foreach(S.unmatched, _unmatched_row)),
                    width="100%", size="1",
                ),
                overflow_x="auto", width="100%",
            ),
            spacing="2", width="100%", margin_top="16px",
        ),
    )


def stripe_settings_card() -> rx.Component:
    return rx.card(
        rx.heading("Stripe", size="4", as_="h2", margin_bottom="4px"),
        rx.text("Memberships in Stripe mode are billed by your Stripe account. Keys are stored encrypted and never "
                "shown again; leave a field empty to keep the saved value.", size="2", color_scheme="gray"),
        rx.cond(~S.can_store,
                rx.callout("This server has no PERKSTAR_SECRET_KEY, so keys cannot be saved here; the server's "
                           "STRIPE_API_KEY / STRIPE_WEBHOOK_SECRET are used when set.", icon="info",
                           color_scheme="amber", margin_y="8px")),
        rx.cond(S.form_error != "",
                rx.callout(S.form_error, icon="triangle-alert", color_scheme="red", data_testid="form-error",
                           role="alert", margin_y="8px")),
        _keys_form(),
        _connection(),
        _webhook_endpoint(),
        _tier_prices(),
        _unmatched(),
        on_mount=S.load,  # the page's on_load belongs to the custom fields
        width="100%",
        data_testid="stripe-settings",
    )
