"""The public card as its holder sees it on a phone: the card face, its QR code, the
home-screen install and a review form. Phone-sized (≤ 420 px), touch targets ≥ 44 px."""

from __future__ import annotations

import reflex as rx

from perkstar_ui.state.public_card import PROMPT_SCRIPT, PublicCardState as S

TOUCH = {"min_height": "48px"}
RATINGS = [("5", "5 – Excellent"), ("4", "4 – Good"), ("3", "3 – OK"), ("2", "2 – Poor"), ("1", "1 – Bad")]

# Keeps the browser's install offer for the button (Chrome/Edge/Android); elsewhere
# the button still marks the card installed and the text explains the manual step.
CAPTURE_PROMPT_JS = (
    "window.addEventListener('beforeinstallprompt', function (e) {"
    " e.preventDefault(); window.__perkstarInstallPrompt = e; });"
)


def manifest_link() -> rx.Component:
    """``<link rel="manifest">`` for this card (React hoists it into the head)."""
    return rx.cond(S.manifest_href != "", rx.el.link(rel="manifest", href=S.manifest_href))


def _value(label: str | rx.Var, value: rx.Var, testid: str, size: str = "4") -> rx.Component:
    return rx.vstack(
        rx.text(label, size="1", color_scheme="gray"),
        rx.text(value, data_testid=testid, size=size, weight="bold", min_height="1.4em"),
        spacing="0",
    )


def card_face() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.vstack(
                    rx.text(S.business, size="2", weight="medium", data_testid="card-business"),
                    rx.heading(S.template_name, size="5", as_="h1"),
                    spacing="0",
                ),
                rx.spacer(),
                rx.badge(S.status, data_testid="card-status", size="2",
                         color_scheme=rx.match(S.status, ("Installed", "green"), ("Deleted", "red"),
                                               ("Expired", "orange"), "gray")),
                width="100%", align="start",
            ),
            rx.vstack(
                rx.text("Card holder", size="1", color_scheme="gray"),
                rx.text(S.holder, data_testid="card-holder", size="4", weight="bold"),
                spacing="0",
            ),
            rx.cond(
                ~S.deleted,
                rx.flex(
                    rx.cond(
                        S.balance_label != "",
                        _value(S.balance_label, S.balance, "card-balance", "6"),
                        rx.el.span(S.balance, data_testid="card-balance", hidden=True),  # coupon: empty
                    ),
                    rx.cond(S.has_tier, _value(S.tier_label, S.tier, "card-tier", "6")),
                    rx.cond(S.rewards_available != "", _value("Rewards ready", S.rewards_available, "card-rewards", "6")),
                    gap="24px", wrap="wrap",
                ),
            ),
            rx.cond(
                (~S.deleted) & (S.rewards.length() > 0),
                rx.el.ul(
                    rx.foreach(S.rewards, lambda line: rx.el.li(rx.text(line, size="2"))),
                    data_testid="card-reward-list", style={"margin": "0", "padding_left": "20px"},
                ),
            ),
            rx.flex(
                _value("Card number", S.serial, "card-serial", "3"),
                rx.cond(S.expiration != "", _value("Valid until", S.expiration, "card-expiration", "3")),
                rx.cond(S.device != "", _value("Installed on", S.device, "card-device", "3")),
                gap="24px", wrap="wrap",
            ),
            spacing="4",
            width="100%",
        ),
        size="3",
        width="100%",
        background=rx.color("accent", 2),
    )


def qr_block() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.image(
                src=S.qr,
                alt="QR code of card number " + S.serial,
                data_testid="card-qr",
                width="220px", height="220px",
                style={"image_rendering": "pixelated", "background": "white"},
            ),
            rx.text("Show this code at the counter", size="2", color_scheme="gray"),
            align="center", spacing="2",
        ),
        width="100%",
    )


def install_block() -> rx.Component:
    return rx.vstack(
        rx.button(
            rx.icon("smartphone", size=20),
            rx.cond(S.installed, "Add to home screen again", "Add to home screen"),
            on_click=[rx.call_script(PROMPT_SCRIPT), S.install],
            loading=S.install_busy,
            data_testid="card-install",
            size="4", width="100%", style=TOUCH,
        ),
        rx.cond(
            S.installed,
            rx.text("This card is on your home screen. Open it from there at the counter.",
                    size="2", color_scheme="green", data_testid="install-done"),
            rx.text("On iPhone: tap Share, then “Add to Home Screen”.", size="2", color_scheme="gray"),
        ),
        rx.cond(
            S.install_error != "",
            rx.callout(S.install_error, icon="triangle-alert", color_scheme="red", role="alert",
                       data_testid="form-error", width="100%"),
        ),
        width="100%", spacing="2",
    )


