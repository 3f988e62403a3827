"""The lock rule of activated templates (cards.md §0.3) and the template form's units."""

from decimal import Decimal

import pytest

from perkstar_ui.domain.card_types import CardType, default_settings, validate_settings
from perkstar_ui.domain import template_form as tf
from perkstar_ui.domain.template_rules import LockedEditError, check_edit, locked_settings


def dump(card_type, **changes):
    base = default_settings(card_type).model_dump(mode="json")
    return validate_settings(card_type, base | changes).model_dump(mode="json")


def test_locked_settings_per_type():
    assert locked_settings("stamp") == (
        "expiration", "stamp_count", "welcome_stamps", "stamp_life", "stamp_life_date", "stamp_life_days", "milestones",
    )
    for card_type in CardType:
        assert "expiration" in locked_settings(card_type)
        # customers.md §12: the issuing form locks once a card came through the join page
        assert "issuing_form" not in locked_settings(card_type)
        assert "issuing_form" in locked_settings(card_type, form_locked=True)
    assert "tiers" not in locked_settings("cashback") and "levels" not in locked_settings("reward")


def test_not_activated_allows_everything():
    check_edit(activated=False, old_type="stamp", new_type="cashback",
               old_settings=dump("stamp"), new_settings=dump("cashback"))


@pytest.mark.parametrize("changes, named", [
    ({"stamp_count": 8}, "Stamp count"),
    ({"welcome_stamps": 2}, "Welcome stamps"),
    ({"milestones": [3, 6]}, "Reward milestones"),
    ({"stamp_life": "days_after_last_stamp", "stamp_life_days": 30}, "Stamp life"),
    ({"expiration": {"mode": "days_after_issue", "days": 365}}, "Card expiration"),
])
def test_activated_stamp_refuses_locked_changes(changes, named):
    with pytest.raises(LockedEditError, match=named) as refused:
        check_edit(activated=True, old_type="stamp", new_type="stamp",
                   old_settings=dump("stamp"), new_settings=dump("stamp", **changes))
    assert "locked" in str(refused.value)


def test_activated_template_keeps_editable_settings_editable():
    referral = {"enabled": True, "referrer_reward": 2, "new_customer_reward": 1, "trigger": "first_visit"}
    check_edit(activated=True, old_type="stamp", new_type="stamp", old_settings=dump("stamp"),
               new_settings=dump("stamp", mechanic="visit", referral=referral, purchase_amount_required=True))
    tiers = [{"name": "Only", "threshold_cents": 0, "percent": "2"}]
    check_edit(activated=True, old_type="cashback", new_type="cashback", old_settings=dump("cashback"),
               new_settings=dump("cashback", tiers=tiers))
    check_edit(activated=True, old_type="reward", new_type="reward", old_settings=dump("reward"),
               new_settings=dump("reward", mechanic="visit", levels=[]))


def test_activated_template_refuses_a_type_change_and_stored_defaults_compare_equal():
    with pytest.raises(LockedEditError, match="Card type"):
        check_edit(activated=True, old_type="stamp", new_type="reward",
                   old_settings=dump("stamp"), new_settings=dump("reward"))
    # A stored dict missing defaulted keys is the same settings.
    check_edit(activated=True, old_type="stamp", new_type="stamp", old_settings={}, new_settings=dump("stamp"))


def test_units_never_go_through_float():
    assert tf.parse_hundredths("35") == 3500
    assert tf.parse_hundredths(" 35.5 ") == 3550
    assert tf.parse_hundredths("0.07") == 7
    assert tf.parse_hundredths("1000000.01") == 100000001
    for bad in ("", "-1", "1.234", "1,5", "abc", "1e3"):
        with pytest.raises(ValueError):
            tf.parse_hundredths(bad)
    assert tf.hundredths_text(3550) == "35.50" and tf.hundredths_text(7) == "0.07"
    assert tf.parse_percent("10.00") == "10" and tf.parse_percent("2.5") == "2.5"
    with pytest.raises(ValueError):
        tf.parse_percent("100.01")


