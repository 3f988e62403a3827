"""A template row's join link and poster button (``/cards``), and the printable poster."""

from __future__ import annotations

import reflex as rx

from perkstar_ui.components.app_ready import app_ready
from perkstar_ui.components.shell import access_denied
from perkstar_ui.state.join_links import JoinLinksState, PosterState as P

POSTER_ROUTE = "/cards/poster/[template_id]"

# Printing shows the poster alone: no buttons, no page background, one A4-ish page.
PRINT_CSS = """
@media print {
  .no-print { display: none !important; }
  body, main { background: #ffffff !important; }
  .poster { box-shadow: none !important; border: none !important; break-inside: avoid; }
  @page { margin: 12mm; }
}
"""


def join_cell(template_id: rx.Var) -> rx.Component:
    link = JoinLinksState.links[template_id.to_string()]
    return rx.hstack(
        rx.code(link, size="1", data_testid="template-join-link", style={"word_break": "break-all"}),
        rx.link(rx.button(rx.icon("printer", size=14), "Poster", variant="soft", size="2"),
                href="/cards/poster/" + template_id.to_string(), is_external=True,
                data_testid="template-poster"),
        spacing="2",
        align="center",
    )


def _poster() -> rx.Component:
    return rx.cond(
        P.found,
        rx.vstack(
            rx.hstack(
                rx.button(rx.icon("printer", size=16), "Print", size="3",
                          on_click=rx.call_script("window.print()"), data_testid="poster-print"),
                class_name="no-print", width="100%", justify="end",
            ),
            rx.vstack(
                rx.text(P.business, size="5", color_scheme="gray", data_testid="poster-business"),
                rx.heading(P.card_name, size="9", as_="h1", text_align="center", data_testid="poster-card-name"),
                rx.badge(P.type_label, size="3", variant="solid", color_scheme="violet"),
                rx.text("Scan to join and get your card on your phone", size="5", text_align="center"),
                rx.image(src=P.qr, alt="Join QR code", width="320px", height="320px",
                         data_testid="poster-qr"),
                rx.text(P.url, size="3", data_testid="poster-url", style={"word_break": "break-all"},
                        text_align="center"),
                class_name="poster",
                align="center",
                spacing="4",
                padding="40px",
                width="100%",
                border="2px solid var(--violet-9)",
                border_radius="24px",
                background="linear-gradient(180deg, var(--violet-3), #ffffff 45%)",
            ),
            spacing="4",
            width="100%",
        ),
        rx.cond(P.loaded, rx.callout("This template was not found.", data_testid="not-found"),
                rx.center(rx.spinner(size="3"), padding="48px")),
    )


def poster_page() -> rx.Component:
    return rx.box(
        app_ready(),
        rx.el.style(PRINT_CSS),
        rx.cond(P.access_denied, access_denied(), _poster()),  # staff: the guard refuses the page
        as_="main",
        max_width="720px",
        margin_x="auto",
        padding="24px",
    )
