"""What the profile's card panel and the counter call: the card engine's action and panel,
then the referral rewards the action made due (issue 14: the caller pays them, the engine
knows nothing of the referral program)."""

from __future__ import annotations

import datetime as dt

from perkstar_ui.domain.card_rules import Action
from perkstar_ui.services import cards, referrals


def perform_action(merchant_id: int, card_id: int, action: Action, **options) -> cards.Outcome:  # noqa: ANN003
    """``cards.perform_action``; a referred card's first visit pays both sides once."""
    outcome = cards.perform_action(merchant_id, card_id, action, **options)
    if outcome.referral_due:
        referrals.on_first_visit(merchant_id, card_id)
    return outcome


def load_panel(merchant_id: int, card_id: int, today: dt.date | None = None) -> cards.PanelView | None:
    """``cards.load_panel``; a first-visit reward whose payment failed after the visit
    committed is paid here (idempotent keys: never twice)."""
    panel = cards.load_panel(merchant_id, card_id, today)
    if panel is not None and referrals.pay_if_due(merchant_id, card_id):
        panel = cards.load_panel(merchant_id, card_id, today)
    return panel
