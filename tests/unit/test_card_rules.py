"""The card rules of cards.md, type by type, and the ledger replay property."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings as hsettings
from hypothesis import strategies as st

from perkstar_ui.domain import card_metrics, card_rules
from perkstar_ui.domain import ledger as L
from perkstar_ui.domain.card_rules import Action, IssueOptions
from perkstar_ui.domain.card_types import (
    CardType,
    CashbackSettings,
    GiftSettings,
    MembershipSettings,
    MembershipTier,
    MultipassSettings,
    RewardLevel,
    RewardSettings,
    SpendTier,
    StampSettings,
    default_settings,
)
from perkstar_ui.domain.ledger import CardState, Refused

NOW = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.timezone.utc)


class Card:
    """A card in memory: the rules plus the fold, as the service uses them."""

    def __init__(self, card_type: CardType, settings=None, options: IssueOptions = IssueOptions(), expires_on=None):  # noqa: ANN001
        self.type, self.settings = card_type, settings or default_settings(card_type)
        self.state, self.entries, self.expires_on = L.initial_state(card_type, self.settings), [], expires_on
        self._write(card_rules.opening_entries(card_type, self.settings, options, NOW))

    def _write(self, entries: list[L.Entry]) -> list[L.Entry]:
        for entry in entries:
            L.fold(self.state, entry, self.type, self.settings)
        self.entries.extend(entries)
        return entries

    def act(self, verb: str, value: int = 0, at: dt.datetime = NOW, **kw) -> list[L.Entry]:  # noqa: ANN003
        self._write(card_rules.settle(self.type, self.settings, self.state, at))
        return self._write(card_rules.apply_action(
            self.type, self.settings, self.state, Action(verb, value, **kw), at, expires_on=self.expires_on))

    def correct(self, entries: list[L.Entry], at: dt.datetime = NOW) -> None:
        self._write(card_rules.correction_entries(self.type, self.settings, self.state, entries, at))

    def metric(self, key: str) -> str:
        view = card_metrics.view(self.type, self.settings, self.state, today=NOW.date(), expires_on=self.expires_on)
        return {m.key: m.value for m in view.metrics}[key]


# --- stamp ---------------------------------------------------------------------------------


def test_stamp_reward_at_the_count_with_carry_over():
    card = Card(CardType.STAMP, StampSettings(stamp_count=10))
    card.act("add-stamps", 8)
    card.act("add-stamps", 5)  # 13 → reward, 3 carried over
    assert (card.state.balance, card.state.rewards_available) == (3, 1)
    assert card.metric("stamps-earned") == "13" and card.metric("rewards-earned") == "1"
    card.act("redeem-reward", 1)
    assert card.state.rewards_available == 0 and card.metric("rewards-redeemed") == "1"


def test_stamp_milestones_unlock_rewards_without_reset():
    card = Card(CardType.STAMP, StampSettings(stamp_count=9, milestones=[3, 6]))
    card.act("add-stamps", 4)
    assert (card.state.balance, card.state.rewards_available) == (4, 1)
    card.act("add-stamps", 5)  # crosses 6 and 9: two more, reset at the last
    assert (card.state.balance, card.state.rewards_available) == (0, 3)
    card.act("add-stamps", 20)  # 20 = two full cycles (3 each) + 2
    assert (card.state.balance, card.state.rewards_available) == (2, 9)


def test_cannot_remove_more_stamps_than_the_balance():
    card = Card(CardType.STAMP)
    card.act("add-stamps", 2)
    with pytest.raises(Refused, match=r"Cannot remove more stamps.*\(2\)"):
        card.act("remove-stamps", 3)
    assert card.state.balance == 2


def test_welcome_stamps_and_spend_mechanic():
    card = Card(CardType.STAMP, StampSettings(mechanic="spend", spend_per_stamp_cents=1_000, welcome_stamps=1))
    assert card.state.balance == 1
    card.act("add-amount", 3_050)  # $30.50 at 1 stamp per $10 = 3 stamps
    assert card.state.balance == 4 and card.state.ltv_cents == 3_050
    card.act("subtract-amount", 1_000)
    assert card.state.balance == 3 and card.state.ltv_cents == 2_050


def test_purchase_amount_required_when_the_template_says_so():
    card = Card(CardType.STAMP, StampSettings(purchase_amount_required=True))
    with pytest.raises(Refused, match="Enter the purchase amount"):
        card.act("add-stamps", 1)
    card.act("add-stamps", 1, purchase_cents=450)
    assert card.state.ltv_cents == 450


def test_visit_mechanic_amount_only_records_ltv():
    card = Card(CardType.STAMP, StampSettings(mechanic="visit"))
    card.act("add-amount", 5_000)
    assert card.state.balance == 0 and card.state.ltv_cents == 5_000


def test_a_fixed_stamp_life_burns_earlier_stamps_once():
    card = Card(CardType.STAMP, StampSettings(stamp_life="fixed_date", stamp_life_date=dt.date(2026, 3, 10)))
    card.act("add-stamps", 3)  # 1 March
    card.act("add-stamps", 2, at=NOW + dt.timedelta(days=12))  # after the date: the 3 burn first
    card.act("add-reward", 1, at=NOW + dt.timedelta(days=20))  # the 2 new ones stay
    assert card.state.balance == 2
    assert [e.value_delta for e in card.entries if e.kind == L.STAMPS_EXPIRED] == [-3]


def test_stamps_expire_after_the_last_stamp():
    card = Card(CardType.STAMP, StampSettings(stamp_life="days_after_last_stamp", stamp_life_days=30))
    card.act("add-stamps", 3)
    card.act("add-stamps", 1, at=NOW + dt.timedelta(days=20))  # restarts the countdown
    card.act("add-reward", 1, at=NOW + dt.timedelta(days=45))
    assert card.state.balance == 4
    card.act("add-reward", 1, at=NOW + dt.timedelta(days=51))
    assert card.state.balance == 0 and card.entries[-2].kind == L.STAMPS_EXPIRED


# --- multipass -----------------------------------------------------------------------------


def test_multipass_redeem_awards_bonus_points_and_counts_visits():
    card = Card(CardType.MULTIPASS, MultipassSettings(bonus_centipoints_per_visit=2_000))
    card.act("add-visits", 12, purchase_cents=10_000)
    card.act("redeem-visits", 1)
    assert card.state.balance == 11 and card.state.points == 2_000
    assert card.metric("visits-sold") == "12" and card.metric("redeemed-visits") == "1"
    assert card.metric("bonus-balance") == "20.00" and card.metric("ltv") == "100.00"
    with pytest.raises(Refused, match="more visits than are available"):
        card.act("redeem-visits", 12)
    with pytest.raises(Refused, match="more points than the bonus balance"):
        card.act("remove-points", 2_001)


def test_multipass_visits_expire_by_lot():
    card = Card(CardType.MULTIPASS, MultipassSettings(visit_life_days=10))
    card.act("add-visits", 5)
    card.act("add-visits", 3, at=NOW + dt.timedelta(days=5))
    card.act("redeem-visits", 2, at=NOW + dt.timedelta(days=6))  # oldest lot first: 3 of 5 left
    card.act("redeem-visits", 1, at=NOW + dt.timedelta(days=11))  # the first lot's 3 expired
    assert card.state.balance == 2
    assert [e.kind for e in card.entries[-2:]] == [L.VISITS_EXPIRED, L.VISITS_REDEEMED]
    assert card.entries[-2].value_delta == -3


# --- cashback -------------------------------------------------------------------------------


TIERS = [SpendTier(name="Bronze", threshold_cents=0, percent=Decimal("1")),
         SpendTier(name="Silver", threshold_cents=50_000, percent=Decimal("3"))]


def test_cashback_points_at_the_tier_percentage_and_tier_both_ways():
    card = Card(CardType.CASHBACK, CashbackSettings(tiers=TIERS))
    card.act("add-amount", 50_000)  # $500 at Bronze 1% = 5 points, then Silver
    assert card.state.balance == 500 and card.state.tier == "Silver"
    card.act("add-amount", 10_000)  # $100 at Silver 3% = 3 points
    assert card.state.balance == 800
    assert card.metric("cashback-percentage") == "3.00" and card.metric("to-the-next-cashback-level") == "0.00"
    card.act("subtract-amount", 20_000)  # refund takes points at the current 3% and lowers the tier
    assert card.state.balance == 200 and card.state.tier == "Bronze"
    assert card.metric("to-the-next-cashback-level") == "100.00"


def test_cashback_add_points_purchase_does_not_change_transaction_amount():
    card = Card(CardType.CASHBACK)
    card.act("add-points", 1_000, purchase_cents=2_500)
    assert card.state.spend_total_cents == 0 and card.state.ltv_cents == 2_500 and card.state.balance == 1_000


def test_cashback_point_lots_consumed_oldest_first_and_expired_by_date():
    card = Card(CardType.CASHBACK, CashbackSettings(points_life_days=30))
    card.act("add-points", 1_000)  # expires day 30
    card.act("add-points", 500, at=NOW + dt.timedelta(days=10))  # expires day 40
    card.act("remove-points", 600, at=NOW + dt.timedelta(days=15))  # 600 of the first lot
    card.act("add-points", 1, at=NOW + dt.timedelta(days=30))  # first lot's 400 expire
    assert card.state.balance == 501
    card.act("add-points", 1, at=NOW + dt.timedelta(days=40))  # second lot's 500 expire
    assert card.state.balance == 2
    expired = [e.value_delta for e in card.entries if e.kind == L.POINTS_EXPIRED]
    assert expired == [-400, -500]


# --- gift, reward, coupon, discount, membership ------------------------------------------


def test_gift_single_use_must_redeem_everything():
    card = Card(CardType.GIFT, GiftSettings(redemption="single"))
    card.act("add-balance", 5_000)
    with pytest.raises(Refused, match="single use"):
        card.act("remove-balance", 1_000)
    card.act("remove-balance", 5_000)
    assert card.state.balance == 0


def test_gift_multiple_use_never_below_zero():
    card = Card(CardType.GIFT)
    card.act("add-balance", 10_000)
    card.act("remove-balance", 500)
    assert card.state.balance == 9_500
    with pytest.raises(Refused, match=r"more than the current balance \(95.00\)"):
        card.act("remove-balance", 9_501)


def test_reward_levels_redeem_and_usage_limit():
    settings = RewardSettings(levels=[RewardLevel(name="Coffee", centipoints=5_000, usage_limit="week")])
    card = Card(CardType.REWARD, settings)
    card.act("add-amount", 15_000)  # 1 point per 1.00
    card.act("redeem-reward", reward="Coffee")
    assert card.state.balance == 10_000 and card.metric("available-rewards") == "1"
    with pytest.raises(Refused, match="once a week"):
        card.act("redeem-reward", reward="Coffee", at=NOW + dt.timedelta(days=3))
    card.act("redeem-reward", reward="Coffee", at=NOW + dt.timedelta(days=8))
    assert card.state.balance == 5_000 and card.metric("rewards-redeemed") == "2"


def test_reward_visit_mechanic_caps_one_visit_a_day():
    card = Card(CardType.REWARD, RewardSettings(mechanic="visit", centipoints_per_visit=1_000, one_visit_per_day=True))
    card.act("add-amount", 500)
    card.act("add-amount", 500, at=NOW + dt.timedelta(hours=2))
    card.act("add-amount", 500, at=NOW + dt.timedelta(days=1))
    assert card.state.balance == 2_000


def test_coupon_redeemed_once():
    card = Card(CardType.COUPON)
    card.act("redeem", purchase_cents=1_200)
    assert card.metric("coupon-status") == "Redeemed" and card.state.ltv_cents == 1_200
    with pytest.raises(Refused, match="already been redeemed"):
        card.act("redeem")


def test_discount_savings_at_the_tier_and_tier_recomputed():
    card = Card(CardType.DISCOUNT)  # Bronze 5 % from 0, Silver 10 % at 500.00
    card.act("add-amount", 60_000)
    assert card.state.points == 3_000 and card.state.tier == "Silver"
    card.act("add-amount", 5_000)
    assert card.metric("total-savings") == "35.00"
    card.act("subtract-amount", 20_000)
    assert card.state.tier == "Bronze" and card.state.balance == 45_000
    with pytest.raises(Refused, match="transactions amount"):
        card.act("subtract-amount", 45_001)


def test_membership_limits_per_period_refill_and_tier_change():
    settings = MembershipSettings(tiers=[MembershipTier(name="Basic", price_cents=3_500, visit_limit=2),
                                         MembershipTier(name="Premium", price_cents=7_000, visit_limit=5)])
    card = Card(CardType.MEMBERSHIP, settings)
    card.act("add-visits", 2)
    with pytest.raises(Refused, match="limit left in this period"):
        card.act("add-visits", 1)
    card.act("change-tier", tier="Premium")  # 2 used of 5
    assert card.state.balance == 3 and card.state.tier == "Premium"
    card.act("add-visits", 1, at=NOW + dt.timedelta(days=31))  # a new month: refilled to 5
    assert card.state.balance == 4 and card.metric("total-visits") == "3"


def test_membership_v1_and_stripe_hide_verbs():
    assert "change-tier" not in card_rules.visible_verbs(CardType.MEMBERSHIP, MembershipSettings(mode="v1"))
    stripe = card_rules.visible_verbs(CardType.MEMBERSHIP, MembershipSettings(mode="stripe"))
    assert "change-expiration" not in stripe and "change-period" not in stripe and "add-visits" in stripe


def test_expired_card_blocks_earning_until_extended():
    card = Card(CardType.STAMP, expires_on=NOW.date() - dt.timedelta(days=1))
    with pytest.raises(Refused, match="expired"):
        card.act("add-stamps", 1)
    card.act("change-expiration", date=NOW.date() + dt.timedelta(days=30))


# --- corrections -------------------------------------------------------------------------


def test_correction_reverses_the_whole_action_and_its_reward():
    card = Card(CardType.STAMP, StampSettings(stamp_count=10))
    card.act("add-stamps", 8)
    written = card.act("add-stamps", 3)  # stamps_added + reward_earned
    card.correct(written)
    assert (card.state.balance, card.state.rewards_available) == (8, 0)
    assert card.metric("stamps-earned") == "8" and card.metric("rewards-earned") == "0"


def test_correction_refused_when_it_would_go_below_zero():
    card = Card(CardType.GIFT)
    added = card.act("add-balance", 1_000)
    card.act("remove-balance", 800)
    with pytest.raises(Refused, match="below zero"):
        card.correct(added)


def test_parse_amount_units_and_errors():
    assert card_rules.parse_amount("12.5", card_rules.Unit.MONEY) == 1_250
    assert card_rules.parse_amount("3", card_rules.Unit.COUNT) == 3
    for bad, message in (("", "required"), ("abc", "number"), ("-1", "positive"), ("1.5", "whole"), ("1.234", "two decimals")):
        unit = card_rules.Unit.COUNT if bad == "1.5" else card_rules.Unit.MONEY
        with pytest.raises(Refused, match=message):
            card_rules.parse_amount(bad, unit)


# --- replay property -------------------------------------------------------------------------

PROPERTY_SETTINGS = {
    CardType.STAMP: StampSettings(stamp_count=5, milestones=[2], mechanic="spend", spend_per_stamp_cents=500),
    CardType.MULTIPASS: MultipassSettings(bonus_centipoints_per_visit=150, visit_life_days=7, points_life_days=5),
    CardType.CASHBACK: CashbackSettings(tiers=TIERS, points_life_days=6),
    CardType.GIFT: GiftSettings(),
    CardType.REWARD: RewardSettings(levels=[RewardLevel(name="A", centipoints=300), RewardLevel(name="B", centipoints=900)]),
    CardType.COUPON: default_settings(CardType.COUPON),
    CardType.MEMBERSHIP: MembershipSettings(period="weekly", tiers=[MembershipTier(name="S", price_cents=1, visit_limit=3),
                                                                    MembershipTier(name="L", price_cents=2, visit_limit=8)]),
    CardType.DISCOUNT: default_settings(CardType.DISCOUNT),
}

steps = st.lists(
    st.tuples(st.integers(0, 7), st.integers(0, 60_000), st.integers(0, 72), st.booleans()), min_size=1, max_size=40
)


@pytest.mark.parametrize("card_type", list(CardType), ids=lambda t: t.value)
@hsettings(max_examples=60, deadline=None)
@given(script=steps)
def test_replay_of_the_ledger_always_gives_the_cached_numbers(card_type: CardType, script):  # noqa: ANN001
    settings = PROPERTY_SETTINGS[card_type]
    card = Card(card_type, settings)
    verbs = card_rules.TYPE_VERBS[card_type]
    at, actions = NOW, []
    for choice, amount, hours, correct in script:
        at += dt.timedelta(hours=hours)
        verb = verbs[choice % len(verbs)]
        unit = card_rules.value_unit(card_type, verb)
        value = amount % 12 + 1 if unit == card_rules.Unit.COUNT else amount
        try:
            if correct and actions:
                card.correct(actions.pop(), at)
            else:
                actions.append(card.act(verb, value, at, reward=["A", "B"][amount % 2], tier=["S", "L"][amount % 2],
                                        period=card_rules.PERIODS[amount % 5]))
        except Refused:
            pass  # refused: nothing was written
        assert not L.negative_balances(card.state)
        assert card.state.balance >= 0
        assert sum(lot[1] for lot in card.state.lots) == card.state.balance  # lots partition the balance
    replayed = L.replay(card.entries, card_type, settings)
    assert replayed == card.state
    # The stored cache survives its JSON round trip unchanged.
    columns = {"balance": card.state.balance, "rewards_available": card.state.rewards_available,
               "spend_total_cents": card.state.spend_total_cents, "ltv_cents": card.state.ltv_cents, "tier": card.state.tier}
    assert CardState.from_cache(columns, card.state.metrics_json()) == card.state
