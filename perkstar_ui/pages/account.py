"""``/account``: the signed-in user's own sign-in security (two-factor sign-in)."""

import reflex as rx

from perkstar_ui.components.shell import shell
from perkstar_ui.components.two_factor import two_factor_card

ACCOUNT_ROUTE = "/account"


def account_page() -> rx.Component:
    return shell(two_factor_card(), title="Your sign-in")
