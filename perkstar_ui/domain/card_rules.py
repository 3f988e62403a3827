"""The rules of the eight card types (cards.md): which ledger entries an action writes.

``apply_action`` turns a merchant's action (a verb of cards.md §0.7 with its Value,
Purchase amount, …) into entries, or raises ``Refused`` with the reason shown in the
dialog. It never changes anything itself: the service folds the entries into the cache
and stores them in one transaction. ``settle`` writes what time alone causes (expired
stamps, points and visits; membership limits refilled at a new period).
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from perkstar_ui.domain import ledger as L
from perkstar_ui.domain import stripe_rules
from perkstar_ui.domain.card_types import (
    BALANCE_UNITS,
    BalanceUnit,
    CardSettings,
    CardType,
    MembershipSettings,
)
from perkstar_ui.domain.formatting import format_units
from perkstar_ui.domain.ledger import CardState, Entry, Refused

MAX_COUNT = 1_000  # stamps or visits in one action
MAX_CENTS = 100_000_000  # 1,000,000.00 in one action

# cards.md §0.7: verbs per type, in the order the panel shows them.
TYPE_VERBS: dict[CardType, tuple[str, ...]] = {
    CardType.STAMP: ("add-stamps", "remove-stamps", "add-amount", "subtract-amount", "add-reward", "redeem-reward"),
    CardType.MULTIPASS: ("add-visits", "redeem-visits", "add-points", "remove-points"),
    CardType.CASHBACK: ("add-points", "remove-points", "add-amount", "subtract-amount"),
    CardType.GIFT: ("add-balance", "remove-balance"),
    CardType.REWARD: ("add-amount", "subtract-amount", "add-points", "remove-points", "redeem-reward"),
    CardType.COUPON: ("redeem",),
    CardType.MEMBERSHIP: ("add-visits", "remove-visits", "change-tier", "change-period"),
    CardType.DISCOUNT: ("add-amount", "subtract-amount"),
}
COMMON_VERBS = ("change-expiration", "send-push", "delete-card")

VERB_LABELS = {
    "add-stamps": "Add stamps",
    "remove-stamps": "Remove stamps",
    "add-amount": "Add purchase",
    "subtract-amount": "Subtract purchase",
    "add-reward": "Add reward",
    "redeem-reward": "Redeem reward",
    "add-visits": "Add visits",
    "redeem-visits": "Redeem visits",
    "remove-visits": "Remove visits",
    "add-points": "Add points",
    "remove-points": "Remove points",
    "add-balance": "Add balance",
    "remove-balance": "Remove balance",
    "redeem": "Redeem coupon",
    "change-tier": "Change tier",
    "change-period": "Change period",
    "change-expiration": "Change expiration",
    "send-push": "Send push",
    "delete-card": "Delete card",
}

PERIODS = ("daily", "weekly", "monthly", "quarterly", "yearly")
STRIPE_MODE = "stripe"  # MembershipSettings.mode billed by Stripe (domain.stripe_rules)


class Unit:
    COUNT, MONEY, POINTS, NONE = "count", "money", "points", "none"


def value_unit(card_type: CardType, verb: str) -> str:
    """What the dialog's Value means for this verb (and so how it is parsed)."""
    if verb in ("add-amount", "subtract-amount", "add-balance", "remove-balance"):
        return Unit.MONEY
    if verb in ("add-points", "remove-points"):
        return Unit.POINTS
    if verb in ("add-stamps", "remove-stamps", "add-reward", "add-visits", "redeem-visits", "remove-visits"):
        return Unit.COUNT
    if verb == "redeem-reward" and card_type == CardType.STAMP:
        return Unit.COUNT
    return Unit.NONE


def visible_verbs(card_type: CardType, settings: CardSettings) -> list[str]:
    """The panel's action buttons: the type's verbs minus those its mode forbids (§0.7)."""
    card_type = CardType(card_type)
    verbs = list(TYPE_VERBS[card_type]) + list(COMMON_VERBS)
    if isinstance(settings, MembershipSettings):
        if settings.mode in (STRIPE_MODE, "v1"):
            verbs = [v for v in verbs if v not in ("change-tier", "change-period")]
        if settings.mode == STRIPE_MODE:
            verbs.remove("change-expiration")
    return verbs


