"""Card templates service: create/update every type, locks after activation, validation, tenancy."""

import pytest
from sqlmodel import select

from perkstar_ui.db.models import CardTemplate, utcnow
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.domain.card_types import CardType, default_settings
from perkstar_ui.services import templates as svc
from perkstar_ui.services.templates import TemplateError
from tests.helpers import add_customer, give_card

# One valid change per type, in stored units.
CHANGES = {
    "stamp": {"mechanic": "spend", "spend_per_stamp_cents": 500, "stamp_count": 8, "welcome_stamps": 1,
              "stamp_life": "days_after_last_stamp", "stamp_life_days": 90, "milestones": [3, 6]},
    "multipass": {"bonus_centipoints_per_visit": 2000, "visit_life_days": 180, "points_life_days": 365},
    "cashback": {"tiers": [{"name": "Base", "threshold_cents": 0, "percent": "2.5"},
                           {"name": "Gold", "threshold_cents": 100_000, "percent": "5"}],
                 "points_life_days": 30, "welcome_centipoints": 1000},
    "gift": {"redemption": "single"},
    "reward": {"mechanic": "visit", "centipoints_per_visit": 500, "one_visit_per_day": True,
               "levels": [{"name": "Welcome", "centipoints": 0, "kind": "gift", "usage_limit": "none"}]},
    "coupon": {"offer": "Free croissant"},
    "membership": {"mode": "manual", "period": "yearly", "auto_renew": False,
                   "tiers": [{"name": "Basic", "price_cents": 3500, "visit_limit": 30}]},
    "discount": {"tiers": [{"name": "Bronze", "threshold_cents": 0, "percent": "5"}]},
}


def activate(merchant_id: int, template_id: int) -> None:
    with tenant_session(merchant_id) as session:
        template = session.get(CardTemplate, template_id)
        template.activated_at = utcnow()
        session.add(template)
        session.commit()


def settings_of(merchant_id: int, template_id: int) -> dict:
    return svc.load_template(merchant_id, template_id).settings


def test_starter_templates_are_listed_with_issued_counts(merchant):
    customer = add_customer(merchant, "Ada", "Lovelace", "07400 123456")
    give_card(merchant, customer, card_type="stamp")
    rows = svc.list_templates(merchant)
    assert sorted(r.card_type for r in rows) == sorted(t.value for t in CardType)
    stamp = next(r for r in rows if r.card_type == "stamp")
    assert (stamp.type_label, stamp.issued, stamp.locked, stamp.active) == ("Stamp", 1, True, True)
    assert all(r.issued == 0 for r in rows if r.card_type != "stamp")


@pytest.mark.parametrize("card_type", [t.value for t in CardType])
def test_create_then_update_each_type(merchant, card_type):
    template_id = svc.create_template(merchant, f"  My  {card_type} ", card_type)
    detail = svc.load_template(merchant, template_id)
    assert detail.name == f"My {card_type}" and not detail.locked and detail.locked_fields == []
    assert detail.settings == default_settings(card_type).model_dump(mode="json")
    svc.update_template(merchant, template_id, name="Renamed", settings=detail.settings | CHANGES[card_type])
    after = svc.load_template(merchant, template_id)
    assert after.name == "Renamed"
    for key, value in CHANGES[card_type].items():
        assert after.settings[key] == value


def test_invalid_settings_are_refused_with_a_clear_message(merchant):
    stamp = svc.create_template(merchant, "Stamps", "stamp")
    base = settings_of(merchant, stamp)
    with pytest.raises(TemplateError, match="Welcome stamps must be fewer than the stamp count"):
        svc.update_template(merchant, stamp, name="Stamps", settings=base | {"stamp_count": 5, "welcome_stamps": 5})
    with pytest.raises(TemplateError, match="Stamp count"):
        svc.update_template(merchant, stamp, name="Stamps", settings=base | {"stamp_count": 0})
    cashback = svc.create_template(merchant, "Cash", "cashback")
    tiers = [{"name": "A", "threshold_cents": 0, "percent": "1"}, {"name": "B", "threshold_cents": 0, "percent": "2"}]
    with pytest.raises(TemplateError, match="Tier thresholds must be distinct and ascending"):
        svc.update_template(merchant, cashback, name="Cash", settings=settings_of(merchant, cashback) | {"tiers": tiers})
    discount = svc.create_template(merchant, "Disc", "discount")
    seven = [{"name": f"T{i}", "threshold_cents": i * 100, "percent": "1"} for i in range(7)]
    with pytest.raises(TemplateError, match="Between 1 and 6 tiers"):
        svc.update_template(merchant, discount, name="Disc", settings=settings_of(merchant, discount) | {"tiers": seven})
    with pytest.raises(TemplateError, match="needs a name"):
        svc.update_template(merchant, stamp, name="  ", settings=base)
    with pytest.raises(TemplateError, match="Unknown card type"):
        svc.create_template(merchant, "X", "loyalty")
    assert settings_of(merchant, stamp) == base  # nothing saved


