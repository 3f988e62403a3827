"""Profile metrics of each card type (cards.md §x.2), as plain contract values.

Labels are the spec's exact metric names; ``metric_key`` gives the ``metric-*`` test id.
Values: integers as digits, money and points as ``12.50``, dates ISO, empty when none.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from perkstar_ui.domain import ledger as L
from perkstar_ui.domain import stripe_rules
from perkstar_ui.domain.card_rules import STRIPE_MODE, _tier_limit, add_period
from perkstar_ui.domain.card_types import BalanceUnit, CardSettings, CardType
from perkstar_ui.domain.formatting import format_units
from perkstar_ui.domain.ledger import CardState


@dataclass(frozen=True)
class Metric:
    key: str  # kebab-case, the ``metric-<key>`` test id
    label: str
    value: str


@dataclass(frozen=True)
class BalanceView:
    balance: str  # ``card-balance``
    tier: str  # ``card-tier``; empty where the type has none
    metrics: list[Metric]


def metric_key(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


def _money(cents: int) -> str:
    return format_units(cents, BalanceUnit.CENTS)


def _points(centipoints: int) -> str:
    return format_units(centipoints, BalanceUnit.CENTIPOINTS)


def _date(state: CardState, key: str) -> str:
    value = state.last.get(key)
    return value[:10] if value else ""


def _next_level(settings, state: CardState) -> str:  # noqa: ANN001
    above = [t.threshold_cents for t in settings.tiers if t.threshold_cents > state.spend_total_cents]
    return _money(min(above) - state.spend_total_cents) if above else _money(0)


def _percent(settings, state: CardState) -> str:  # noqa: ANN001
    return f"{L.spend_tier(settings.tiers, state.spend_total_cents).percent:.2f}"


def view(card_type: CardType, settings: CardSettings, state: CardState, *, valid_from: str = "", expires_on: dt.date | None = None,
         today: dt.date | None = None) -> BalanceView:
    card_type = CardType(card_type)
    today = today or dt.date.today()
    s = state
    visits = str(s.count("total_visits"))
    ltv = _money(s.ltv_cents)
    rows: list[tuple[str, str]]
    balance, tier = "", ""
    if card_type == CardType.STAMP:
        balance = str(s.balance)
        rows = [
            ("LTV", ltv), ("Stamps earned", str(s.count("stamps_earned"))),
            ("Rewards earned", str(s.count("rewards_earned"))), ("Rewards redeemed", str(s.count("rewards_redeemed"))),
            ("Available rewards", str(s.rewards_available)),
            ("Last stamp earned", _date(s, "stamp_earned")), ("Last reward earned", _date(s, "reward_earned")),
            ("Last reward redeemed", _date(s, "reward_redeemed")), ("Total visits", visits),
            ("Actual stamps balance on card", balance),
            ("Stamps earned by referral program", str(s.count("referral_earned"))),
        ]
    elif card_type == CardType.MULTIPASS:
        balance = str(s.balance)
        rows = [
            ("LTV", ltv), ("Redeemed visits", str(s.count("visits_redeemed"))), ("Available visits", balance),
            ("Visits sold", str(s.count("visits_sold"))), ("Last visit redemption", _date(s, "visit_redeemed")),
            ("Last visit added", _date(s, "visit_added")), ("Bonus balance", _points(s.points)),
            ("Total visits", visits), ("Visits by referral program", str(s.count("referral_earned"))),
        ]
    elif card_type == CardType.CASHBACK:
        balance, tier = _points(s.balance), s.tier or ""
        rows = [
            ("LTV", ltv), ("Current balance", balance), ("Points earned", _points(s.count("points_earned"))),
            ("Points redeemed", _points(s.count("points_redeemed"))), ("Transaction amount", _money(s.spend_total_cents)),
            ("Last point earned", _date(s, "point_earned")), ("Last points redeemed", _date(s, "points_redeemed")),
            ("Cashback percentage", _percent(settings, s)), ("To the next cashback level", _next_level(settings, s)),
            ("Cashback", tier), ("Points earned by referral program", _points(s.count("referral_earned"))),
            ("Total visits", visits),
        ]
    elif card_type == CardType.GIFT:
        balance = _money(s.balance)
        rows = [("LTV", ltv), ("Current balance", balance), ("Card valid from", valid_from), ("Total visits", visits)]
    elif card_type == CardType.REWARD:
        balance = _points(s.balance)
        available = sum(1 for level in settings.levels if level.centipoints <= s.balance)  # type: ignore[union-attr]
        rows = [
            ("LTV", ltv), ("Current balance", balance), ("Points earned", _points(s.count("points_earned"))),
            ("Points redeemed", _points(s.count("points_redeemed"))), ("Transaction amount", _money(s.spend_total_cents)),
            ("Last point earned", _date(s, "point_earned")), ("Last points redeemed", _date(s, "points_redeemed")),
            ("Available rewards", str(available)), ("Rewards redeemed", str(s.count("rewards_redeemed"))),
            ("Points earned by referral program", _points(s.count("referral_earned"))), ("Total visits", visits),
        ]
    elif card_type == CardType.COUPON:
        rows = [("LTV", ltv), ("Coupon status", s.coupon_status.capitalize()),
                ("Redemption date", _date(s, "coupon_redeemed")), ("Total visits", visits)]
    elif card_type == CardType.MEMBERSHIP:
        limit = _tier_limit(settings, s.membership.get("tier"))  # type: ignore[arg-type]
        balance, tier = (str(s.balance) if limit is not None else ""), s.membership.get("tier") or ""
        expired = expires_on is not None and expires_on < today
        active = s.membership.get("active", True) and not expired
        renewal = ""
        if settings.mode == STRIPE_MODE:  # type: ignore[union-attr]
            # Stripe's word: its status label, and the current period's end as the renewal date.
            status = stripe_rules.STATUS_LABELS[stripe_rules.membership_status(s)]
            renewal = s.membership.get("period_end") or ""
        else:
            status = "Active" if active else "Inactive"
            if s.membership.get("period_start") and s.membership.get("period"):
                renewal = add_period(dt.date.fromisoformat(s.membership["period_start"]), s.membership["period"]).isoformat()
        rows = [
            ("LTV", ltv), ("Membership tier", tier), ("Subscription status", status),
            ("Subscription period", (s.membership.get("period") or "").capitalize()),
            ("Subscription renewal date", renewal), ("Limits", balance), ("Total visits", str(s.count("total_visits"))),
        ]
    else:  # discount
        balance, tier = _money(s.spend_total_cents), s.tier or ""
        rows = [
            ("LTV", ltv), ("Transactions amount", balance), ("Last visit date", _date(s, "purchase")),
            ("Discount level", tier), ("Total savings", _money(s.points)), ("Discount percentage", _percent(settings, s)),
            ("To the next discount level", _next_level(settings, s)),
            ("Points earned by referral program", _money(s.count("referral_earned"))), ("Total visits", visits),
        ]
    return BalanceView(balance=balance, tier=tier, metrics=[Metric(metric_key(label), label, value) for label, value in rows])
