"""A small label above a plain contract value (``metric-*``, ``profile-*``, ``card-*``)."""

from __future__ import annotations

import reflex as rx


def labelled_value(label: rx.Var | str, value: rx.Var | str, testid: rx.Var | str, min_width: str = "140px") -> rx.Component:
    return rx.vstack(
        rx.text(label, size="1", color_scheme="gray"),
        rx.text(value, data_testid=testid, size="3", min_height="1.5em"),
        spacing="0",
        min_width=min_width,
    )
