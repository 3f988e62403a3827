"""Shared bits for form controls: the 44 px touch size and a visible, associated label.

Native ``<select>``/``<input>`` elements are styled to sit beside Radix controls; the
label's ``for`` names the control's id, so ``get_by_label`` finds it.
"""

from __future__ import annotations

import reflex as rx

# The smallest comfortable touch target (WCAG 2.5.5 / Apple HIG).
TOUCH_SIZE = "44px"
TOUCH = {"min_height": TOUCH_SIZE, "min_width": TOUCH_SIZE}
TOUCH_HEIGHT = {"min_height": TOUCH_SIZE}  # full-width controls and menu items

NATIVE_CONTROL = {
    **TOUCH,
    "padding": "0 10px",
    "border": "1px solid var(--gray-a7)",
    "border_radius": "var(--radius-2)",
    "background": "var(--color-surface)",
    "color": "var(--gray-12)",
    "font_size": "var(--font-size-2)",
    "box_sizing": "border-box",
}


def labelled(label: str | rx.Var, control_id: str | rx.Var, control: rx.Component, **props) -> rx.Component:  # noqa: ANN003
    """``label`` above ``control``; the control must carry ``id=control_id``."""
    return rx.vstack(
        rx.el.label(label, html_for=control_id, class_name="rt-Text rt-r-size-1", style={"color": "var(--gray-11)"}),
        control,
        spacing="1",
        **props,
    )
