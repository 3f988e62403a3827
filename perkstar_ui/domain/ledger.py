"""The card ledger: append-only entries and the one fold that turns them into balances.

Every number on a card (balance, rewards, spend, LTV, bonus points, counters, dated
lots) is ``replay(entries)``; the row on ``card`` is only a cache of it. The card rules
(``domain.card_rules``) decide *which* entries an action writes; this module decides
what an entry *means*, the same way for the live cache and for a replay.

Units as in ``domain.card_types``: counts, cents, centipoints; never floats.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from perkstar_ui.domain.card_types import CardSettings, CardType, SpendTier

# Entry kinds. One action may write several (e.g. stamps_added then reward_earned).
STAMPS_ADDED = "stamps_added"
STAMPS_REMOVED = "stamps_removed"
STAMPS_EXPIRED = "stamps_expired"
REWARD_EARNED = "reward_earned"
REWARD_ADDED = "reward_added"
REWARD_REDEEMED = "reward_redeemed"
PURCHASE_ADDED = "purchase_added"
PURCHASE_REFUNDED = "purchase_refunded"
POINTS_ADDED = "points_added"
POINTS_REMOVED = "points_removed"
POINTS_EXPIRED = "points_expired"
VISITS_ADDED = "visits_added"
VISITS_REDEEMED = "visits_redeemed"
VISITS_EXPIRED = "visits_expired"
VISITS_CHECKED_IN = "visits_checked_in"  # membership: uses the period's limit
VISITS_UNCHECKED = "visits_unchecked"  # membership: the "−" on Total visits
BALANCE_ADDED = "balance_added"
BALANCE_REDEEMED = "balance_redeemed"
COUPON_REDEEMED = "coupon_redeemed"
MEMBERSHIP_STARTED = "membership_started"
TIER_CHANGED = "tier_changed"
PERIOD_CHANGED = "period_changed"
LIMITS_REFILLED = "limits_refilled"
WELCOME_BONUS = "welcome_bonus"
REFERRAL_BONUS = "referral_bonus"
IMPORT_BALANCE = "import_balance"
EXPIRATION_CHANGED = "expiration_changed"
CORRECTION = "correction"
# Stripe memberships (issue 12, domain.stripe_rules): what Stripe said about the
# subscription (status, tier, period, watermark; refill as value_delta) and one row per
# invoice paid or failed (amount, currency, status, invoice id as JSON in detail).
SUBSCRIPTION_CHANGED = "subscription_changed"
PAYMENT = "payment"

KIND_LABELS = {
    STAMPS_ADDED: "Stamps added",
    STAMPS_REMOVED: "Stamps removed",
    STAMPS_EXPIRED: "Stamps expired",
    REWARD_EARNED: "Reward earned",
    REWARD_ADDED: "Reward added",
    REWARD_REDEEMED: "Reward redeemed",
    PURCHASE_ADDED: "Purchase",
    PURCHASE_REFUNDED: "Refund",
    POINTS_ADDED: "Points added",
    POINTS_REMOVED: "Points redeemed",
    POINTS_EXPIRED: "Points expired",
    VISITS_ADDED: "Visits added",
    VISITS_REDEEMED: "Visits redeemed",
    VISITS_EXPIRED: "Visits expired",
    VISITS_CHECKED_IN: "Visit",
    VISITS_UNCHECKED: "Visit removed",
    BALANCE_ADDED: "Balance added",
    BALANCE_REDEEMED: "Balance redeemed",
    COUPON_REDEEMED: "Coupon redeemed",
    MEMBERSHIP_STARTED: "Membership started",
    TIER_CHANGED: "Tier changed",
    PERIOD_CHANGED: "Period changed",
    LIMITS_REFILLED: "Limits refilled",
    WELCOME_BONUS: "Welcome bonus",
    REFERRAL_BONUS: "Referral bonus",
    IMPORT_BALANCE: "Opening balance (import)",
    EXPIRATION_CHANGED: "Expiration changed",
    CORRECTION: "Correction",
    SUBSCRIPTION_CHANGED: "Subscription",
    PAYMENT: "Payment",
}

# Entries that are a customer's visit (spec Q5); corrections never count.
VISIT_KINDS = {
    STAMPS_ADDED, REWARD_REDEEMED, PURCHASE_ADDED, POINTS_ADDED, POINTS_REMOVED,
    BALANCE_ADDED, BALANCE_REDEEMED, COUPON_REDEEMED,
}
# Entries that are a customer's visit for activity (last visit, visits in N days, RFM):
# every earning or redeeming event; corrections never count.
ACTIVITY_KINDS = frozenset(VISIT_KINDS | {VISITS_REDEEMED, VISITS_ADDED, VISITS_CHECKED_IN})
# Kinds whose stamps restart a stamp card's "days after the last stamp" countdown.
_LAST_STAMP_KINDS = {STAMPS_ADDED, WELCOME_BONUS, REFERRAL_BONUS, PURCHASE_ADDED}


class Refused(Exception):
    """An action the rules do not allow; the message is shown to the merchant as is."""


@dataclass(frozen=True)
class Entry:
    """One ledger row, as the rules produce it and as the database stores it."""

    kind: str
    at: dt.datetime
    value_delta: int = 0
    rewards_delta: int = 0
    points_delta: int = 0  # multipass bonus centipoints; discount savings cents; membership visits
    spend_delta_cents: int = 0
    purchase_cents: int | None = None
    detail: str | None = None  # reward name, tier, period JSON, original kind of a correction
    lot_expires_on: dt.date | None = None  # for the positive delta that opens a lot


@dataclass
class CardState:
    """Everything the ledger says about one card (the cache mirrors it)."""

    balance: int = 0
    rewards_available: int = 0
    spend_total_cents: int = 0
    ltv_cents: int = 0
    points: int = 0
    tier: str | None = None
    counters: dict[str, int] = field(default_factory=dict)
    last: dict[str, str] = field(default_factory=dict)  # event → ISO date-time
    lots: list[list] = field(default_factory=list)  # [[ISO date or None, amount], …] main balance
    point_lots: list[list] = field(default_factory=list)  # same, bonus points (multipass)
    coupon_status: str = "active"
    membership: dict = field(default_factory=dict)  # tier, period, period_start, auto_renew
    level_last_redeemed: dict[str, str] = field(default_factory=dict)
    last_activity_at: str | None = None

    # -- persistence -----------------------------------------------------------------
    _COLUMNS = ("balance", "rewards_available", "spend_total_cents", "ltv_cents", "tier")

    def metrics_json(self) -> dict:
        data = dataclasses.asdict(self)
        for name in self._COLUMNS:
            data.pop(name)
        return data

    @classmethod
    def from_cache(cls, columns: dict, metrics: dict | None) -> "CardState":
        metrics = dict(metrics or {})
        known = {f.name for f in dataclasses.fields(cls)}
        # A copy: folding must never mutate the loaded JSON in place, or the ORM would see
        # "no change" when the new metrics are assigned and skip writing them.
        state = cls(**{k: v for k, v in metrics.items() if k in known}).copy()
        for name in cls._COLUMNS:
            setattr(state, name, columns[name])
        return state

    def copy(self) -> "CardState":
        return dataclasses.replace(
            self, counters=dict(self.counters), last=dict(self.last), lots=[list(lot) for lot in self.lots],
            point_lots=[list(lot) for lot in self.point_lots], membership=dict(self.membership),
            level_last_redeemed=dict(self.level_last_redeemed),
        )

    def count(self, name: str) -> int:
        return self.counters.get(name, 0)


# --- tiers -----------------------------------------------------------------------------


def spend_tier(tiers: list[SpendTier], spend_cents: int) -> SpendTier:
    """The highest tier whose threshold the cumulative spend has reached (spec Q6)."""
    current = tiers[0]
    for tier in tiers:
        if spend_cents >= tier.threshold_cents:
            current = tier
    return current


def percent_of(amount: int, percent: Decimal) -> int:
    """``amount × percent / 100`` rounded half up, in the amount's unit."""
    return int((Decimal(amount) * percent / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


# --- lots ------------------------------------------------------------------------------


def _add_lot(lots: list[list], expires: dt.date | None, amount: int) -> None:
    key = expires.isoformat() if expires else None
    for lot in lots:
        if lot[0] == key:
            lot[1] += amount
            return
    lots.append([key, amount])
    # Earliest expiry first, never-expiring last: consumption and expiry both take the front.
    lots.sort(key=lambda lot: (lot[0] is None, lot[0] or ""))


def _take_from_lots(lots: list[list], amount: int) -> None:
    while amount > 0 and lots:
        taken = min(amount, lots[0][1])
        lots[0][1] -= taken
        amount -= taken
        if lots[0][1] == 0:
            lots.pop(0)


def expired_amount(lots: list[list], today: dt.date) -> int:
    return sum(amount for expires, amount in lots if expires is not None and expires <= today.isoformat())


# --- the fold ---------------------------------------------------------------------------


def _points_measure(card_type: CardType, entry: Entry) -> int:
    return entry.points_delta if card_type == CardType.MULTIPASS else entry.value_delta


def _count(state: CardState, name: str, amount: int) -> None:
    if amount:
        state.counters[name] = state.counters.get(name, 0) + amount


def _counters(state: CardState, card_type: CardType, kind: str, entry: Entry, sign: int) -> None:
    """Lifetime totals of the profile metrics; a correction subtracts what its original added."""
    # Linear in the entry's deltas, which a correction carries negated: its totals undo themselves.
    if kind in (STAMPS_ADDED, PURCHASE_ADDED, WELCOME_BONUS, REFERRAL_BONUS) and card_type == CardType.STAMP:
        _count(state, "stamps_earned", entry.value_delta)
    if kind in (REWARD_EARNED, REWARD_ADDED):
        _count(state, "rewards_earned", entry.rewards_delta)
    if kind == REWARD_REDEEMED:
        _count(state, "rewards_redeemed", -entry.rewards_delta if card_type == CardType.STAMP else sign)
        if card_type == CardType.REWARD:
            _count(state, "points_redeemed", -entry.value_delta)
    if kind == VISITS_ADDED:
        _count(state, "visits_sold", entry.value_delta)
    if kind == VISITS_REDEEMED:
        _count(state, "visits_redeemed", -entry.value_delta)
    if kind == IMPORT_BALANCE and card_type == CardType.MULTIPASS:
        _count(state, "visits_sold", entry.value_delta)  # spec Q8
    if card_type in (CardType.CASHBACK, CardType.REWARD, CardType.MULTIPASS):
        points = _points_measure(card_type, entry)
        if kind in (PURCHASE_ADDED, POINTS_ADDED, WELCOME_BONUS, REFERRAL_BONUS, VISITS_REDEEMED, PURCHASE_REFUNDED):
            if card_type != CardType.MULTIPASS or kind in (POINTS_ADDED, VISITS_REDEEMED):
                _count(state, "points_earned", points)
        if kind == POINTS_REMOVED:
            _count(state, "points_redeemed", -points)
    if kind == REFERRAL_BONUS:
        _count(state, "referral_earned", entry.value_delta)
    if card_type == CardType.MEMBERSHIP:
        # Membership counts check-ins in points_delta: limits (value) may be unlimited.
        _count(state, "total_visits", entry.points_delta)


_LAST_KEYS = {
    STAMPS_ADDED: "stamp_earned",
    REWARD_EARNED: "reward_earned",
    REWARD_ADDED: "reward_earned",
    REWARD_REDEEMED: "reward_redeemed",
    VISITS_ADDED: "visit_added",
    VISITS_REDEEMED: "visit_redeemed",
    VISITS_CHECKED_IN: "visit",
    POINTS_REMOVED: "points_redeemed",
    BALANCE_ADDED: "balance_added",
    BALANCE_REDEEMED: "balance_redeemed",
    COUPON_REDEEMED: "coupon_redeemed",
    PURCHASE_ADDED: "purchase",
}


def fold(state: CardState, entry: Entry, card_type: CardType, settings: CardSettings) -> CardState:
    """Apply one entry to ``state`` in place and return it."""
    card_type = CardType(card_type)
    correction = entry.kind == CORRECTION
    kind = (entry.detail or "") if correction else entry.kind
    sign = -1 if correction else 1

    state.balance += entry.value_delta
    state.rewards_available += entry.rewards_delta
    state.points += entry.points_delta
    state.spend_total_cents += entry.spend_delta_cents
    if entry.purchase_cents:
        state.ltv_cents = max(0, state.ltv_cents + entry.purchase_cents)

    # Dated lots follow the balance they belong to: positive opens, negative consumes.
    lot_lists = [(state.lots, entry.value_delta)]
    if card_type == CardType.MULTIPASS:
        lot_lists.append((state.point_lots, entry.points_delta))
    for lots, delta in lot_lists:
        if delta > 0:
            _add_lot(lots, entry.lot_expires_on, delta)
        elif delta < 0:
            _take_from_lots(lots, -delta)

    _counters(state, card_type, kind, entry, sign)
    at = entry.at.isoformat()
    if not correction:
        if entry.kind in VISIT_KINDS:
            _count(state, "total_visits", 1)
        elif entry.kind == VISITS_REDEEMED:
            _count(state, "total_visits", -entry.value_delta)  # spec Q16: +N
        key = _LAST_KEYS.get(entry.kind)
        if key:
            state.last[key] = at
        if card_type == CardType.STAMP and entry.kind in _LAST_STAMP_KINDS and entry.value_delta > 0:
            state.last["stamp_earned"] = at
        if entry.kind in (PURCHASE_ADDED, POINTS_ADDED, WELCOME_BONUS, REFERRAL_BONUS) and (
            _points_measure(card_type, entry) > 0
        ):
            state.last["point_earned"] = at
        if entry.kind == REWARD_REDEEMED and entry.detail:
            state.level_last_redeemed[entry.detail] = at
        if entry.kind == COUPON_REDEEMED:
            state.coupon_status = "redeemed"
        if entry.kind in (MEMBERSHIP_STARTED, TIER_CHANGED, PERIOD_CHANGED, LIMITS_REFILLED,
                          SUBSCRIPTION_CHANGED) and entry.detail:
            state.membership.update(json.loads(entry.detail))
        if entry.kind in ACTIVITY_KINDS:
            state.last_activity_at = at
    elif kind == COUPON_REDEEMED:
        state.coupon_status = "active"

    if card_type in (CardType.CASHBACK, CardType.DISCOUNT):
        state.tier = spend_tier(settings.tiers, state.spend_total_cents).name  # type: ignore[union-attr]
    elif card_type == CardType.MEMBERSHIP:
        state.tier = state.membership.get("tier")
    return state


def initial_state(card_type: CardType, settings: CardSettings) -> CardState:
    """A card before its first entry: spend-tiered types already sit in their first tier."""
    state = CardState()
    if CardType(card_type) in (CardType.CASHBACK, CardType.DISCOUNT):
        state.tier = spend_tier(settings.tiers, 0).name  # type: ignore[union-attr]
    return state


def replay(entries: list[Entry], card_type: CardType, settings: CardSettings) -> CardState:
    """The card's state from its whole ledger, oldest entry first."""
    state = initial_state(card_type, settings)
    for entry in entries:
        fold(state, entry, card_type, settings)
    return state


def negative_balances(state: CardState) -> list[str]:
    """Names of balances below zero: the rules refuse any action that leads here (spec Q18)."""
    return [
        name
        for name, value in (
            ("balance", state.balance),
            ("rewards", state.rewards_available),
            ("points", state.points),
            ("spend", state.spend_total_cents),
        )
        if value < 0
    ]
