"""The "Issue cards" dialog: `Card template`, the settings that apply to its type,
`Delivery`, `issue-confirm`; refusals in `form-error`."""

from __future__ import annotations

import reflex as rx

from perkstar_ui.components.controls import TOUCH_HEIGHT as TOUCH
from perkstar_ui.domain.card_rules import PERIODS
from perkstar_ui.state.issue_cards import IssueCardsState as S
from perkstar_ui.state.issue_cards import IssueTemplateOption

INPUT_TOUCH = {"min_height": "44px", "& input": {"min_height": "44px"}}  # the label points at the inner input
CONTROL = {"min_height": "44px", "width": "100%", "font_size": "16px"}
DELIVERY_OPTIONS = [("none", "None"), ("sms", "SMS"), ("email", "Email"), ("both", "Both")]


def _label(text: str, for_id: str) -> rx.Component:
    return rx.el.label(text, html_for=for_id, class_name="rt-r-size-2", style={"font_weight": "500"})


def _hint(text, for_id: str) -> rx.Component:  # noqa: ANN001
    return rx.text(text, id=f"{for_id}-hint", size="1", color_scheme="gray")


def _field(label: str, for_id: str, control: rx.Component, hint=None) -> rx.Component:  # noqa: ANN001
    return rx.vstack(_label(label, for_id), control, *([_hint(hint, for_id)] if hint is not None else []),
                     spacing="1", width="100%")


def _text(label: str, for_id: str, value: rx.Var, on_change, hint=None, **props) -> rx.Component:  # noqa: ANN001
    control = rx.input(id=for_id, value=value, on_change=on_change, size="3", width="100%", auto_complete="off",
                       style=INPUT_TOUCH, **({"aria_describedby": f"{for_id}-hint"} if hint is not None else {}), **props)
    return _field(label, for_id, control, hint)


def _template_option(option: IssueTemplateOption) -> rx.Component:
    return rx.el.option(option.name, value=option.id)


def _settings() -> rx.Component:
    return rx.vstack(
        rx.cond(
            S.balance_unit != "none",
            _text("Starting balance", "issue-starting-balance", S.starting_balance, S.set_starting_balance,
                  hint="In " + S.balance_hint + "; empty for none.", input_mode="decimal", placeholder="0"),
        ),
        rx.cond(
            S.card_type == "stamp",
            _text("Welcome stamps", "issue-welcome-stamps", S.welcome_stamps, S.set_welcome_stamps,
                  hint="Stamps every new card starts with (the template's by default).", input_mode="numeric"),
        ),
        rx.cond(
            S.tiers.length() > 0,
            rx.grid(
                _field("Tier", "issue-tier", rx.el.select(
                    rx.foreach(S.tiers, lambda tier: rx.el.option(tier, value=tier)),
                    id="issue-tier", value=S.tier, on_change=S.set_tier, style=CONTROL,
                )),
                _field("Period", "issue-period", rx.el.select(
                    *[rx.el.option(p.capitalize(), value=p) for p in PERIODS],
                    id="issue-period", value=S.period, on_change=S.set_period, style=CONTROL,
                )),
                columns=rx.breakpoints(initial="1", xs="2"), spacing="3", width="100%",
            ),
        ),
        rx.cond(
            S.can_expire,
            _text("Expiration date", "issue-expires-on", S.expires_on, S.set_expires_on,
                  hint="Optional: every issued card expires on this date instead of the template's rule.",
                  type="date"),
        ),
        spacing="3",
        width="100%",
    )


def issue_cards_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Issue cards"),
            rx.dialog.description(
                "One card for each of the ", rx.text.strong(S.selected_count), " selected customers who have none "
                "of this template yet; each gets a personal install link by the chosen delivery.",
                size="2", color_scheme="gray",
            ),
            rx.vstack(
                rx.cond(
                    S.form_error != "",
                    rx.callout(S.form_error, icon="triangle-alert", color_scheme="red", role="alert",
                               data_testid="form-error", width="100%"),
                ),
                _field("Card template", "issue-template", rx.el.select(
                    rx.el.option("Choose a template", value="", disabled=True),
                    rx.foreach(S.templates, _template_option),
                    id="issue-template", value=S.template_id, on_change=S.set_template, disabled=S.issuing,
                    style=CONTROL,
                ), hint=rx.cond(S.type_label != "", "Card type: " + S.type_label, "")),
                rx.cond(S.template_id != "", _settings()),
                _field("Delivery", "issue-delivery", rx.el.select(
                    *[rx.el.option(text, value=value) for value, text in DELIVERY_OPTIONS],
                    id="issue-delivery", value=S.delivery, on_change=S.set_delivery, disabled=S.issuing,
                    style=CONTROL,
                ), hint="SMS or Email sends each customer their install link; None issues the cards only."),
                rx.flex(
                    rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray", size="3", style=TOUCH,
                                              disabled=S.issuing)),
                    rx.button("Issue cards", size="3", style=TOUCH, data_testid="issue-confirm", on_click=S.confirm,
                              disabled=(S.template_id == "") | S.issuing, loading=S.issuing),
                    gap="3", justify="end", width="100%", margin_top="8px",
                ),
                spacing="3",
                margin_top="12px",
                width="100%",
            ),
            max_width="560px",
        ),
        open=S.open,
        on_open_change=S.set_open,
    )
