"""A small label above a plain contract value (``metric-*``, ``profile-*``, ``card-*``)."""

from __future__ import annotations

import reflex as rx


def labelled_value(label: rx.Var | str, value: rx.Var | str, testid: rx.Var | str, min_width: str = "140px",
                   *, empty: str = "", empty_hint: str = "") -> rx.Component:
    """``empty`` (e.g. ``—``) is shown for people beside an empty value, in its own element
    ``<testid>-none``: the value element itself stays plain, "" when empty (the contract)."""
    shown = rx.text(value, data_testid=testid, size="3", min_height="1.5em")
    if empty and isinstance(value, rx.Var):
        shown = rx.hstack(
            shown,
            rx.cond(value == "", rx.text(empty, data_testid=f"{testid}-none", size="3", color_scheme="gray",
                                         title=empty_hint or None)),
            spacing="0",
            align="center",
        )
    return rx.vstack(
        rx.text(label, size="1", color_scheme="gray"),
        shown,
        spacing="0",
        min_width=min_width,
    )
