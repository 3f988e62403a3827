"""Campaign lists: the Communication tab (recent ones, "New campaign"), ``/campaigns``
(`campaign-row` with `campaign-status`, `campaign-count-<status>`, progress) and one
campaign's page (`recipient-row` with `recipient-status`, `recipient-reason`,
`campaign-cancel` while scheduled)."""

from __future__ import annotations

import reflex as rx

from perkstar_ui.components.campaign_compose import compose_dialog
from perkstar_ui.components.controls import TOUCH
from perkstar_ui.domain.messages import COUNTED_STATUSES
from perkstar_ui.state.campaign_list import CampaignDetailState as D
from perkstar_ui.state.campaign_list import CampaignListState as L
from perkstar_ui.state.campaign_list import CampaignView, RecipientView
from perkstar_ui.state.campaigns import CampaignComposeState

CAMPAIGNS_ROUTE = "/campaigns"


def _count_cells(row: CampaignView) -> list[rx.Component]:
    return [rx.table.cell(rx.el.span(getattr(row, status.value), data_testid=f"campaign-count-{status.value}"))
            for status in COUNTED_STATUSES]


def _progress(row: CampaignView) -> rx.Component:
    return rx.hstack(rx.progress(value=row.progress, max=100, width="80px"),
                     rx.text(row.progress.to_string() + "%", size="1"), align="center", spacing="2")


def _campaign_row(row: CampaignView) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(row.name, href=CAMPAIGNS_ROUTE + "/" + row.id.to_string(), data_testid="campaign-open"),
                      rx.cond(row.problem != "", rx.text(row.problem, size="1", color_scheme="red"))),
        rx.table.cell(row.channel),
        rx.table.cell(row.audience),
        rx.table.cell(rx.badge(row.status, data_testid="campaign-status")),
        rx.table.cell(row.when),
        *_count_cells(row),
        rx.table.cell(_progress(row)),
        data_testid="campaign-row",
        custom_attrs={"data-campaign-id": row.id, "data-campaign-name": row.name},
    )


def _campaign_table(rows) -> rx.Component:  # noqa: ANN001
    headers = ["Campaign", "Channel", "Audience", "Status", "When", *[s.value.capitalize() for s in COUNTED_STATUSES],
               "Progress"]
    return rx.cond(
        rows.length() > 0,
        rx.box(
            rx.table.root(
                rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in headers])),
                rx.table.body(rx.foreach(rows, _campaign_row)),
                size="2", width="100%",
            ),
            overflow_x="auto", width="100%",
        ),
        rx.text("No campaigns yet.", size="2", color_scheme="gray", data_testid="campaigns-empty"),
    )


def _new_button() -> rx.Component:
    return rx.button(rx.icon("send", size=16), "New campaign", size="3", style=TOUCH, data_testid="campaign-new",
                     on_click=CampaignComposeState.open_dialog)


def communication_panel() -> rx.Component:
    """The /customers tab: recent campaigns and a new one for the grid's filter."""
    return rx.vstack(
        rx.flex(
            rx.text("Send an SMS, email or push to the grid's current filter, its selected customers, a segment or "
                    "a card's holders.", size="2", color_scheme="gray", flex="1", min_width="240px"),
            rx.hstack(_new_button(),
                      rx.button(rx.link("All campaigns", href=CAMPAIGNS_ROUTE), as_child=True, variant="soft", size="3",
                                style=TOUCH)),
            justify="between", align="center", gap="12px", wrap="wrap", width="100%",
        ),
        _campaign_table(L.recent),
        spacing="3", width="100%", on_mount=L.load_recent,
    )


