"""``/counter``: serve the customer at the till (issue 14); every role (staff is the counter role)."""

import reflex as rx

from perkstar_ui.components.counter import camera, customer, results, search_bar
from perkstar_ui.components.shell import shell

ROUTE = "/counter"


def counter_page() -> rx.Component:
    return shell(
        rx.vstack(search_bar(), camera(), results(), customer(), spacing="4", width="100%", max_width="820px"),
        title="Counter",
    )
