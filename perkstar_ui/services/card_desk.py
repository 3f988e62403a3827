"""What the profile's card panel and the counter call: the card engine's action and panel,
and the referral rewards a referred card's panel finds due (issue 14: the caller pays
them, the engine knows nothing of the referral program).

A first visit pays only once it has settled (``domain.referral_rules``: older than the
counter's undo window, not undone), so an action pays nothing at once: the worker's
``referral-rewards`` job pays within its minute, or the next panel load does. A payment
that fails on a panel load is logged, never the screen's error (the job retries)."""

from __future__ import annotations

import datetime as dt
import logging

from perkstar_ui.domain.card_rules import Action
from perkstar_ui.services import cards, referrals

log = logging.getLogger(__name__)


def perform_action(merchant_id: int, card_id: int, action: Action, **options) -> cards.Outcome:  # noqa: ANN003
    """``cards.perform_action``. A referred card's first visit (``Outcome.referral_due``)
    is paid once it has settled, by the worker's job or a later panel load."""
    return cards.perform_action(merchant_id, card_id, action, **options)


def load_panel(merchant_id: int, card_id: int, today: dt.date | None = None) -> cards.PanelView | None:
    """``cards.load_panel``; a referral reward due (a settled first visit, a payment that
    failed) is paid here (idempotent keys: never twice). Only a referred card whose bonuses
    are not held can owe one (``PanelView.referral_may_be_due``): any other panel is the
    engine's single read."""
    panel = cards.load_panel(merchant_id, card_id, today)
    if panel is None or not panel.referral_may_be_due:
        return panel
    try:
        paid = referrals.pay_if_due(merchant_id, card_id)
    except Exception:  # the visit stands; the worker's referral-rewards job pays later
        log.exception("referral rewards of card %s (merchant %s) not paid; the worker retries", card_id, merchant_id)
        return panel
    return cards.load_panel(merchant_id, card_id, today) if paid else panel
