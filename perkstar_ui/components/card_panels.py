"""The card panel of the profile and the counter: balance, tier, metrics, actions and
their dialog, for every card type from the one ``CardPanelState``.

``panel(State, prefix, extras)`` is the shape; ``type_panel()`` binds it to the state and
adds the dialog inputs that only some verbs need (Reward, Tier, Period).
"""

from __future__ import annotations

import reflex as rx

from perkstar_ui.components.controls import TOUCH_HEIGHT as TOUCH
from perkstar_ui.components.membership_panel import subscription_block
from perkstar_ui.components.values import labelled_value
from perkstar_ui.domain.card_rules import PERIODS
from perkstar_ui.state.card_panels import CardPanelState as S
from perkstar_ui.state.card_panels import MetricView, VerbButton


def _metric(metric: MetricView) -> rx.Component:
    return labelled_value(metric.label, metric.value, "metric-" + metric.key, min_width="150px")


def _label(text: str, for_id: str) -> rx.Component:
    return rx.el.label(text, html_for=for_id, class_name="rt-r-size-2", style={"font_weight": "500"})


def _text_input(label: str, input_id: str, name: str, value: rx.Var, hint: rx.Var | str = "", **props) -> rx.Component:
    """Uncontrolled (``default_value``): the form sends it on Apply, not an event per keystroke."""
    return rx.vstack(
        _label(label, input_id),
        rx.input(id=input_id, name=name, default_value=value, size="3", width="100%", auto_complete="off",
                 style=TOUCH, **props),
        rx.cond(hint != "", rx.text(hint, size="1", color_scheme="gray")) if not isinstance(hint, str) else rx.fragment(),
        spacing="1",
        width="100%",
    )


def _select(label: str, input_id: str, value: rx.Var, options) -> rx.Component:  # noqa: ANN001
    return rx.vstack(
        _label(label, input_id),
        rx.el.select(
            *([rx.el.option(o, value=o) for o in options] if isinstance(options, list)
              else [rx.foreach(options, lambda option: rx.el.option(option, value=option))]),
            id=input_id, name="choice", default_value=value,
            style={"min_height": "44px", "width": "100%", "font_size": "16px"},
        ),
        spacing="1",
        width="100%",
    )


def _dialog(state, prefix: str, extras: list[rx.Component]) -> rx.Component:  # noqa: ANN001
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(state.verb_label),
            rx.form(rx.vstack(
                rx.cond(
                    state.verb == "send-push",
                    _text_input("Message", f"{prefix}-message", "value", state.value),
                    rx.cond(
                        state.needs_value,
                        _text_input("Value", f"{prefix}-value", "value", state.value, state.value_hint,
                                    input_mode=state.value_keypad, auto_focus=True),
                    ),
                ),
                rx.cond(
                    state.verb == "change-expiration",
                    rx.vstack(_label("Date", f"{prefix}-date"),
                              rx.input(id=f"{prefix}-date", name="date", type="date", default_value=state.date,
                                       size="3", width="100%", style=TOUCH),
                              spacing="1", width="100%"),
                ),
                *extras,
                rx.cond(
                    state.needs_purchase,
                    _text_input("Purchase amount", f"{prefix}-purchase", "purchase", state.purchase,
                                input_mode="decimal", placeholder="optional, e.g. 12.50"),
                ),
                rx.cond(
                    state.verb != "send-push",
                    _text_input("Comment", f"{prefix}-comment", "comment", state.comment,
                                placeholder="internal, never shown to the customer"),
                ),
                rx.cond(state.form_error != "",
                        rx.callout(state.form_error, icon="triangle-alert", color_scheme="red", data_testid="form-error",
                                   role="alert", width="100%")),
                rx.flex(
                    rx.dialog.close(rx.button("Cancel", type="button", variant="soft", color_scheme="gray", size="3",
                                              style=TOUCH)),
                    rx.button("Apply", type="submit", size="3", style=TOUCH, data_testid="action-apply"),
                    gap="3", justify="end", width="100%",
                ),
                spacing="3",
                width="100%",
            # no_validate: the browser would silently block a half-typed date; the server checks
            # every field and says what is wrong in form-error.
            ), on_submit=state.apply, reset_on_submit=False, no_validate=True),
            max_width="440px",
        ),
        open=state.dialog_open,
        on_open_change=state.close_dialog,
    )


