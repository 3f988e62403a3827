"""The other menu sections; each grows its own page module as its issue lands."""

import reflex as rx

from perkstar_ui.components.shell import shell

SECTIONS = {
    "campaigns": ("Campaigns", "SMS, email and push messages sent to customers."),
}


def section_page(key: str):
    title, blurb = SECTIONS[key]

    def page() -> rx.Component:
        return shell(rx.text(blurb, color_scheme="gray"), title=title)

    page.__name__ = f"{key}_page"
    return page
