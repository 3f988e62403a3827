"""``/counter`` for a 768×1024 tablet and a phone: the big field with the camera button,
the results, the chosen customer's card tabs, one-tap buttons with undo, and the shared
card panel (contract: ``counter-search``, ``counter-scan``, ``counter-result``,
``quick-<verb>``, ``card-panel``; also ``counter-scan-error``, ``counter-video``,
``counter-customer``, ``counter-none``, ``counter-done``, ``quick-undo``)."""

from __future__ import annotations

import reflex as rx

from perkstar_ui.components.card_panels import card_panel
from perkstar_ui.components.scanner import counter_scanner
from perkstar_ui.components.values import labelled_value
from perkstar_ui.domain.rfm import NO_SEGMENT_LABEL
from perkstar_ui.state.card_panels import VerbButton
from perkstar_ui.state.counter import FIELD_ID, CardTab, CounterState, ResultView

BIG = {"min_height": "56px", "font_size": "18px"}


def search_bar() -> rx.Component:
    return rx.form(
        rx.el.label("Phone, serial or name", html_for=FIELD_ID, class_name="rt-r-size-3",
                    style={"display": "block", "margin_bottom": "6px", "font_weight": "500"}),
        rx.flex(
            rx.input(
                rx.input.slot(rx.icon("search", size=20)),
                id=FIELD_ID, name="q", data_testid=FIELD_ID, type="search", size="3", auto_focus=True,
                auto_complete="off", auto_capitalize="off", spell_check=False, enter_key_hint="search",
                placeholder="Type, scan or use the camera", on_change=CounterState.search.debounce(150),
                style={"height": "56px", "font_size": "20px"}, flex="1", min_width="0",
            ),
            rx.button(rx.icon(rx.cond(CounterState.scanning, "camera-off", "scan-line"), size=24),
                      rx.text(rx.cond(CounterState.scanning, "Stop camera", "Scan"), display=["none", "inline"]),
                      type="button", size="4", style={"min_height": "56px", "min_width": "56px"},
                      variant=rx.cond(CounterState.scanning, "solid", "soft"), aria_label="Scan a card with the camera",
                      data_testid="counter-scan", on_click=CounterState.toggle_scan),
            gap="8px", align="center", width="100%",
        ),
        on_submit=CounterState.submit,
        reset_on_submit=False,
        width="100%",
        role="search",
    )


def camera() -> rx.Component:
    return rx.fragment(
        rx.cond(
            CounterState.scanning,
            rx.box(
                counter_scanner(active=CounterState.scanning, on_scan=CounterState.scanned,
                                on_camera_error=CounterState.scan_failed, data_testid="counter-video",
                                aria_label="Camera view", style={"width": "100%", "max_height": "40vh",
                                                                 "object_fit": "cover", "border_radius": "12px",
                                                                 "background": "black"}),
                width="100%",
            ),
        ),
        rx.cond(CounterState.scan_error != "",
                rx.callout(CounterState.scan_error, icon="camera-off", color_scheme="amber", role="alert",
                           data_testid="counter-scan-error", width="100%")),
    )


def _result(row: ResultView) -> rx.Component:
    selected = row.customer_id == CounterState.customer_id
    return rx.button(
        rx.vstack(
            rx.text(row.name, size="4", weight="bold"),
            rx.text(row.phone, " ", row.cards, size="2", color_scheme="gray", trim="both"),
            spacing="0", align="start",
        ),
        variant=rx.cond(selected, "solid", "surface"), color_scheme="gray", high_contrast=selected,
        aria_pressed=rx.cond(selected, "true", "false"),
        on_click=CounterState.choose(row.customer_id),
        data_testid="counter-result", data_customer_id=row.customer_id,
        style={"min_height": "56px", "height": "auto", "padding": "8px 12px", "justify_content": "flex-start",
               "text_align": "left", "width": "100%"},
    )


def results() -> rx.Component:
    return rx.cond(
        CounterState.results.length() > 0,
        rx.vstack(rx.foreach(CounterState.results, _result), spacing="2", width="100%", role="list",
                  aria_label="Customers found"),
        rx.cond(CounterState.searched,
                rx.text("No customer found.", data_testid="counter-none", color_scheme="gray", size="3")),
    )


def _tab(card: CardTab) -> rx.Component:
    selected = card.id == CounterState.selected_card_id
    return rx.button(
        card.type_label, rx.text(card.serial, size="1"),
        variant=rx.cond(selected, "solid", "soft"), aria_pressed=rx.cond(selected, "true", "false"),
        on_click=CounterState.select_card(card.id), data_testid="card-tab", data_serial=card.serial,
        size="3", style={"min_height": "48px"},
    )


def _quick_button(verb: VerbButton) -> rx.Component:
    return rx.button(
        rx.icon("plus", size=22), verb.label, rx.badge("1", size="2", variant="surface"),
        size="4", style={"min_height": "64px", "font_size": "20px", "flex": "1 1 200px"},
        on_click=CounterState.tap(verb.verb, CounterState.quick_key),
        data_testid="quick-" + verb.verb,
    )


def quick_actions() -> rx.Component:
    return rx.vstack(
        rx.flex(rx.foreach(CounterState.quick, _quick_button), gap="12px", wrap="wrap", width="100%",
                role="group", aria_label="One-tap actions"),
        rx.cond(
            CounterState.done_message != "",
            rx.flex(
                rx.text(CounterState.done_message, size="3", data_testid="counter-done", role="status"),
                rx.spacer(),
                rx.cond(CounterState.undo_open,
                        rx.button(rx.icon("undo-2", size=18), "Undo", size="3", variant="soft", color_scheme="orange",
                                  style=BIG, data_testid="quick-undo", on_click=CounterState.undo)),
                align="center", gap="12px", width="100%", padding="8px 12px", border_radius="8px",
                background=rx.color("green", 3),
            ),
        ),
        spacing="3", width="100%", margin_top="12px",
    )


def customer() -> rx.Component:
    return rx.cond(
        CounterState.customer_id != 0,
        rx.vstack(
            rx.flex(
                rx.heading(CounterState.customer_name, size="6", as_="h2", data_testid="counter-customer"),
                rx.spacer(),
                rx.link("Profile", href="/customers/" + CounterState.customer_id.to_string(), size="3"),
                align="center", width="100%",
            ),
            rx.cond(CounterState.cards.length() > 1,
                    rx.flex(rx.foreach(CounterState.cards, _tab), gap="8px", wrap="wrap", role="group",
                            aria_label="Cards")),
            rx.cond(CounterState.selected_card_id != 0,
                    card_panel(top=[quick_actions()], details=[
                        labelled_value("Segments", CounterState.rfm_segment, "card-rfm-segment",
                                       empty=NO_SEGMENT_LABEL, empty_hint="No RFM segment")]),
                    rx.text("No cards issued yet.", color_scheme="gray")),
            spacing="3", width="100%",
        ),
    )