def test_stamp_form_round_trip_and_locked_fields_not_submitted_keep_their_value():
    base = dump("stamp", milestones=[3, 6])
    values = tf.form_values("stamp", base)
    assert values["stamp_count"] == "10" and values["spend_per_stamp"] == "10.00"
    assert tf.form_rows("stamp", base) == {"milestones": [{"value": "3"}, {"value": "6"}]}
    # A locked form submits no stamp_count / milestones / expiration at all.
    form = {"mechanic": "spend", "spend_per_stamp": "12.50", "referral_trigger": "install",
            "referral_referrer_reward": "2", "referral_new_customer_reward": "1", "referral_enabled": "on"}
    raw = tf.settings_from_form("stamp", base, form)
    assert raw["stamp_count"] == 10 and raw["milestones"] == [3, 6] and raw["spend_per_stamp_cents"] == 1250
    assert raw["referral"] == {"enabled": True, "referrer_reward": 2, "new_customer_reward": 1, "trigger": "install"}
    # An editable form sends milestones as a list.
    raw = tf.settings_from_form("stamp", base, {"milestones_shown": "1", "milestone": ["4"], "stamp_count": "8"})
    assert raw["milestones"] == [4] and raw["stamp_count"] == 8


def test_form_problems_are_collected_per_field():
    with pytest.raises(tf.TemplateFormError) as refused:
        tf.settings_from_form("cashback", dump("cashback"), {
            "tiers_shown": "1", "tier_name": ["", "Gold"], "tier_threshold": ["0", "12.345"],
            "tier_percent": ["1", "101"], "expiration_mode": "fixed_date", "expiration_date": "",
        })
    errors = refused.value.errors
    assert set(errors) == {"tier:1:name", "tier:2:threshold", "tier:2:percent", "expiration_date"}
    assert "Tier 2 spend threshold" in str(refused.value)


def test_money_points_and_percent_units_per_type():
    raw = tf.settings_from_form("membership", dump("membership"), {
        "tiers_shown": "1", "tier_name": ["Basic"], "tier_price": ["35.00"], "tier_limit": [""],
        "membership_mode": "manual", "period": "monthly", "trial_days": "7", "unit_name": "visits",
    })
    assert raw["tiers"] == [{"name": "Basic", "price_cents": 3500, "visit_limit": None}]
    assert raw["auto_renew"] is False  # an unchecked box submits nothing
    raw = tf.settings_from_form("multipass", dump("multipass"), {"bonus_points_per_visit": "20", "visit_life_days": ""})
    assert raw["bonus_centipoints_per_visit"] == 2000 and raw["visit_life_days"] is None
    raw = tf.settings_from_form("discount", dump("discount"), {
        "tiers_shown": "1", "tier_name": ["A", "B"], "tier_threshold": ["0", "500"], "tier_percent": ["5", "7.5"],
    })
    settings = validate_settings("discount", raw)
    assert settings.tiers[1].threshold_cents == 50000 and settings.tiers[1].percent == Decimal("7.5")
    # Gift referral rewards are money: cents.
    raw = tf.settings_from_form("gift", dump("gift"), {"referral_trigger": "first_visit",
                                                       "referral_referrer_reward": "5.00", "referral_new_customer_reward": "2.5"})
    assert raw["referral"]["referrer_reward"] == 500 and raw["referral"]["new_customer_reward"] == 250


def test_the_issuing_form_locks_only_once_a_card_came_through_the_join_page():
    form = {"fields": [{"key": "first_name", "required": True}, {"key": "last_name", "required": True},
                       {"key": "email", "required": True, "unique": True}]}
    old, new = dump("stamp"), dump("stamp", issuing_form=form)
    check_edit(activated=True, old_type="stamp", new_type="stamp", old_settings=old, new_settings=new)
    with pytest.raises(LockedEditError, match="Issuing form") as refused:
        check_edit(activated=True, old_type="stamp", new_type="stamp", old_settings=old, new_settings=new,
                   form_locked=True)
    assert refused.value.fields == ["issuing_form"]