def parse_amount(text: str, unit: str, *, required: bool = True, label: str = "Value") -> int | None:
    """The dialog's text as an integer in the unit (count, cents or centipoints)."""
    text = (text or "").strip().replace(",", ".")
    if not text:
        if required:
            raise Refused(f"{label} is required.")
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise Refused(f"{label} must be a number.") from None
    if not number.is_finite() or number < 0:
        raise Refused(f"{label} must be a positive number.")
    if unit == Unit.COUNT:
        if number != number.to_integral_value():
            raise Refused(f"{label} must be a whole number.")
        amount = int(number)
        if amount > MAX_COUNT:
            raise Refused(f"{label} can be at most {MAX_COUNT}.")
        return amount
    if number.as_tuple().exponent < -2:  # type: ignore[operator]
        raise Refused(f"{label} can have at most two decimals.")
    amount = int(number * 100)
    if amount > MAX_CENTS:
        raise Refused(f"{label} is too large.")
    return amount


@dataclass(frozen=True)
class Action:
    verb: str
    value: int = 0  # in the verb's unit: count, cents or centipoints
    purchase_cents: int | None = None
    reward: str | None = None  # reward level name (reward card)
    tier: str | None = None
    period: str | None = None
    date: dt.date | None = None


# --- helpers -----------------------------------------------------------------------------


def _unit(card_type: CardType) -> BalanceUnit:
    return BALANCE_UNITS[card_type]


def _show(amount: int, unit: BalanceUnit) -> str:
    return format_units(amount, unit)


def _lot_expiry(days: int | None, now: dt.datetime) -> dt.date | None:
    return now.date() + dt.timedelta(days=days) if days else None


def add_period(start: dt.date, period: str, count: int = 1) -> dt.date:
    if period == "daily":
        return start + dt.timedelta(days=count)
    if period == "weekly":
        return start + dt.timedelta(weeks=count)
    months = {"monthly": 1, "quarterly": 3, "yearly": 12}[period] * count
    year, month = divmod(start.month - 1 + months, 12)
    year, month = start.year + year, month + 1
    return dt.date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def _tier_limit(settings: MembershipSettings, tier_name: str | None) -> int | None:
    if settings.mode == "v1":
        return None
    for tier in settings.tiers:
        if tier.name == tier_name:
            return tier.visit_limit
    return None


def _stamp_rewards(settings, balance: int, added: int, at: dt.datetime) -> list[Entry]:  # noqa: ANN001
    """Rewards earned by adding stamps: milestones, then the full count with carry-over (Q17)."""
    count, milestones = settings.stamp_count, settings.milestones
    position, target = balance, balance + added
    rewards, consumed = 0, 0
    while True:
        end = min(target, count)
        rewards += sum(1 for m in milestones if position < m <= end)
        if target < count:
            break
        rewards += 1
        consumed += count
        target -= count
        position = 0
    if not rewards:
        return []
    return [Entry(L.REWARD_EARNED, at, value_delta=-consumed, rewards_delta=rewards)]


def _spend_purchase(action: Action) -> int:
    """A purchase amount verb's LTV: the Purchase amount if given, else the Value itself."""
    return action.purchase_cents if action.purchase_cents is not None else action.value


def _need_value(action: Action, what: str) -> None:
    if action.value <= 0:
        raise Refused(f"Enter the {what} (more than 0).")


# --- the action -----------------------------------------------------------------------------


def is_expired(expires_on: dt.date | None, today: dt.date) -> bool:
    return expires_on is not None and expires_on < today


def apply_action(
    card_type: CardType,
    settings: CardSettings,
    state: CardState,
    action: Action,
    now: dt.datetime,
    *,
    status: str = "installed",
    expires_on: dt.date | None = None,
) -> list[Entry]:
    """The entries this action writes on a card in ``state``; ``Refused`` if not allowed."""
    card_type = CardType(card_type)
    verb = action.verb
    if verb not in visible_verbs(card_type, settings) or verb in ("send-push", "delete-card"):
        raise Refused("This action is not available on this card.")
    if status == "deleted":
        raise Refused("This card was deleted; it no longer works.")
    if verb == "change-expiration":
        return [Entry(L.EXPIRATION_CHANGED, now, detail=action.date.isoformat() if action.date else "")]
    if is_expired(expires_on, now.date()):
        if isinstance(settings, MembershipSettings) and settings.mode == STRIPE_MODE:
            raise Refused(f"This membership's paid period ended on {expires_on.isoformat()}; "  # type: ignore[union-attr]
                          "it is valid again once Stripe reports the renewal.")
        raise Refused(f"This card expired on {expires_on.isoformat()}; extend the expiration date first.")  # type: ignore[union-attr]
    entries = _RULES[card_type](settings, state, action, now)
    after = state.copy()
    for entry in entries:
        L.fold(after, entry, card_type, settings)
    if L.negative_balances(after):  # the per-verb checks should have said why already
        raise Refused("This would take a balance below zero.")
    return entries


