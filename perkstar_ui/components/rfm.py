"""The RFM tab's content (``rfm_panel``): one clickable card per segment with its count and
share, the R × FM chart and Recalculate. Mounted by the Customers page's ``tab-rfm``."""

from __future__ import annotations

import reflex as rx

from perkstar_ui.components.controls import TOUCH_HEIGHT as TOUCH
from perkstar_ui.state.rfm import RfmState, SegmentView

GRID_TICKS = [1, 2, 3, 4, 5]
GRID_DOMAIN = [0.5, 5.5]


def _segment_card(segment: SegmentView) -> rx.Component:
    return rx.el.button(
        rx.vstack(
            rx.text(segment.name, size="2", weight="medium"),
            rx.hstack(
                rx.text(segment.count, data_testid="rfm-count", size="6", weight="bold"),
                rx.text(segment.share, data_testid="rfm-share", size="2", color_scheme="gray"),
                align="baseline",
                spacing="2",
            ),
            spacing="1",
            align="start",
        ),
        type="button",
        on_click=RfmState.open_segment(segment.name),
        data_testid="rfm-segment",
        data_segment=segment.name,
        aria_label=segment.name + ": show these customers",
        class_name="rt-reset",
        style={
            **TOUCH,
            "padding": "12px",
            "text_align": "left",
            "cursor": "pointer",
            "border": f"1px solid {rx.color('gray', 6)}",
            "border_radius": "var(--radius-3)",
            "background": rx.color("gray", 2),
            "width": "100%",
        },
    )


def _chart() -> rx.Component:
    """A bubble per non-empty cell: x = FM, y = R, size = customers."""
    return rx.box(
        rx.recharts.scatter_chart(
            rx.recharts.cartesian_grid(stroke_dasharray="3 3"),
            rx.recharts.x_axis(data_key="fm", type_="number", name="FM", domain=GRID_DOMAIN, ticks=GRID_TICKS,
                               allow_decimals=False),
            rx.recharts.y_axis(data_key="r", type_="number", name="R", domain=GRID_DOMAIN, ticks=GRID_TICKS,
                               allow_decimals=False, width=30),
            rx.recharts.z_axis(data_key="count", name="Customers", range=[40, 1600]),
            rx.recharts.scatter(data=RfmState.cells, name="Customers", fill=rx.color("accent", 9)),
            rx.recharts.graphing_tooltip(),
            width="100%",
            height=320,
        ),
        rx.text("Recency (R, up) by the mean of frequency and monetary (FM, across); bubble size = customers.",
                size="1", color_scheme="gray"),
        data_testid="rfm-chart",
        width="100%",
    )


def rfm_panel() -> rx.Component:
    return rx.vstack(
        rx.flex(
            rx.vstack(
                rx.heading("RFM segments", size="4", as_="h2"),
                rx.text("Share of all ", RfmState.customers, " customers. Click a segment to show its customers.",
                        size="2", color_scheme="gray"),
                rx.text(RfmState.computed_text, size="2", color_scheme="gray", data_testid="rfm-computed-at"),
                spacing="1",
            ),
            rx.spacer(),
            rx.vstack(
                rx.button(rx.icon("refresh-cw", size=16), "Recalculate", size="3", style=TOUCH,
                          loading=RfmState.recalculating, disabled=RfmState.recalculating,
                          on_click=RfmState.recalculate, data_testid="rfm-recalculate"),
                rx.cond(RfmState.recalculating,
                        rx.text("Recalculating… ", RfmState.progress, "%", size="1", data_testid="rfm-progress",
                                role="status")),
                align="end",
                spacing="1",
            ),
            gap="12px",
            wrap="wrap",
            width="100%",
        ),
        rx.grid(
            rx.foreach(RfmState.segments, _segment_card),
            columns=rx.breakpoints(initial="1", xs="2", md="4"),
            spacing="3",
            width="100%",
        ),
        _chart(),
        on_mount=RfmState.load,  # fresh figures whenever the tab's content is shown
        spacing="4",
        width="100%",
    )
