"""``/bench/ping``: a hidden bench-only page, a trivial Reflex click → render (no link to it).

``bench/counter_browser.py`` times the counter's interactions beside this round trip
(one event over the websocket, one var changed, one text re-rendered) in the same run,
so its ratios separate the app's own work from the browser and the framework.
"""

import reflex as rx

from perkstar_ui.components.app_ready import app_ready
from perkstar_ui.state.guard import local

ROUTE = "/bench/ping"


class BenchPingState(rx.State):
    pongs: int = 0

    @rx.event
    @local
    def ping(self):
        self.pongs += 1


def bench_ping_page() -> rx.Component:
    return rx.box(
        app_ready(),
        rx.button("Ping", on_click=BenchPingState.ping, data_testid="bench-ping"),
        rx.text(BenchPingState.pongs, data_testid="bench-pong"),
    )