def test_activated_template_refuses_locked_edits_but_keeps_the_rest_editable(merchant):
    template_id = svc.create_template(merchant, "Coffee", "stamp", settings={"stamp_count": 8, "welcome_stamps": 1})
    activate(merchant, template_id)
    detail = svc.load_template(merchant, template_id)
    assert detail.locked and "stamp_count" in detail.locked_fields and "expiration" in detail.locked_fields
    base = detail.settings
    for change in ({"stamp_count": 10}, {"welcome_stamps": 0}, {"milestones": [4]},
                   {"stamp_life": "days_after_last_stamp", "stamp_life_days": 10},
                   {"expiration": {"mode": "days_after_issue", "date": None, "days": 30}}):
        with pytest.raises(TemplateError, match="locked"):
            svc.update_template(merchant, template_id, name="Coffee", settings=base | change)
    with pytest.raises(TemplateError, match="Card type"):
        svc.update_template(merchant, template_id, name="Coffee", settings={}, card_type="reward")
    referral = {"enabled": True, "referrer_reward": 2, "new_customer_reward": 1, "trigger": "first_visit"}
    svc.update_template(merchant, template_id, name="Coffee club", settings=base | {"referral": referral, "mechanic": "visit"})
    after = svc.load_template(merchant, template_id)
    assert after.name == "Coffee club" and after.settings["referral"] == referral and after.settings["stamp_count"] == 8


def test_a_template_with_cards_is_locked_even_without_activated_at(merchant):
    template_id = svc.create_template(merchant, "Coffee", "stamp")
    with tenant_session(merchant) as session:
        session.get(CardTemplate, template_id).activated_at = None
        session.commit()
    customer = add_customer(merchant, "Ada", "Lovelace", "07400 123456")
    with tenant_session(merchant) as session:  # give_card picks the first stamp template: point it at ours
        for t in session.exec(select(CardTemplate).where(CardTemplate.card_type == "stamp")).all():
            if t.id != template_id:
                session.delete(t)
        session.commit()
    give_card(merchant, customer, card_type="stamp")
    with pytest.raises(TemplateError, match="Stamp count"):
        svc.update_template(merchant, template_id, name="Coffee", settings=settings_of(merchant, template_id) | {"stamp_count": 12})


def test_save_form_keeps_unsubmitted_locked_fields_and_converts_units(merchant):
    template_id = svc.create_template(merchant, "Coffee", "stamp", settings={"stamp_count": 8, "welcome_stamps": 1})
    activate(merchant, template_id)
    # The locked form submits no locked inputs (they are disabled).
    svc.save_template_form(merchant, template_id, "Coffee", {
        "mechanic": "spend", "spend_per_stamp": "7.50", "referral_trigger": "install",
        "referral_referrer_reward": "1", "referral_new_customer_reward": "0",
    })
    settings = settings_of(merchant, template_id)
    assert (settings["stamp_count"], settings["welcome_stamps"], settings["spend_per_stamp_cents"]) == (8, 1, 750)
    # A forged submission of a locked field is still refused.
    with pytest.raises(TemplateError, match="Stamp count"):
        svc.save_template_form(merchant, template_id, "Coffee", {"stamp_count": "9"})
    with pytest.raises(TemplateError, match="Spend per stamp must be a number"):
        svc.save_template_form(merchant, template_id, "Coffee", {"spend_per_stamp": "7,5"})


def test_coupon_links_only_to_own_non_coupon_templates(merchant, other_merchant):
    coupon = svc.create_template(merchant, "Coupon", "coupon")
    stamp = next(r.id for r in svc.list_templates(merchant) if r.card_type == "stamp")
    assert stamp in [i for i, _ in svc.linkable_templates(merchant, coupon)]
    assert all(i != coupon for i, _ in svc.linkable_templates(merchant, coupon))
    svc.save_template_form(merchant, coupon, "Coupon", {"offer": "Free tea", "linked_template_id": str(stamp)})
    assert settings_of(merchant, coupon)["linked_template_id"] == stamp
    foreign = next(r.id for r in svc.list_templates(other_merchant) if r.card_type == "stamp")
    for bad in (foreign, coupon):
        with pytest.raises(TemplateError, match="linked loyalty card"):
            svc.save_template_form(merchant, coupon, "Coupon", {"linked_template_id": str(bad)})


def test_another_merchants_template_is_not_found(merchant, other_merchant):
    theirs = svc.create_template(other_merchant, "Theirs", "gift")
    assert svc.load_template(merchant, theirs) is None
    assert theirs not in [r.id for r in svc.list_templates(merchant)]
    with pytest.raises(TemplateError, match="does not exist"):
        svc.update_template(merchant, theirs, name="Mine now", settings={})
    with pytest.raises(TemplateError, match="does not exist"):
        svc.save_template_form(merchant, theirs, "Mine now", {})
    assert svc.load_template(other_merchant, theirs).name == "Theirs"