def push_block() -> rx.Component:
    """"Get notifications": subscribes this phone to the card's push messages."""
    return rx.vstack(
        rx.button(
            rx.cond(S.push_on, rx.icon("bell-ring", size=20), rx.icon("bell", size=20)),
            rx.cond(S.push_on, "Notifications on", "Get notifications"),
            on_click=S.subscribe_push,
            loading=S.push_busy,
            variant="soft",
            data_testid="card-push-subscribe",
            size="4", width="100%", style=TOUCH,
        ),
        rx.cond(S.push_status != "", rx.text(S.push_status, size="2", role="status", data_testid="card-push-status")),
        width="100%", spacing="2",
    )


def _message(message: rx.Var) -> rx.Component:
    return rx.box(
        rx.text(message["text"], size="3", white_space="pre-wrap", data_testid="card-message-text"),
        rx.text(message["sent_at"], size="1", color_scheme="gray", data_testid="card-message-date"),
        data_testid="card-message",
        padding_y="8px",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
        width="100%",
    )


def messages_block() -> rx.Component:
    """The push messages the business sent to this card, newest first."""
    return rx.card(
        rx.vstack(
            rx.heading("Messages", size="4", as_="h2"),
            rx.cond(
                S.messages.length() > 0,
                rx.foreach(S.messages, _message),
                rx.text("No messages yet.", size="2", color_scheme="gray"),
            ),
            # Clicked by the page's script when the service worker receives a push.
            rx.el.button(id="card-messages-refresh", on_click=S.refresh_messages, hidden=True,
                         aria_hidden="true", tab_index=-1),
            spacing="1", width="100%",
        ),
        data_testid="card-messages",
        width="100%", size="3",
    )


def _label(text: str, html_for: str) -> rx.Component:
    return rx.el.label(text, html_for=html_for, style={"font_weight": "500"})


def review_block() -> rx.Component:
    form = rx.form(
        rx.vstack(
            rx.heading("Rate your visit", size="4", as_="h2"),
            _label("Rating", "rating"),
            rx.el.select(
                *[rx.el.option(text, value=value) for value, text in RATINGS],
                id="rating", name="rating", default_value="5",
                style={"min_height": "48px", "width": "100%", "font_size": "16px", "padding": "0 12px",
                       "border_radius": "8px", "border": f"1px solid {rx.color('gray', 7)}",
                       "background": rx.color("gray", 1)},
            ),
            _label("Review", "review"),
            rx.text_area(id="review", name="review", max_length=2000, rows="4", width="100%", size="3",
                         placeholder="What did you like? What could be better?"),
            rx.cond(
                S.review_error != "",
                rx.callout(S.review_error, icon="triangle-alert", color_scheme="red", role="alert",
                           data_testid="form-error", width="100%"),
            ),
            rx.button("Send review", type="submit", data_testid="review-submit", loading=S.review_busy,
                      size="4", width="100%", style=TOUCH),
            spacing="2", width="100%",
        ),
        on_submit=S.submit_review,
        reset_on_submit=False,
        width="100%",
    )
    thanks = rx.vstack(
        rx.callout("Thank you for your review!", icon="heart", color_scheme="green", role="status",
                   data_testid="review-thanks", width="100%"),
        rx.button("Write another review", variant="soft", size="3", style=TOUCH, on_click=S.write_another),
        width="100%",
    )
    return rx.card(rx.cond(S.review_sent, thanks, form), width="100%", size="3")


def deleted_notice() -> rx.Component:
    return rx.callout(
        "This card has been deleted and no longer works. Ask the business for a new card.",
        icon="ban", color_scheme="red", size="3", role="status", data_testid="card-deleted", width="100%",
    )


def not_found() -> rx.Component:
    return rx.callout(
        "Card not found. Check the link you were sent.",
        icon="search-x", color_scheme="gray", size="3", data_testid="not-found", width="100%",
    )


def capture_install_prompt() -> rx.Component:
    return rx.script(CAPTURE_PROMPT_JS)
