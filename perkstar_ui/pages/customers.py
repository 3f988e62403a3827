"""``/customers``: the Customers dashboard."""

import reflex as rx

from perkstar_ui.components.shell import shell
from perkstar_ui.components.tiles import dashboard_tiles


def customers_page() -> rx.Component:
    return shell(dashboard_tiles(), title="Customers")
