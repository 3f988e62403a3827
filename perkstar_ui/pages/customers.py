"""``/customers``: the Customers dashboard (tiles and grid)."""

import reflex as rx

from perkstar_ui.components.customer_grid import customer_grid
from perkstar_ui.components.issue_cards import issue_cards_dialog
from perkstar_ui.components.shell import shell
from perkstar_ui.components.tiles import dashboard_tiles


def customers_page() -> rx.Component:
    return shell(dashboard_tiles(), customer_grid(), issue_cards_dialog(), title="Customers")