def _stamp(settings, state: CardState, action: Action, now: dt.datetime) -> list[Entry]:  # noqa: ANN001
    verb, value = action.verb, action.value
    if verb == "add-stamps":
        _need_value(action, "number of stamps")
        if settings.purchase_amount_required and action.purchase_cents is None:
            raise Refused("Enter the purchase amount: this card records it with every stamp.")
        added = Entry(L.STAMPS_ADDED, now, value_delta=value, purchase_cents=action.purchase_cents)
        return [added, *_stamp_rewards(settings, state.balance, value, now)]
    if verb == "remove-stamps":
        _need_value(action, "number of stamps")
        if value > state.balance:
            raise Refused(f"Cannot remove more stamps than the customer currently has ({state.balance}).")
        return [Entry(L.STAMPS_REMOVED, now, value_delta=-value)]
    if verb == "add-amount":
        _need_value(action, "purchase amount")
        stamps = value // settings.spend_per_stamp_cents if settings.mechanic == "spend" else 0
        entry = Entry(L.PURCHASE_ADDED, now, value_delta=stamps, spend_delta_cents=value,
                      purchase_cents=_spend_purchase(action))
        return [entry, *_stamp_rewards(settings, state.balance, stamps, now)] if stamps else [entry]
    if verb == "subtract-amount":
        _need_value(action, "purchase amount")
        if value > state.spend_total_cents:
            raise Refused(f"Cannot subtract more than the recorded purchases ({_show(state.spend_total_cents, BalanceUnit.CENTS)}).")
        stamps = value // settings.spend_per_stamp_cents if settings.mechanic == "spend" else 0
        if stamps > state.balance:
            raise Refused(f"Cannot remove more stamps than the customer currently has ({state.balance}).")
        return [Entry(L.PURCHASE_REFUNDED, now, value_delta=-stamps, spend_delta_cents=-value,
                      purchase_cents=-_spend_purchase(action))]
    if verb == "add-reward":
        _need_value(action, "number of rewards")
        return [Entry(L.REWARD_ADDED, now, rewards_delta=value)]
    if verb == "redeem-reward":
        value = value or 1
        if value > state.rewards_available:
            raise Refused(f"Cannot redeem more rewards than are available ({state.rewards_available}).")
        return [Entry(L.REWARD_REDEEMED, now, rewards_delta=-value, purchase_cents=action.purchase_cents)]
    raise Refused("This action is not available on this card.")


def _multipass(settings, state: CardState, action: Action, now: dt.datetime) -> list[Entry]:  # noqa: ANN001
    verb, value = action.verb, action.value
    if verb == "add-visits":
        _need_value(action, "number of visits")
        return [Entry(L.VISITS_ADDED, now, value_delta=value, purchase_cents=action.purchase_cents,
                      lot_expires_on=_lot_expiry(settings.visit_life_days, now))]
    if verb == "redeem-visits":
        _need_value(action, "number of visits")
        if value > state.balance:
            raise Refused(f"Cannot redeem more visits than are available ({state.balance}).")
        bonus = value * settings.bonus_centipoints_per_visit
        return [Entry(L.VISITS_REDEEMED, now, value_delta=-value, points_delta=bonus,
                      purchase_cents=action.purchase_cents, lot_expires_on=_lot_expiry(settings.points_life_days, now))]
    if verb == "add-points":
        _need_value(action, "number of points")
        return [Entry(L.POINTS_ADDED, now, points_delta=value, purchase_cents=action.purchase_cents,
                      lot_expires_on=_lot_expiry(settings.points_life_days, now))]
    if verb == "remove-points":
        _need_value(action, "number of points")
        if value > state.points:
            raise Refused(f"Cannot deduct more points than the bonus balance ({_show(state.points, BalanceUnit.CENTIPOINTS)}).")
        return [Entry(L.POINTS_REMOVED, now, points_delta=-value)]
    raise Refused("This action is not available on this card.")