def campaigns_list() -> rx.Component:
    return rx.card(
        rx.flex(
            rx.text("Counts come from the outbox and move while a campaign sends.", size="2", color_scheme="gray",
                    flex="1"),
            rx.button(rx.link("New campaign", href="/customers"), as_child=True, size="3", style=TOUCH),
            rx.button(rx.icon("refresh-cw", size=16), "Refresh", variant="soft", size="3", style=TOUCH,
                      on_click=L.load, loading=L.loading),
            align="center", gap="12px", wrap="wrap", margin_bottom="12px",
        ),
        _campaign_table(L.rows),
        width="100%",
    )


def _recipient_row(row: RecipientView) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(row.name, href="/customers/" + row.customer_id.to_string())),
        rx.table.cell(row.recipient),
        rx.table.cell(rx.badge(row.status, data_testid="recipient-status")),
        rx.table.cell(rx.text(row.reason, data_testid="recipient-reason", size="2")),
        data_testid="recipient-row",
        custom_attrs={"data-customer-id": row.customer_id},
    )


def _summary() -> rx.Component:
    campaign = D.campaign
    return rx.card(
        rx.flex(
            rx.vstack(
                rx.heading(campaign.name, size="4", data_testid="campaign-name"),
                rx.text(campaign.channel, " · ", campaign.audience, " · ", campaign.when, size="2", color_scheme="gray"),
                rx.hstack(rx.badge(campaign.status, data_testid="campaign-status"), _progress(campaign), spacing="3"),
                rx.cond(campaign.problem != "", rx.text(campaign.problem, size="2", color_scheme="red")),
                spacing="2",
            ),
            rx.hstack(
                rx.button(rx.icon("refresh-cw", size=16), "Refresh", variant="soft", size="3", style=TOUCH,
                          on_click=D.refresh),
                rx.cond(D.can_cancel, rx.button("Cancel campaign", color_scheme="red", variant="soft", size="3",
                                                style=TOUCH, data_testid="campaign-cancel", on_click=D.cancel)),
                spacing="2",
            ),
            justify="between", gap="12px", wrap="wrap", width="100%",
        ),
        rx.flex(
            *[rx.vstack(rx.text(s.value.capitalize(), size="1", color_scheme="gray"),
                        rx.text(getattr(campaign, s.value), data_testid=f"campaign-count-{s.value}", size="4",
                                weight="bold"), spacing="0")
              for s in COUNTED_STATUSES],
            gap="24px", wrap="wrap", margin_top="12px",
        ),
        rx.cond(D.subject != "", rx.text(D.subject, weight="bold", size="2", margin_top="12px")),
        rx.text(D.body, size="2", white_space="pre-wrap", color_scheme="gray", margin_top="4px"),
        width="100%",
    )


def _recipients() -> rx.Component:
    return rx.vstack(
        rx.table.root(
            rx.table.header(rx.table.row(*[rx.table.column_header_cell(h)
                                           for h in ("Customer", "Sent to", "Status", "Reason")])),
            rx.table.body(rx.foreach(D.recipients, _recipient_row)),
            size="2", width="100%",
        ),
        rx.hstack(
            rx.button("Previous", variant="soft", size="2", style=TOUCH, on_click=D.previous_page,
                      disabled=D.page <= 1, data_testid="recipients-previous"),
            rx.text("Page ", D.page, " of ", D.pages, size="2", data_testid="recipients-page-info"),
            rx.button("Next", variant="soft", size="2", style=TOUCH, on_click=D.next_page,
                      disabled=D.page >= D.pages, data_testid="recipients-next"),
            align="center", spacing="3",
        ),
        spacing="3", width="100%",
    )


def campaign_detail() -> rx.Component:
    return rx.cond(
        D.loaded,
        rx.cond(
            D.found,
            rx.vstack(_summary(), _recipients(), spacing="4", width="100%"),
            rx.callout("Campaign not found. It may belong to another account.", icon="search-x", color_scheme="gray",
                       data_testid="not-found", size="3"),
        ),
        rx.spinner(size="3"),
    )


__all__ = ["campaign_detail", "campaigns_list", "communication_panel", "compose_dialog"]
