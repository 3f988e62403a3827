"""The contract's hydration marker: suites wait for ``data-hydrated="true"``."""

import reflex as rx


def app_ready() -> rx.Component:
    return rx.el.div(
        data_testid="app-ready",
        data_hydrated=rx.cond(rx.State.is_hydrated, "true", "false"),
        style={"display": "none"},
    )