def _points_removal(state: CardState, value: int) -> None:
    if value > state.balance:
        raise Refused(f"Cannot deduct more points than the current balance ({_show(state.balance, BalanceUnit.CENTIPOINTS)}).")


def _cashback(settings, state: CardState, action: Action, now: dt.datetime) -> list[Entry]:  # noqa: ANN001
    verb, value = action.verb, action.value
    expiry = _lot_expiry(settings.points_life_days, now)
    if verb == "add-points":
        _need_value(action, "number of points")
        # The purchase amount feeds LTV only; it does not change the transaction amount (§3.3).
        return [Entry(L.POINTS_ADDED, now, value_delta=value, purchase_cents=action.purchase_cents, lot_expires_on=expiry)]
    if verb == "remove-points":
        _need_value(action, "number of points")
        _points_removal(state, value)
        return [Entry(L.POINTS_REMOVED, now, value_delta=-value)]
    tier = L.spend_tier(settings.tiers, state.spend_total_cents)
    if verb == "add-amount":
        _need_value(action, "purchase amount")
        points = L.percent_of(value, tier.percent)  # cents × % = centipoints
        return [Entry(L.PURCHASE_ADDED, now, value_delta=points, spend_delta_cents=value,
                      purchase_cents=_spend_purchase(action), detail=f"{tier.percent}%", lot_expires_on=expiry)]
    if verb == "subtract-amount":
        _need_value(action, "purchase amount")
        if value > state.spend_total_cents:
            raise Refused(f"Cannot subtract more than the transaction amount ({_show(state.spend_total_cents, BalanceUnit.CENTS)}).")
        points = L.percent_of(value, tier.percent)
        if points > state.balance:
            raise Refused(
                f"This refund takes back {_show(points, BalanceUnit.CENTIPOINTS)} points but the balance is "
                f"{_show(state.balance, BalanceUnit.CENTIPOINTS)}."
            )
        return [Entry(L.PURCHASE_REFUNDED, now, value_delta=-points, spend_delta_cents=-value,
                      purchase_cents=-_spend_purchase(action), detail=f"{tier.percent}%")]
    raise Refused("This action is not available on this card.")


def _gift(settings, state: CardState, action: Action, now: dt.datetime) -> list[Entry]:  # noqa: ANN001
    verb, value = action.verb, action.value
    if verb == "add-balance":
        _need_value(action, "amount")
        return [Entry(L.BALANCE_ADDED, now, value_delta=value, purchase_cents=action.purchase_cents)]
    if verb == "remove-balance":
        _need_value(action, "amount")
        if value > state.balance:
            raise Refused(f"Cannot remove more than the current balance ({_show(state.balance, BalanceUnit.CENTS)}).")
        if settings.redemption == "single" and value != state.balance:
            raise Refused(
                f"This gift card is single use: redeem the whole balance ({_show(state.balance, BalanceUnit.CENTS)}) at once."
            )
        return [Entry(L.BALANCE_REDEEMED, now, value_delta=-value, purchase_cents=action.purchase_cents)]
    raise Refused("This action is not available on this card.")


def _reward_points_for(settings, state: CardState, amount: int, now: dt.datetime) -> int:  # noqa: ANN001
    if settings.mechanic == "spend":
        return amount * settings.centipoints_per_spend_unit // settings.spend_unit_cents
    if settings.mechanic == "visit":
        if settings.one_visit_per_day and state.last.get("point_earned", "")[:10] == now.date().isoformat():
            return 0
        return settings.centipoints_per_visit
    return 0


_USAGE_WINDOWS = {"day": dt.timedelta(days=1), "week": dt.timedelta(weeks=1), "month": dt.timedelta(days=30)}


