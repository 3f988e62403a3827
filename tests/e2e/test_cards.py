"""Card panels in Chromium: each type's main action and a refused one, corrections,
exactly-once Apply, and the three-tap flow at the counter on a tablet."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import select

from perkstar_ui.db.models import Card, CardTemplate, CardTransaction
from perkstar_ui.db.tenancy import tenant_session
from tests.e2e.conftest import PASSWORD, goto, log_in, touch_height, wait_ready
from tests.helpers import add_customer, issue, set_template


def ledger_kinds(merchant_id: int, card_id: int) -> list[str]:
    with tenant_session(merchant_id) as session:
        return session.exec(select(CardTransaction.kind).where(CardTransaction.card_id == card_id)
                            .order_by(CardTransaction.id)).all()


def open_customer(page: Page, customer_id: int) -> None:
    goto(page, f"/customers/{customer_id}")
    expect(page.get_by_test_id("card-panel")).to_be_visible()


def at_the_profile(page: Page, shop, name: str, card_type: str) -> tuple[int, int]:  # noqa: ANN001
    """A customer holding one new card of this type, their profile open; (customer, card)."""
    merchant_id, email = shop
    first, last = name.split()
    customer = add_customer(merchant_id, first, last, email=f"{first.lower()}.{last.lower()}@example.com")
    card_id = issue(merchant_id, customer, card_type)
    log_in(page, email, PASSWORD)
    open_customer(page, customer)
    return customer, card_id


def act(page: Page, verb: str, value: str | None = None, **fields: str) -> None:
    page.get_by_test_id(f"card-action-{verb}").click()
    dialog = page.get_by_role("dialog")
    if value is not None:
        dialog.get_by_label("Value", exact=True).fill(value)
    for label, text in fields.items():
        control = dialog.get_by_label(label.replace("_", " "), exact=True)
        if label in ("Reward", "Tier", "Period"):
            control.select_option(text)
        else:
            control.fill(text)
    dialog.get_by_test_id("action-apply").click()


# verb, value, extra fields, expected balance, refused verb, refused value, refused message
MAIN_ACTIONS = {
    "stamp": ("add-stamps", "3", {}, "3", "remove-stamps", "4", "Cannot remove more stamps"),
    "multipass": ("add-visits", "10", {"Purchase_amount": "50.00"}, "10", "redeem-visits", "11", "more visits than are available"),
    "cashback": ("add-amount", "200.00", {}, "2.00", "remove-points", "3", "more points than the current balance"),
    "gift": ("add-balance", "25.00", {}, "25.00", "remove-balance", "25.01", "more than the current balance"),
    "reward": ("add-amount", "60.00", {}, "60.00", "redeem-reward", None, "Not enough points"),
    "coupon": ("redeem", None, {"Purchase_amount": "8.00"}, "", "redeem", None, "already been redeemed"),
    "membership": ("add-visits", "2", {}, "28", "add-visits", "29", "limit left in this period"),
    "discount": ("add-amount", "120.00", {}, "120.00", "subtract-amount", "120.01", "transactions amount"),
}


@pytest.mark.parametrize("card_type", list(MAIN_ACTIONS))
def test_main_action_and_a_refused_one(page: Page, shop, card_type: str):
    merchant_id = shop[0]
    _, card_id = at_the_profile(page, shop, f"Card {card_type.capitalize()}", card_type)
    panel = page.get_by_test_id("card-panel")
    expect(panel).to_have_attribute("data-card-type", card_type)
    verb, value, fields, balance, refused_verb, refused_value, message = MAIN_ACTIONS[card_type]
    act(page, verb, value, **fields)
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(panel.get_by_test_id("card-balance")).to_have_text(balance)
    written = ledger_kinds(merchant_id, card_id)
    refused_fields = {"Reward": "10% off"} if card_type == "reward" else {}
    act(page, refused_verb, refused_value, **refused_fields)
    expect(page.get_by_role("dialog").get_by_test_id("form-error")).to_contain_text(message)
    page.keyboard.press("Escape")
    expect(panel.get_by_test_id("card-balance")).to_have_text(balance)
    assert ledger_kinds(merchant_id, card_id) == written  # the refusal wrote nothing
    if card_type == "coupon":
        expect(panel.get_by_test_id("metric-coupon-status")).to_have_text("Redeemed")
        expect(panel.get_by_test_id("metric-ltv")).to_have_text("8.00")
    if card_type == "cashback":
        expect(panel.get_by_test_id("card-tier")).to_have_text("Bronze")
        expect(panel.get_by_test_id("metric-transaction-amount")).to_have_text("200.00")


def test_correction_writes_a_reversing_row(page: Page, shop):
    merchant_id = shop[0]
    customer, card_id = at_the_profile(page, shop, "Correct Me", "stamp")
    act(page, "add-stamps", "4", Comment="typo: meant 1")
    panel = page.get_by_test_id("card-panel")
    expect(panel.get_by_test_id("card-balance")).to_have_text("4")
    rows = page.get_by_test_id("transaction-row")
    expect(rows).to_have_count(1)
    rows.first.get_by_test_id("transaction-correct").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("Value", exact=True)).to_have_value("4")
    dialog.get_by_test_id("action-apply").click()
    expect(panel.get_by_test_id("card-balance")).to_have_text("0")
    expect(rows).to_have_count(2)
    expect(rows.first).to_have_attribute("data-kind", "correction")
    expect(rows.first).to_have_attribute("data-amount", "-4")
    expect(page.get_by_test_id("transaction-correct")).to_have_count(0)  # corrected once only
    assert ledger_kinds(merchant_id, card_id) == ["stamps_added", "correction"]
    expect(panel.get_by_test_id("metric-stamps-earned")).to_have_text("0")


def test_double_click_on_apply_applies_once(page: Page, shop):
    merchant_id = shop[0]
    customer, card_id = at_the_profile(page, shop, "Double Tap", "gift")
    page.get_by_test_id("card-action-add-balance").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Value", exact=True).fill("10.00")
    dialog.get_by_test_id("action-apply").dblclick()
    expect(page.get_by_test_id("card-balance")).to_have_text("10.00")
    page.wait_for_timeout(500)  # let any second event arrive
    assert ledger_kinds(merchant_id, card_id) == ["balance_added"]


def test_the_dialog_is_a_form_enter_applies_and_a_refusal_keeps_what_was_typed(page: Page, shop):
    merchant_id = shop[0]
    _, card_id = at_the_profile(page, shop, "Enter Key", "stamp")
    page.get_by_test_id("card-action-remove-stamps").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Comment", exact=True).fill("wrong card")
    dialog.get_by_label("Value", exact=True).fill("2")
    dialog.get_by_label("Value", exact=True).press("Enter")
    expect(dialog.get_by_test_id("form-error")).to_contain_text("Cannot remove more stamps")
    expect(dialog.get_by_label("Value", exact=True)).to_have_value("2")
    expect(dialog.get_by_label("Comment", exact=True)).to_have_value("wrong card")
    page.keyboard.press("Escape")
    page.get_by_test_id("card-action-add-stamps").click()
    expect(dialog.get_by_label("Comment", exact=True)).to_have_value("")  # a new dialog starts empty
    dialog.get_by_label("Value", exact=True).fill("2")
    dialog.get_by_label("Comment", exact=True).fill("two coffees")
    dialog.get_by_label("Comment", exact=True).press("Enter")
    expect(page.get_by_test_id("card-balance")).to_have_text("2")
    assert ledger_kinds(merchant_id, card_id) == ["stamps_added"]
    with tenant_session(merchant_id) as session:
        assert session.exec(select(CardTransaction.comment).where(CardTransaction.card_id == card_id)).all() == ["two coffees"]


def test_change_expiration_past_shows_expired_and_blocks_earning(page: Page, shop):
    at_the_profile(page, shop, "Expiring Card", "stamp")
    page.get_by_test_id("card-action-change-expiration").click()
    page.get_by_role("dialog").get_by_label("Date", exact=True).fill("2020-01-31")
    page.get_by_role("dialog").get_by_test_id("action-apply").click()
    expect(page.get_by_test_id("card-status")).to_have_text("Expired")
    expect(page.get_by_test_id("card-expiration")).to_have_text("2020-01-31")
    act(page, "add-stamps", "1")
    expect(page.get_by_role("dialog").get_by_test_id("form-error")).to_contain_text("expired on 2020-01-31")


def test_three_taps_at_the_counter_on_a_tablet(browser: Browser, base_url: str, shop):
    merchant_id, email = shop
    customer = add_customer(merchant_id, "Counter", "Regular", phone="+14155550199")
    card_id = issue(merchant_id, customer, "stamp")
    context = browser.new_context(base_url=base_url, viewport={"width": 768, "height": 1024}, has_touch=True,
                                  is_mobile=True)
    try:
        page = context.new_page()
        log_in(page, email, PASSWORD)
        page.get_by_label("Search customers").fill("415 555 0199")
        expect(page.get_by_test_id("customer-row")).to_have_count(1)
        page.get_by_test_id("cell-name").first.tap()  # 1: the profile
        wait_ready(page)
        add = page.get_by_test_id("card-action-add-stamps")
        add.tap()  # 2: the action
        apply = page.get_by_role("dialog").get_by_test_id("action-apply")
        # The text field's frame is its touch target (a tap anywhere in it focuses the input).
        value_field = page.get_by_role("dialog").get_by_label("Value", exact=True).locator("xpath=ancestor::div[1]")
        for control in (add, apply, value_field):
            assert touch_height(control) >= 44
        apply.tap()  # 3: Apply, with Value 1 already there
        expect(page.get_by_test_id("card-balance")).to_have_text("1")
        assert ledger_kinds(merchant_id, card_id) == ["stamps_added"]
    finally:
        context.close()


def test_deleted_card_offers_no_actions(page: Page, shop):
    merchant_id = shop[0]
    customer, card_id = at_the_profile(page, shop, "Deleted Card", "gift")
    page.get_by_test_id("card-action-delete-card").click()
    page.get_by_test_id("confirm-delete").click()
    expect(page.get_by_test_id("card-status")).to_have_text("Deleted")
    expect(page.get_by_test_id("card-action-add-balance")).to_be_disabled()
    with tenant_session(merchant_id) as session:
        assert session.get(Card, card_id).status == "deleted"


def test_linked_coupon_becomes_its_loyalty_card_and_push_is_queued(page: Page, shop):
    from perkstar_ui.db.models import Message

    merchant_id, email = shop
    with tenant_session(merchant_id) as session:
        stamp = session.exec(select(CardTemplate).where(CardTemplate.card_type == "stamp")).first()
    set_template(merchant_id, "coupon", linked_template_id=stamp.id)
    customer = add_customer(merchant_id, "Coupon", "Convert", email="convert@example.com")
    coupon_id = issue(merchant_id, customer, "coupon")
    with tenant_session(merchant_id) as session:
        card = session.get(Card, coupon_id)
        card.status = "installed"
        session.add(card)
        session.commit()
    log_in(page, email, PASSWORD)
    open_customer(page, customer)
    act(page, "redeem", None, Purchase_amount="0")
    panel = page.get_by_test_id("card-panel")
    expect(panel).to_have_attribute("data-card-type", "stamp")
    expect(panel.get_by_test_id("card-balance")).to_have_text("1")
    expect(page.get_by_test_id("card-tab")).to_have_count(2)
    expect(panel.get_by_test_id("card-status")).to_have_text("Installed")
    page.get_by_test_id("card-action-send-push").click()
    page.get_by_role("dialog").get_by_label("Message", exact=True).fill("Double stamps on Friday")
    page.get_by_role("dialog").get_by_test_id("action-apply").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    with tenant_session(merchant_id) as session:
        assert session.exec(select(Message.body).where(Message.customer_id == customer, Message.channel == "push")).all() == [
            "Double stamps on Friday"]
