"""``/segments``: My Segments (saved filters with live counts); new ones are built on
/customers, where the filter and the grid are."""

import reflex as rx

from perkstar_ui.components.controls import TOUCH
from perkstar_ui.components.segments import segments_panel
from perkstar_ui.components.shell import shell
from perkstar_ui.state.auth import HOME_ROUTE

ROUTE = "/segments"


def segments_page() -> rx.Component:
    return shell(
        rx.card(
            rx.flex(
                rx.text("A segment is a saved filter: its customers are found again every time it is opened or "
                        "used by a campaign, so the counts are always today's.", size="2", color_scheme="gray",
                        flex="1", min_width="240px"),
                # A link styled as a button (as_child), not a button nested in a link.
                rx.button(rx.link(rx.icon("plus", size=16), "New segment", href=HOME_ROUTE, data_testid="segment-new"),
                          as_child=True, size="3", style=TOUCH),
                justify="between", align="center", gap="12px", wrap="wrap", margin_bottom="12px",
            ),
            segments_panel(standalone=True),
            width="100%",
        ),
        title="Segments",
    )