def _reward(settings, state: CardState, action: Action, now: dt.datetime) -> list[Entry]:  # noqa: ANN001
    verb, value = action.verb, action.value
    if verb == "add-amount":
        _need_value(action, "purchase amount")
        points = _reward_points_for(settings, state, value, now)
        return [Entry(L.PURCHASE_ADDED, now, value_delta=points, spend_delta_cents=value,
                      purchase_cents=_spend_purchase(action))]
    if verb == "subtract-amount":
        _need_value(action, "purchase amount")
        if value > state.spend_total_cents:
            raise Refused(f"Cannot subtract more than the transaction amount ({_show(state.spend_total_cents, BalanceUnit.CENTS)}).")
        points = value * settings.centipoints_per_spend_unit // settings.spend_unit_cents if settings.mechanic == "spend" else 0
        _points_removal(state, points)
        return [Entry(L.PURCHASE_REFUNDED, now, value_delta=-points, spend_delta_cents=-value,
                      purchase_cents=-_spend_purchase(action))]
    if verb == "add-points":
        _need_value(action, "number of points")
        return [Entry(L.POINTS_ADDED, now, value_delta=value, purchase_cents=action.purchase_cents)]
    if verb == "remove-points":
        _need_value(action, "number of points")
        _points_removal(state, value)
        return [Entry(L.POINTS_REMOVED, now, value_delta=-value)]
    if verb == "redeem-reward":
        level = next((lvl for lvl in settings.levels if lvl.name == action.reward), None)
        if level is None:
            raise Refused("Choose a reward.")
        if level.centipoints > state.balance:
            raise Refused(
                f"Not enough points for {level.name}: it needs {_show(level.centipoints, BalanceUnit.CENTIPOINTS)}, "
                f"the balance is {_show(state.balance, BalanceUnit.CENTIPOINTS)}."
            )
        window = _USAGE_WINDOWS.get(level.usage_limit)
        last = state.level_last_redeemed.get(level.name)
        if window and last and now - dt.datetime.fromisoformat(last) < window:
            raise Refused(f"{level.name} can be redeemed once a {level.usage_limit}; it was last redeemed on {last[:10]}.")
        return [Entry(L.REWARD_REDEEMED, now, value_delta=-level.centipoints, detail=level.name,
                      purchase_cents=action.purchase_cents)]
    raise Refused("This action is not available on this card.")


def _coupon(settings, state: CardState, action: Action, now: dt.datetime) -> list[Entry]:  # noqa: ANN001
    if state.coupon_status == "redeemed":
        raise Refused("This coupon has already been redeemed.")
    return [Entry(L.COUPON_REDEEMED, now, purchase_cents=action.purchase_cents or 0)]


def _membership_detail(**values) -> str:  # noqa: ANN003
    return json.dumps(values, sort_keys=True)


def _membership(settings: MembershipSettings, state: CardState, action: Action, now: dt.datetime) -> list[Entry]:
    verb, value = action.verb, action.value
    if settings.mode == STRIPE_MODE:
        status = stripe_rules.membership_status(state)
        if status != stripe_rules.MembershipStatus.VALID:  # only a paid membership allows visits
            raise Refused(f"This membership is {stripe_rules.STATUS_LABELS[status]}: "
                          "it allows visits once Stripe reports it paid (Valid).")
    elif settings.mode != "v1" and state.membership.get("active") is False:
        raise Refused("This membership is not active; it must be renewed first.")
    limit = _tier_limit(settings, state.membership.get("tier"))
    if verb == "add-visits":
        _need_value(action, "number of visits")
        if limit is not None and value > state.balance:
            raise Refused(f"Cannot use more visits than the limit left in this period ({state.balance}).")
        return [Entry(L.VISITS_CHECKED_IN, now, value_delta=-value if limit is not None else 0, points_delta=value,
                      purchase_cents=action.purchase_cents)]
    if verb == "remove-visits":
        _need_value(action, "number of visits")
        if value > state.points:
            raise Refused(f"Cannot remove more visits than the customer has ({state.points}).")
        give_back = min(value, limit - state.balance) if limit is not None else 0
        return [Entry(L.VISITS_UNCHECKED, now, value_delta=give_back, points_delta=-value)]
    if verb == "change-tier":
        tier = next((t for t in settings.tiers if t.name == action.tier), None)
        if tier is None:
            raise Refused("Choose a tier.")
        if tier.name == state.membership.get("tier"):
            raise Refused(f"The membership is already {tier.name}.")
        used = (limit - state.balance) if limit is not None else 0
        new_balance = max(0, tier.visit_limit - used) if tier.visit_limit is not None else 0
        return [Entry(L.TIER_CHANGED, now, value_delta=new_balance - state.balance, detail=_membership_detail(tier=tier.name))]
    if verb == "change-period":
        if action.period not in PERIODS:
            raise Refused("Choose a period.")
        # A new period starts at once, with the tier's full limit (cards.md §7.4).
        refill = (limit - state.balance) if limit is not None else 0
        return [Entry(L.PERIOD_CHANGED, now, value_delta=refill,
                      detail=_membership_detail(period=action.period, period_start=now.date().isoformat()))]
    raise Refused("This action is not available on this card.")


