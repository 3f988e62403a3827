"""The counter's one-tap actions (issue 14): which verbs of a card type get a big
``quick-<verb>`` button with the value 1, and how long an undo is offered.

Only the actions a counter repeats with "one" make sense here (cards.md scanner parity):
a stamp, a reward redeemed from a stamp card, a prepaid visit used, a membership visit
checked in, a coupon used. Money and points take an amount: those stay in the dialogs
with the numeric keypad.
"""

from __future__ import annotations

from perkstar_ui.domain.card_types import CardType

QUICK_VERBS: dict[CardType, tuple[str, ...]] = {
    CardType.STAMP: ("add-stamps", "redeem-reward"),
    CardType.MULTIPASS: ("redeem-visits",),
    CardType.MEMBERSHIP: ("add-visits",),
    CardType.COUPON: ("redeem",),
}
QUICK_VALUE = 1
# Verbs whose Value is not a count (the coupon is used whole): the action carries no value.
NO_VALUE_VERBS = frozenset({"redeem"})
UNDO_SECONDS = 8  # the undo bar stays this long; the server refuses an undo after it
SCANNER_SOURCE = "scanner"  # the ledger's source of counter actions (cards.md §0.5)


def quick_verbs(card_type: str, visible: list[str]) -> list[str]:
    """The one-tap verbs of this card, in the type's order, among those its panel shows."""
    try:
        wanted = QUICK_VERBS.get(CardType(card_type), ())
    except ValueError:
        return []
    return [verb for verb in wanted if verb in visible]


def quick_value(verb: str) -> int:
    return 0 if verb in NO_VALUE_VERBS else QUICK_VALUE
