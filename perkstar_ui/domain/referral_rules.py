"""When a referred card's first visit pays the referral rewards (customers.md §15, spec Q27,
issue 14 review). Plain Python: no Reflex, no database.

The first visit is the card's first earning transaction (``card_rules.EARNING_KINDS``,
the same the card engine reports as ``referral_due``): a stamp, points, a purchase, a
visit checked in or redeemed, and on a multipass the sale of visits (the customer's first
purchase on it, spec Q27's "purchase"). It pays only once it has **settled**: older than
the counter's undo window (``FIRST_VISIT_SETTLES``) and not corrected. An accidental tap
undone at the counter then pays nobody; the worker's ``referral-rewards`` job (every
minute) or the next panel load pays a visit that stayed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from perkstar_ui.domain import ledger as L
from perkstar_ui.domain.card_rules import EARNING_KINDS
from perkstar_ui.domain.counter import UNDO_SECONDS

FIRST_VISIT_SETTLES = dt.timedelta(seconds=UNDO_SECONDS)
_NOT_A_VISIT_SOURCES = {"system"}  # expiries, conversions, bonuses: never a visit


@dataclass(frozen=True)
class LedgerRow:
    id: int
    kind: str
    at: dt.datetime
    source: str
    action_key: str | None = None
    correction_of_id: int | None = None


def first_visit_settled(rows: list[LedgerRow], now: dt.datetime) -> bool:
    """Whether the card's ledger holds an earning visit older than the undo window whose
    action was not corrected (a correction names one row; it reverses that row's action)."""
    by_id = {row.id: row for row in rows}
    corrected_ids: set[int] = set()
    corrected_keys: set[str] = set()
    for row in rows:
        if row.kind == L.CORRECTION and row.correction_of_id is not None:
            corrected_ids.add(row.correction_of_id)
            original = by_id.get(row.correction_of_id)
            if original is not None and original.action_key:
                corrected_keys.add(original.action_key)
    return any(
        row.kind in EARNING_KINDS and row.source not in _NOT_A_VISIT_SOURCES
        and row.id not in corrected_ids and not (row.action_key and row.action_key in corrected_keys)
        and now - row.at >= FIRST_VISIT_SETTLES
        for row in rows
    )


def may_owe_bonus(referred_by_card_id: int | None, bonus_hold: bool, status: str) -> bool:
    """Whether a card's referral rewards can be due at all: it was referred, its bonuses
    are not held for a contact confirmation, and it is not deleted. The rest (the program
    on, not yet paid, the trigger happened) needs the database: ``services.referrals``."""
    return referred_by_card_id is not None and not bonus_hold and status != "deleted"