def _discount(settings, state: CardState, action: Action, now: dt.datetime) -> list[Entry]:  # noqa: ANN001
    verb, value = action.verb, action.value
    _need_value(action, "purchase amount")
    if verb == "add-amount":
        tier = L.spend_tier(settings.tiers, state.spend_total_cents)
        savings = L.percent_of(value, tier.percent)
        return [Entry(L.PURCHASE_ADDED, now, value_delta=value, spend_delta_cents=value, points_delta=savings,
                      purchase_cents=_spend_purchase(action), detail=f"{tier.percent}%")]
    if verb == "subtract-amount":
        if value > state.balance:
            raise Refused(f"Cannot subtract more than the transactions amount ({_show(state.balance, BalanceUnit.CENTS)}).")
        return [Entry(L.PURCHASE_REFUNDED, now, value_delta=-value, spend_delta_cents=-value,
                      purchase_cents=-_spend_purchase(action))]
    raise Refused("This action is not available on this card.")


_RULES = {
    CardType.STAMP: _stamp,
    CardType.MULTIPASS: _multipass,
    CardType.CASHBACK: _cashback,
    CardType.GIFT: _gift,
    CardType.REWARD: _reward,
    CardType.COUPON: _coupon,
    CardType.MEMBERSHIP: _membership,
    CardType.DISCOUNT: _discount,
}


# --- issuing, time, corrections, referrals ------------------------------------------------


@dataclass(frozen=True)
class IssueOptions:
    """What the bulk-issue dialog may set (customers.md §11)."""

    starting_balance: int = 0  # in the card's unit
    welcome_stamps: int | None = None  # None: the template's
    tier: str | None = None
    period: str | None = None
    expires_on: dt.date | None = None  # overrides the template's expiration for these cards
    welcome_bonus: bool = True  # False: held until the holder confirms their contact (issue 14)


def opening_entries(card_type: CardType, settings: CardSettings, options: IssueOptions, now: dt.datetime) -> list[Entry]:
    card_type = CardType(card_type)
    entries: list[Entry] = []
    if card_type == CardType.STAMP:
        welcome = settings.welcome_stamps if options.welcome_stamps is None else options.welcome_stamps
        if welcome >= settings.stamp_count:
            raise Refused(f"Welcome stamps must be fewer than the stamp count ({settings.stamp_count}).")
        if welcome and options.welcome_bonus:
            entries.append(Entry(L.WELCOME_BONUS, now, value_delta=welcome))
    elif card_type in (CardType.CASHBACK, CardType.REWARD) and settings.welcome_centipoints and options.welcome_bonus:
        entries.append(Entry(L.WELCOME_BONUS, now, value_delta=settings.welcome_centipoints,
                             lot_expires_on=_lot_expiry(getattr(settings, "points_life_days", None), now)))
    elif card_type == CardType.MEMBERSHIP:
        tiers = settings.tiers if settings.mode != "v1" else []
        tier = next((t for t in tiers if t.name == options.tier), tiers[0] if tiers else None)
        if options.tier and (tier is None or tier.name != options.tier):
            raise Refused(f"Unknown tier {options.tier}.")
        period = options.period or settings.period
        if period not in PERIODS:
            raise Refused("Choose a period.")
        if settings.mode == STRIPE_MODE:  # Pending payment, no limits until Stripe says it is paid
            entries.append(Entry(L.MEMBERSHIP_STARTED, now, detail=stripe_rules.pending_detail(
                tier.name if tier else None, period, settings.auto_renew)))
            return entries
        limit = tier.visit_limit if tier and tier.visit_limit is not None else 0
        entries.append(Entry(L.MEMBERSHIP_STARTED, now, value_delta=limit, detail=_membership_detail(
            tier=tier.name if tier else None, period=period, period_start=now.date().isoformat(),
            active=True, auto_renew=settings.auto_renew)))
    if options.starting_balance:
        if card_type in (CardType.COUPON, CardType.MEMBERSHIP):
            pass  # cards.md §6.4, §7.5: no balance to start with
        else:
            expiry = None
            if card_type == CardType.CASHBACK:
                expiry = _lot_expiry(settings.points_life_days, now)
            elif card_type == CardType.MULTIPASS:
                expiry = _lot_expiry(settings.visit_life_days, now)
            spend = options.starting_balance if card_type == CardType.DISCOUNT else 0
            entries.append(Entry(L.IMPORT_BALANCE, now, value_delta=options.starting_balance,
                                 spend_delta_cents=spend, detail="issue", lot_expires_on=expiry))
            if card_type == CardType.STAMP:
                entries.extend(_stamp_rewards(settings, sum(e.value_delta for e in entries[:-1]),
                                              options.starting_balance, now))
    return entries


