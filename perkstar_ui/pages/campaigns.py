"""``/campaigns`` (every campaign with counts by status and progress) and
``/campaigns/[campaign_id]`` (its recipients with status and reason)."""

import reflex as rx

from perkstar_ui.components.campaigns import CAMPAIGNS_ROUTE, campaign_detail, campaigns_list
from perkstar_ui.components.shell import shell

ROUTE = CAMPAIGNS_ROUTE
DETAIL_ROUTE = CAMPAIGNS_ROUTE + "/[campaign_id]"


def campaigns_page() -> rx.Component:
    return shell(campaigns_list(), title="Campaigns")


def campaign_page() -> rx.Component:
    return shell(
        rx.link(rx.hstack(rx.icon("arrow-left", size=16), "Campaigns", align="center"), href=CAMPAIGNS_ROUTE,
                margin_bottom="12px"),
        campaign_detail(),
        title="Campaign",
    )