def _verb_button(state):  # noqa: ANN001, ANN202
    def button(verb: VerbButton) -> rx.Component:
        return rx.button(
            verb.label, variant="soft", size="3", style=TOUCH, data_testid="card-action-" + verb.verb,
            disabled=state.status == "Deleted", on_click=state.open_action(verb.verb),
        )

    return button


def panel(state, prefix: str, extras: list[rx.Component] | None = None) -> rx.Component:  # noqa: ANN001
    return rx.vstack(
        rx.flex(
            rx.vstack(rx.text("Balance", size="1", color_scheme="gray"),
                      rx.heading(state.balance, data_testid="card-balance", size="7", min_height="1.2em"), spacing="0"),
            rx.cond(state.tier != "",
                    rx.vstack(rx.text("Tier", size="1", color_scheme="gray"),
                              rx.badge(state.tier, data_testid="card-tier", size="3"), spacing="1")),
            gap="24px", align="end", wrap="wrap",
        ),
        rx.flex(rx.foreach(state.verbs, _verb_button(state)), gap="8px", wrap="wrap", role="group",
                aria_label="Card actions"),
        rx.flex(rx.foreach(state.metrics, _metric), gap="16px", wrap="wrap", data_testid="card-metrics"),
        _dialog(state, prefix, extras or []),
        spacing="3",
        width="100%",
        data_testid="card-type-panel",
    )


def type_panel() -> rx.Component:
    """The selected card's panel, whatever its type (one state, one component: profile and counter)."""
    s = S
    return rx.vstack(
        panel(s, "card-action", [
            rx.cond(s.verb == "redeem-reward", _select("Reward", "card-action-reward", s.choice, s.rewards)),
            rx.cond(s.verb == "change-tier", _select("Tier", "card-action-tier", s.choice, s.tiers)),
            rx.cond(s.verb == "change-period",
                    _select("Period", "card-action-period", s.choice, list(PERIODS))),
        ]),
        subscription_block(),
        spacing="3",
        width="100%",
    )


def _serial_block() -> rx.Component:
    return rx.vstack(
        rx.text("Card serial number", size="1", color_scheme="gray"),
        rx.hstack(
            rx.text(S.serial, data_testid="card-serial", size="3", font_family="monospace"),
            rx.icon_button(rx.icon("copy", size=14), variant="ghost", aria_label="Copy serial number",
                           on_click=[rx.set_clipboard(S.serial), rx.toast.success("Serial copied.")]),
            align="center",
        ),
        spacing="0",
    )


STATUS_COLOURS = (("Installed", "green"), ("Deleted", "red"), ("Expired", "orange"))


def card_panel(*, header: list[rx.Component] | None = None, details: list[rx.Component] | None = None,
               footer: list[rx.Component] | None = None, top: list[rx.Component] | None = None) -> rx.Component:
    """``card-panel`` of the selected card (contract): type, status, the type's panel, serial,
    expiration; the host adds its own ``header`` buttons, ``details`` values, ``footer``
    blocks and ``top`` (above the balance: the counter's one-tap buttons)."""
    return rx.card(
        rx.flex(
            rx.heading(S.type_label, size="4", as_="h2"),
            rx.badge(S.status, data_testid="card-status", size="2",
                     color_scheme=rx.match(S.status, *STATUS_COLOURS, "gray")),
            rx.spacer(),
            *(header or []),
            gap="8px", align="center", wrap="wrap",
        ),
        *(top or []),
        rx.box(type_panel(), margin_top="12px", width="100%"),
        rx.flex(
            _serial_block(),
            labelled_value("Card expiration date", S.expiration, "card-expiration"),
            *(details or []),
            gap="16px", wrap="wrap", margin_y="12px",
        ),
        *(footer or []),
        data_testid="card-panel",
        data_card_type=S.card_type,
        data_serial=S.serial,
        width="100%",
    )
