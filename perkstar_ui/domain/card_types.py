"""The eight card types and their typed, validated template settings.

Plain pydantic, no framework: templates store ``settings`` as JSON produced by
``validate_settings(card_type, raw).model_dump(mode="json")`` so a stored template can
always be read back into the same typed object.

Units (never floats): money in integer cents, points in integer hundredths of a point
("centipoints", so 3 % of 12.34 keeps its precision), stamps and visits as integers,
percentages as ``Decimal``.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from perkstar_ui.domain.signup import IssuingForm


class CardType(str, enum.Enum):
    STAMP = "stamp"
    MULTIPASS = "multipass"
    CASHBACK = "cashback"
    GIFT = "gift"
    REWARD = "reward"
    COUPON = "coupon"
    MEMBERSHIP = "membership"
    DISCOUNT = "discount"


CARD_TYPE_LABELS: dict[CardType, str] = {
    CardType.STAMP: "Stamp",
    CardType.MULTIPASS: "Multipass",
    CardType.CASHBACK: "Cashback",
    CardType.GIFT: "Gift card",  # spec Q7; "Certificate" is an alias
    CardType.REWARD: "Reward",
    CardType.COUPON: "Coupon",
    CardType.MEMBERSHIP: "Membership",
    CardType.DISCOUNT: "Discount",
}


class BalanceUnit(str, enum.Enum):
    COUNT = "count"  # stamps, visits
    CENTS = "cents"  # money
    CENTIPOINTS = "centipoints"  # points, two decimals
    NONE = "none"  # coupon: no balance


BALANCE_UNITS: dict[CardType, BalanceUnit] = {
    CardType.STAMP: BalanceUnit.COUNT,
    CardType.MULTIPASS: BalanceUnit.COUNT,
    CardType.CASHBACK: BalanceUnit.CENTIPOINTS,
    CardType.GIFT: BalanceUnit.CENTS,
    CardType.REWARD: BalanceUnit.CENTIPOINTS,
    CardType.COUPON: BalanceUnit.NONE,
    CardType.MEMBERSHIP: BalanceUnit.COUNT,
    CardType.DISCOUNT: BalanceUnit.CENTS,
}


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Expiration(_Settings):
    """cards.md §0.2: unlimited, a fixed date, or N days after issuing."""

    mode: Literal["unlimited", "fixed_date", "days_after_issue"] = "unlimited"
    date: dt.date | None = None
    days: int | None = Field(default=None, ge=1, le=3650)

    @model_validator(mode="after")
    def _needs_its_parameter(self) -> "Expiration":
        if self.mode == "fixed_date" and self.date is None:
            raise ValueError("a fixed-term expiration needs a date")
        if self.mode == "days_after_issue" and self.days is None:
            raise ValueError("an expiration after issuing needs a number of days")
        return self

    def expires_on(self, issued: dt.date) -> dt.date | None:
        if self.mode == "fixed_date":
            return self.date
        if self.mode == "days_after_issue":
            return issued + dt.timedelta(days=self.days or 0)
        return None


class Referral(_Settings):
    """customers.md §15: rewards for referrer and new customer, on install or first visit."""

    enabled: bool = False
    referrer_reward: int = Field(default=0, ge=0)
    new_customer_reward: int = Field(default=0, ge=0)
    # First visit unless the merchant chooses installation (issue 14: installs are free to
    # fake, a visit needs the counter).
    trigger: Literal["install", "first_visit"] = "first_visit"


class _Common(_Settings):
    expiration: Expiration = Expiration()
    referral: Referral = Referral()
    issuing_form: IssuingForm = IssuingForm()  # the public join form's fields (domain.signup)


class StampSettings(_Common):
    mechanic: Literal["spend", "visit", "stamps"] = "stamps"
    stamp_count: int = Field(default=10, ge=1, le=100)
    spend_per_stamp_cents: int = Field(default=1000, ge=1)
    welcome_stamps: int = Field(default=0, ge=0)
    stamp_life: Literal["unlimited", "fixed_date", "days_after_last_stamp"] = "unlimited"
    stamp_life_date: dt.date | None = None
    stamp_life_days: int | None = Field(default=None, ge=1)
    milestones: list[int] = Field(default_factory=list)
    purchase_amount_required: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> "StampSettings":
        if self.welcome_stamps >= self.stamp_count:
            raise ValueError("welcome stamps must be fewer than the stamp count")
        if any(not 0 < m < self.stamp_count for m in self.milestones):
            raise ValueError("milestones must lie between 1 and the stamp count")
        if self.milestones != sorted(set(self.milestones)):
            raise ValueError("milestones must be distinct and ascending")
        if self.stamp_life == "fixed_date" and self.stamp_life_date is None:
            raise ValueError("a fixed stamp life needs a date")
        if self.stamp_life == "days_after_last_stamp" and self.stamp_life_days is None:
            raise ValueError("a stamp life after the last stamp needs a number of days")
        return self


class MultipassSettings(_Common):
    bonus_centipoints_per_visit: int = Field(default=0, ge=0)
    visit_life_days: int | None = Field(default=None, ge=1)
    points_life_days: int | None = Field(default=None, ge=1)


class SpendTier(_Settings):
    name: str = Field(min_length=1, max_length=40)
    threshold_cents: int = Field(ge=0)
    percent: Decimal = Field(ge=0, le=100, max_digits=5, decimal_places=2)


def _check_tiers(tiers: list[SpendTier], maximum: int) -> None:
    if not 1 <= len(tiers) <= maximum:
        raise ValueError(f"between 1 and {maximum} tiers are needed")
    if tiers[0].threshold_cents != 0:
        raise ValueError("the first tier must start at a spend of 0")
    thresholds = [t.threshold_cents for t in tiers]
    if thresholds != sorted(set(thresholds)):
        raise ValueError("tier thresholds must be distinct and ascending")


class CashbackSettings(_Common):
    tiers: list[SpendTier] = Field(
        default_factory=lambda: [
            SpendTier(name="Bronze", threshold_cents=0, percent=Decimal("1")),
            SpendTier(name="Silver", threshold_cents=50_000, percent=Decimal("3")),
            SpendTier(name="Gold", threshold_cents=100_000, percent=Decimal("5")),
        ]
    )
    points_life_days: int | None = Field(default=None, ge=1)
    welcome_centipoints: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _tiers(self) -> "CashbackSettings":
        _check_tiers(self.tiers, 10)
        return self


class GiftSettings(_Common):
    redemption: Literal["multiple", "single"] = "multiple"


class RewardLevel(_Settings):
    name: str = Field(min_length=1, max_length=60)
    centipoints: int = Field(ge=0)
    kind: Literal["percent_discount", "fixed_discount", "gift"] = "gift"
    usage_limit: Literal["none", "day", "week", "month"] = "none"


class RewardSettings(_Common):
    mechanic: Literal["spend", "visit", "points"] = "spend"
    # Spend: this many centipoints per ``spend_unit_cents`` spent (default 1 point per 1.00).
    centipoints_per_spend_unit: int = Field(default=100, ge=0)
    spend_unit_cents: int = Field(default=100, ge=1)
    centipoints_per_visit: int = Field(default=1000, ge=0)
    one_visit_per_day: bool = False
    welcome_centipoints: int = Field(default=0, ge=0)
    levels: list[RewardLevel] = Field(
        default_factory=lambda: [
            RewardLevel(name="Free coffee", centipoints=5_000, kind="gift"),
            RewardLevel(name="10% off", centipoints=10_000, kind="percent_discount"),
        ]
    )


class CouponSettings(_Common):
    offer: str = Field(default="Welcome offer on your first visit", max_length=200)
    linked_template_id: int | None = None


class MembershipTier(_Settings):
    name: str = Field(min_length=1, max_length=40)
    price_cents: int = Field(ge=0)
    visit_limit: int | None = Field(default=None, ge=1)  # None = unlimited


Period = Literal["daily", "weekly", "monthly", "quarterly", "yearly"]


class MembershipSettings(_Common):
    mode: Literal["stripe", "manual", "v1"] = "manual"
    tiers: list[MembershipTier] = Field(
        default_factory=lambda: [
            MembershipTier(name="Basic", price_cents=3_500, visit_limit=30),
            MembershipTier(name="Premium", price_cents=7_000, visit_limit=90),
        ]
    )
    period: Period = "monthly"
    auto_renew: bool = True
    trial_days: int = Field(default=0, ge=0, le=30)
    unit_name: str = Field(default="visits", max_length=20)
    # Stripe mode: tier name → the Stripe Price id its Checkout Sessions use (issue 12).
    # Kept beside the tiers (not in them) so the template form, which rebuilds the tier
    # rows from its inputs, keeps the mapping it never shows.
    stripe_prices: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _tiers(self) -> "MembershipSettings":
        if self.mode != "v1" and not self.tiers:
            raise ValueError("a membership with tiers needs at least one tier")
        return self


class DiscountSettings(_Common):
    tiers: list[SpendTier] = Field(
        default_factory=lambda: [
            SpendTier(name="Bronze", threshold_cents=0, percent=Decimal("5")),
            SpendTier(name="Silver", threshold_cents=50_000, percent=Decimal("10")),
            SpendTier(name="Gold", threshold_cents=100_000, percent=Decimal("15")),
        ]
    )

    @model_validator(mode="after")
    def _tiers(self) -> "DiscountSettings":
        _check_tiers(self.tiers, 6)  # cards.md §8.1: up to 6 tiers
        return self


SETTINGS_MODELS: dict[CardType, type[_Common]] = {
    CardType.STAMP: StampSettings,
    CardType.MULTIPASS: MultipassSettings,
    CardType.CASHBACK: CashbackSettings,
    CardType.GIFT: GiftSettings,
    CardType.REWARD: RewardSettings,
    CardType.COUPON: CouponSettings,
    CardType.MEMBERSHIP: MembershipSettings,
    CardType.DISCOUNT: DiscountSettings,
}

CardSettings = (
    StampSettings
    | MultipassSettings
    | CashbackSettings
    | GiftSettings
    | RewardSettings
    | CouponSettings
    | MembershipSettings
    | DiscountSettings
)


def validate_settings(card_type: CardType | str, raw: dict | None) -> CardSettings:
    """Parse stored or submitted settings; raises ``pydantic.ValidationError``."""
    return SETTINGS_MODELS[CardType(card_type)].model_validate(raw or {})


def default_settings(card_type: CardType | str) -> CardSettings:
    return SETTINGS_MODELS[CardType(card_type)]()


STARTER_TEMPLATE_NAMES: dict[CardType, str] = {
    CardType.STAMP: "Coffee stamp card",
    CardType.MULTIPASS: "10-visit pass",
    CardType.CASHBACK: "Cashback club",
    CardType.GIFT: "Gift card",  # spec Q7; "Certificate" is an alias
    CardType.REWARD: "Rewards points",
    CardType.COUPON: "First-visit coupon",
    CardType.MEMBERSHIP: "Membership",
    CardType.DISCOUNT: "Loyalty discount",
}
