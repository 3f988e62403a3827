"""``/customers``: the Customers dashboard (tiles, the Filters/Segments/RFM/Communication
tabs, the grid)."""

import enum

import reflex as rx

from perkstar_ui.components.campaigns import communication_panel, compose_dialog
from perkstar_ui.components.controls import TOUCH
from perkstar_ui.components.customer_grid import customer_grid
from perkstar_ui.components.filter_builder import filter_builder
from perkstar_ui.components.issue_cards import issue_cards_dialog
from perkstar_ui.components.rfm import rfm_panel
from perkstar_ui.components.segments import segment_save_form, segments_panel
from perkstar_ui.components.shell import shell
from perkstar_ui.components.tiles import dashboard_tiles


class Tab(str, enum.Enum):
    FILTERS = "filters"
    SEGMENTS = "segments"
    RFM = "rfm"
    COMMUNICATION = "communication"


TAB_LABELS = {Tab.FILTERS: "Filters", Tab.SEGMENTS: "Segments", Tab.RFM: "RFM", Tab.COMMUNICATION: "Communication"}


def _filters_tab() -> rx.Component:
    return rx.vstack(filter_builder(), segment_save_form(), spacing="3", width="100%")


def _tabs() -> rx.Component:
    contents = {
        Tab.FILTERS: _filters_tab(),
        Tab.SEGMENTS: segments_panel(),
        Tab.RFM: rfm_panel(),
        Tab.COMMUNICATION: communication_panel(),
    }
    return rx.tabs.root(
        rx.tabs.list(
            *[rx.tabs.trigger(label, value=tab.value, data_testid=f"tab-{tab.value}", style=TOUCH)
              for tab, label in TAB_LABELS.items()],
            size="2",
        ),
        *[rx.tabs.content(content, value=tab.value, padding_top="16px") for tab, content in contents.items()],
        default_value=Tab.FILTERS.value,
        width="100%",
        margin_top="16px",
    )


def customers_page() -> rx.Component:
    return shell(dashboard_tiles(), _tabs(), customer_grid(), issue_cards_dialog(), compose_dialog(), title="Customers")
