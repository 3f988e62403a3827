"""A confirmation dialog for destructive actions (button ``confirm-delete``)."""

from __future__ import annotations

import reflex as rx


def confirm_dialog(title: str, description: list, open_: rx.Var, on_cancel, on_confirm, confirm_label: str = "Delete",  # noqa: ANN001
                   error: rx.Component | None = None, busy: rx.Var | bool = False) -> rx.Component:
    """``busy``: the action runs; the button spins and a second click is not sent."""
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title(title),
            rx.alert_dialog.description(*description),
            error or rx.fragment(),
            rx.flex(
                rx.button("Cancel", variant="soft", color_scheme="gray", on_click=on_cancel),
                rx.button(confirm_label, color_scheme="red", on_click=on_confirm, data_testid="confirm-delete",
                          loading=busy),
                gap="3", justify="end", margin_top="16px",
            ),
        ),
        open=open_,
    )