def settle(card_type: CardType, settings: CardSettings, state: CardState, now: dt.datetime) -> list[Entry]:
    """Entries that time alone causes up to ``now``: expiries and membership refills."""
    card_type = CardType(card_type)
    today = now.date()
    entries: list[Entry] = []
    if card_type == CardType.STAMP and state.balance > 0:
        due = None
        last_stamp = state.last.get("stamp_earned", "")[:10]
        if (settings.stamp_life == "fixed_date" and settings.stamp_life_date and today >= settings.stamp_life_date
                and last_stamp < settings.stamp_life_date.isoformat()):
            due = settings.stamp_life_date  # stamps earned before the date burn on it, once
        elif settings.stamp_life == "days_after_last_stamp" and state.last.get("stamp_earned"):
            last = dt.datetime.fromisoformat(state.last["stamp_earned"]).date()
            if today >= last + dt.timedelta(days=settings.stamp_life_days or 0):
                due = last + dt.timedelta(days=settings.stamp_life_days or 0)
        if due:
            entries.append(Entry(L.STAMPS_EXPIRED, now, value_delta=-state.balance, detail=due.isoformat()))
    expired = L.expired_amount(state.lots, today)
    if expired:
        kind = L.VISITS_EXPIRED if card_type == CardType.MULTIPASS else L.POINTS_EXPIRED
        entries.append(Entry(kind, now, value_delta=-expired))
    expired_points = L.expired_amount(state.point_lots, today) if card_type == CardType.MULTIPASS else 0
    if expired_points:
        entries.append(Entry(L.POINTS_EXPIRED, now, points_delta=-expired_points))
    # A Stripe membership's limits refill when Stripe says a new period started, never by the clock.
    if card_type == CardType.MEMBERSHIP and settings.mode != STRIPE_MODE and state.membership.get("period_start"):
        start = dt.date.fromisoformat(state.membership["period_start"])
        period = state.membership.get("period") or "monthly"
        periods = 0
        while add_period(start, period, periods + 1) <= today:
            periods += 1
        if periods:
            limit = _tier_limit(settings, state.membership.get("tier"))  # type: ignore[arg-type]
            refill = (limit - state.balance) if limit is not None else 0
            new_start = add_period(start, period, periods)
            entries.append(Entry(L.LIMITS_REFILLED, now, value_delta=refill,
                                 detail=_membership_detail(period_start=new_start.isoformat())))
    return entries


# Written by time or the system, or not reversible by negated deltas: a redeemed coupon
# stays redeemed (its linked card exists), tier and period changes are made again.
UNCORRECTABLE = frozenset({
    L.CORRECTION, L.MEMBERSHIP_STARTED, L.LIMITS_REFILLED, L.EXPIRATION_CHANGED, L.STAMPS_EXPIRED,
    L.POINTS_EXPIRED, L.VISITS_EXPIRED, L.COUPON_REDEEMED, L.TIER_CHANGED, L.PERIOD_CHANGED,
    L.SUBSCRIPTION_CHANGED, L.PAYMENT,  # Stripe's word: corrected in Stripe, not here
})


