"""The compose dialog: `Channel`, `Audience`, `Segment`, `Card template`, `Subject`
(email), `Message`, `Send at`, `Test recipients`; `campaign-recipients` (the count),
`campaign-preview` (the message for one recipient, picked beside it), `campaign-test`,
`campaign-send`; refusals in `form-error`."""

from __future__ import annotations

import reflex as rx

from perkstar_ui.components.controls import NATIVE_CONTROL, TOUCH
from perkstar_ui.domain.campaigns import PLACEHOLDERS
from perkstar_ui.state.campaigns import AUDIENCES, CHANNELS, CampaignComposeState as S, Option

CONTROL = {**NATIVE_CONTROL, "width": "100%", "font_size": "16px"}
INPUT = {"min_height": "44px", "& input": {"min_height": "44px"}}


def _label(text: str, for_id: str) -> rx.Component:
    return rx.el.label(text, html_for=for_id, class_name="rt-r-size-2", style={"font_weight": "500"})


def _field(label: str, for_id: str, control: rx.Component, hint=None) -> rx.Component:  # noqa: ANN001
    parts = [_label(label, for_id), control]
    if hint is not None:
        parts.append(rx.text(hint, id=f"{for_id}-hint", size="1", color_scheme="gray"))
    return rx.vstack(*parts, spacing="1", width="100%")


def _option(option: Option) -> rx.Component:
    return rx.el.option(option.label, value=option.value)


def _select(for_id: str, value: rx.Var, on_change, options, placeholder: str = "") -> rx.Component:  # noqa: ANN001
    fixed = [rx.el.option(text, value=v) for v, text in options] if isinstance(options, list) else []
    dynamic = [] if isinstance(options, list) else [rx.foreach(options, _option)]
    first = [rx.el.option(placeholder, value="")] if placeholder else []
    return rx.el.select(*first, *fixed, *dynamic, id=for_id, value=value, on_change=on_change, disabled=S.sending,
                        style=CONTROL)


def _audience() -> rx.Component:
    return rx.grid(
        _field("Channel", "campaign-channel", _select("campaign-channel", S.channel, S.set_channel, CHANNELS),
               hint=rx.cond(S.channel == "push", "Push reaches installed cards only.", "")),
        _field("Audience", "campaign-audience", _select("campaign-audience", S.audience, S.set_audience, AUDIENCES),
               hint=rx.cond(S.audience == "selected", S.selected_count.to_string() + " ticked in the grid", "")),
        rx.cond(
            S.audience == "segment",
            _field("Segment", "campaign-segment",
                   _select("campaign-segment", S.segment_id, S.set_segment, S.segments, "Choose a segment")),
        ),
        _field("Card template", "campaign-template",
               _select("campaign-template", S.template_id, S.set_template, S.templates, "Any card"),
               hint=rx.cond(S.audience == "template", "Everyone holding a live card of it.",
                            "Fills {balance} and the links from this card; else the most recently used card.")),
        columns=rx.breakpoints(initial="1", sm="2"), spacing="3", width="100%",
    )


def _message() -> rx.Component:
    return rx.vstack(
        rx.cond(
            S.channel == "email",
            _field("Subject", "campaign-subject",
                   rx.input(id="campaign-subject", value=S.subject, on_change=S.set_subject, size="3", width="100%",
                            auto_complete="off", style=INPUT, disabled=S.sending)),
        ),
        _field("Message", "campaign-message",
               rx.text_area(id="campaign-message", value=S.body, on_change=S.set_body, rows="5", width="100%",
                            size="3", disabled=S.sending, aria_describedby="campaign-message-hint"),
               hint="Placeholders: " + " ".join(f"{{{p}}}" for p in PLACEHOLDERS)),
        rx.grid(
            _field("Send at", "campaign-send-at",
                   rx.input(id="campaign-send-at", type="datetime-local", value=S.send_at, on_change=S.set_send_at,
                            size="3", width="100%", style=INPUT, disabled=S.sending),
                   hint="Empty = now. Your time zone: " + S.timezone),
            _field("Test recipients", "campaign-test-recipients",
                   rx.input(id="campaign-test-recipients", value=S.test_recipients, on_change=S.set_test_recipients,
                            placeholder="you@shop.com, +44 7400 123456", size="3", width="100%", style=INPUT,
                            auto_complete="off", disabled=S.sending),
                   hint="Emails or phones of customers (e.g. your staff); consent still applies."),
            columns=rx.breakpoints(initial="1", sm="2"), spacing="3", width="100%",
        ),
        spacing="3", width="100%",
    )


def _preview() -> rx.Component:
    return rx.card(
        rx.flex(
            rx.hstack(
                rx.text(rx.el.span(S.recipients, data_testid="campaign-recipients"), " recipients", size="3",
                        weight="bold"),
                rx.cond(S.counting, rx.spinner(size="1", data_testid="campaign-counting")),
                align="center", spacing="2",
            ),
            rx.cond(
                S.preview_choices.length() > 0,
                rx.hstack(
                    _label("Preview for", "campaign-preview-for"),
                    rx.el.select(rx.foreach(S.preview_choices, _option), id="campaign-preview-for",
                                 value=S.preview_customer, on_change=S.set_preview_customer,
                                 style={**CONTROL, "width": "auto"}),
                    align="center", spacing="2",
                ),
            ),
            justify="between", align="center", gap="8px", wrap="wrap", width="100%",
        ),
        rx.cond(S.audience_error != "", rx.text(S.audience_error, size="2", color_scheme="red", role="alert")),
        rx.cond(S.preview_subject != "", rx.text(S.preview_subject, weight="bold", size="2", margin_top="8px")),
        rx.text(S.preview_body, data_testid="campaign-preview", size="2", white_space="pre-wrap", margin_top="8px",
                min_height="1.5em"),
        rx.text(S.preview_note, " ", S.preview_segments, size="1", color_scheme="gray", margin_top="4px"),
        width="100%",
    )


def _test_result() -> rx.Component:
    return rx.cond(
        S.test_summary != "",
        rx.hstack(
            rx.text(S.test_summary, size="2", data_testid="campaign-test-summary"),
            rx.link("See the test's recipients", href="/campaigns/" + S.test_campaign_id.to_string(), size="2"),
            spacing="2", wrap="wrap",
        ),
    )


def compose_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("New campaign"),
            rx.dialog.description("Everyone in the audience is listed on the campaign; those without consent, "
                                  "an address or an installed card are skipped with the reason.",
                                  size="2", color_scheme="gray"),
            rx.vstack(
                rx.cond(
                    S.form_error != "",
                    rx.callout(S.form_error, icon="triangle-alert", color_scheme="red", role="alert",
                               data_testid="form-error", width="100%"),
                ),
                _audience(),
                _message(),
                _preview(),
                _test_result(),
                rx.flex(
                    rx.dialog.close(rx.button("Close", variant="soft", color_scheme="gray", size="3", style=TOUCH,
                                              disabled=S.sending)),
                    rx.button("Send test", variant="soft", size="3", style=TOUCH, data_testid="campaign-test",
                              on_click=S.send_test, disabled=S.sending),
                    rx.button(rx.cond(S.send_at != "", "Schedule", "Send"), size="3", style=TOUCH,
                              data_testid="campaign-send", on_click=S.send, loading=S.sending),
                    gap="3", justify="end", width="100%", wrap="wrap",
                ),
                spacing="3", margin_top="12px", width="100%",
            ),
            max_width="720px",
        ),
        open=S.open,
        on_open_change=S.set_open,
    )
