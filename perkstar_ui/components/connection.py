"""The banner shown while the websocket is refused or lost, so a page is never silently
empty (contract id ``connection-lost``). Reflex keeps the connection errors in the
browser; ``rx.connection_banner`` renders its child only while there are any."""

import reflex as rx

MESSAGE = "No connection to the server. Changes are not saved until it is back; retrying…"


def connection_lost() -> rx.Component:
    return rx.connection_banner(
        rx.el.div(
            MESSAGE,
            data_testid="connection-lost",
            role="alert",
            style={
                "position": "fixed", "top": "0", "left": "0", "right": "0", "z_index": "1000",
                "padding": "8px 16px", "text_align": "center", "color": "white",
                "background": "var(--red-9)", "font_weight": "600",
            },
        )
    )
