"""The other menu sections; each grows its own page module as its issue lands."""

import reflex as rx

from perkstar_ui.components.shell import shell

SECTIONS: dict[str, tuple[str, str]] = {}  # campaigns now have their own page (pages/campaigns.py)


def section_page(key: str):
    title, blurb = SECTIONS[key]

    def page() -> rx.Component:
        return shell(rx.text(blurb, color_scheme="gray"), title=title)

    page.__name__ = f"{key}_page"
    return page