def correction_entries(
    card_type: CardType, settings: CardSettings, state: CardState, originals: list[Entry], now: dt.datetime
) -> list[Entry]:
    """Reversing entries for one action's entries (newest first), refused if a balance would go below 0."""
    card_type = CardType(card_type)
    if not originals:
        raise Refused("Nothing to correct.")
    if any(o.kind == L.CORRECTION for o in originals):
        raise Refused("A correction cannot be corrected; apply the action again instead.")
    if any(o.kind in UNCORRECTABLE for o in originals):
        raise Refused("This entry cannot be corrected: "
                      "change the tier, period or expiration again instead (a redeemed coupon stays redeemed).")
    reversing = []
    for original in reversed(originals):
        days = None
        if card_type == CardType.CASHBACK:
            days = settings.points_life_days
        elif card_type == CardType.MULTIPASS:
            days = settings.points_life_days if original.points_delta < 0 else settings.visit_life_days
        reversing.append(Entry(
            L.CORRECTION, now,
            value_delta=-original.value_delta,
            rewards_delta=-original.rewards_delta,
            points_delta=-original.points_delta,
            spend_delta_cents=-original.spend_delta_cents,
            purchase_cents=-original.purchase_cents if original.purchase_cents else None,
            detail=original.kind,
            lot_expires_on=_lot_expiry(days, now),
        ))
    after = state.copy()
    for entry in reversing:
        L.fold(after, entry, card_type, settings)
    problems = L.negative_balances(after)
    if problems:
        unit = _unit(card_type)
        what = {"balance": f"the balance ({_show(state.balance, unit)})", "rewards": f"the available rewards ({state.rewards_available})",
                "points": "the bonus balance", "spend": "the transaction amount"}[problems[0]]
        raise Refused(f"This correction would take {what} below zero; correct the later entries first.")
    return reversing


def referral_entries(card_type: CardType, settings: CardSettings, state: CardState, amount: int, now: dt.datetime) -> list[Entry]:
    """A referral reward in the card's own unit (customers.md §15; the template stores it in
    ``BALANCE_UNITS``): stamps, visits, centipoints or cents."""
    card_type = CardType(card_type)
    if amount <= 0 or card_type in (CardType.COUPON, CardType.MEMBERSHIP):
        return []
    value = amount
    expiry = None
    if card_type == CardType.CASHBACK:
        expiry = _lot_expiry(settings.points_life_days, now)
    elif card_type == CardType.MULTIPASS:
        expiry = _lot_expiry(settings.visit_life_days, now)
    spend = value if card_type == CardType.DISCOUNT else 0
    entries = [Entry(L.REFERRAL_BONUS, now, value_delta=value, spend_delta_cents=spend, lot_expires_on=expiry)]
    if card_type == CardType.STAMP:
        entries.extend(_stamp_rewards(settings, state.balance, value, now))
    return entries


def held_welcome_entries(card_type: CardType, settings: CardSettings, state: CardState, now: dt.datetime) -> list[Entry]:
    """The template's welcome bonus paid later (a card issued with ``welcome_bonus=False``),
    with the stamp rewards it completes."""
    card_type = CardType(card_type)
    if card_type == CardType.STAMP and settings.welcome_stamps:
        return [Entry(L.WELCOME_BONUS, now, value_delta=settings.welcome_stamps),
                *_stamp_rewards(settings, state.balance, settings.welcome_stamps, now)]
    if card_type in (CardType.CASHBACK, CardType.REWARD) and settings.welcome_centipoints:
        return [Entry(L.WELCOME_BONUS, now, value_delta=settings.welcome_centipoints,
                      lot_expires_on=_lot_expiry(getattr(settings, "points_life_days", None), now))]
    return []


EARNING_KINDS = {L.STAMPS_ADDED, L.PURCHASE_ADDED, L.POINTS_ADDED, L.VISITS_ADDED, L.VISITS_REDEEMED,
                 L.BALANCE_ADDED, L.COUPON_REDEEMED, L.VISITS_CHECKED_IN}


def is_first_action(entries: list[Entry]) -> bool:
    """Spec Q27: the first earning transaction (stamp, points, visit, purchase) on a card."""
    return any(e.kind in EARNING_KINDS for e in entries)
