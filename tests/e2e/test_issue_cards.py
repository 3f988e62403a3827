"""Actions → Issue cards in Chromium: template, settings of its type, delivery, skipped, refused."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlmodel import select

from perkstar_ui.db.models import Card, CardTemplate, Message
from perkstar_ui.db.tenancy import tenant_session
from tests.e2e.conftest import touch_height, wait_ready
from tests.helpers import add_customer

STAMP_TEMPLATE = "Coffee stamp card"


def select_rows(page: Page, *names: str) -> None:
    for name in names:
        box = page.get_by_test_id("customer-row").filter(has_text=name).get_by_test_id("row-select")
        box.click()
        expect(box).to_be_checked()  # the selection lives on the server


def open_issue_dialog(page: Page):
    page.get_by_test_id("actions-menu").click()
    page.get_by_test_id("action-issue-cards").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("Card template")).to_be_visible()
    return dialog


def choose_template(dialog, name: str, type_label: str) -> None:
    dialog.get_by_label("Card template").select_option(label=name)
    expect(dialog.locator("#issue-template-hint")).to_have_text(f"Card type: {type_label}")  # the server answered


def stamp_cards(merchant_id: int) -> dict[int, int]:
    with tenant_session(merchant_id) as session:
        template = session.exec(select(CardTemplate).where(CardTemplate.name == STAMP_TEMPLATE)).one()
        return {c.customer_id: c.balance for c in session.exec(select(Card).where(Card.template_id == template.id)).all()}


def messages(merchant_id: int) -> list[tuple[int, str, str]]:
    with tenant_session(merchant_id) as session:
        return [(m.customer_id, m.channel, m.recipient) for m in session.exec(select(Message).order_by(Message.id)).all()]


def test_issue_stamp_cards_by_email_then_again_skipped(shop_page: Page, shop):
    merchant_id = shop[0]
    ann = add_customer(merchant_id, "Ann", "Email", phone="+14155550101", email="ann@example.com")
    ben = add_customer(merchant_id, "Ben", "Phone", phone="+14155550102")
    add_customer(merchant_id, "Cy", "Other", email="cy@example.com")  # not selected: gets nothing
    page = shop_page
    page.reload()
    wait_ready(page)
    select_rows(page, "Ann Email", "Ben Phone")

    dialog = open_issue_dialog(page)
    expect(dialog.get_by_label("Delivery")).to_have_value("none")
    choose_template(dialog, STAMP_TEMPLATE, "Stamp")
    # The stamp card's settings apply; membership's do not.
    expect(dialog.get_by_label("Starting balance")).to_be_visible()
    expect(dialog.get_by_label("Welcome stamps")).to_have_value("0")
    expect(dialog.get_by_label("Tier")).to_have_count(0)
    expect(dialog.get_by_label("Period")).to_have_count(0)
    dialog.get_by_label("Starting balance").fill("3")
    dialog.get_by_label("Delivery").select_option(label="Email")
    for control in ["Card template", "Starting balance", "Welcome stamps", "Delivery"]:
        assert touch_height(dialog.get_by_label(control)) >= 44, control
    assert touch_height(dialog.get_by_test_id("issue-confirm")) >= 44
    dialog.get_by_test_id("issue-confirm").click()

    expect(page.get_by_role("dialog")).to_have_count(0)
    toast = page.locator("[data-sonner-toast]").filter(has_text="Issued 2 cards")
    expect(toast).to_contain_text("1 message queued")
    expect(toast).to_contain_text("Ben Phone: no email for EMAIL")
    assert stamp_cards(merchant_id) == {ann: 3, ben: 3}
    assert messages(merchant_id) == [(ann, "email", "ann@example.com")]
    for name in ["Ann Email", "Ben Phone"]:
        expect(page.get_by_test_id("customer-row").filter(has_text=name).get_by_test_id("cell-cards")).to_contain_text("Stamp")
    expect(page.get_by_test_id("customer-row").filter(has_text="Cy Other").get_by_test_id("cell-cards")).to_have_text("")
    expect(page.get_by_test_id("tile-card-transactions").get_by_test_id("tile-value")).to_have_text("2")

    # The same template to the same customers again: both skipped, nothing new.
    select_rows(page, "Ann Email", "Ben Phone")
    dialog = open_issue_dialog(page)
    choose_template(dialog, STAMP_TEMPLATE, "Stamp")
    dialog.get_by_label("Delivery").select_option(label="Both")
    dialog.get_by_test_id("issue-confirm").click()
    toast = page.locator("[data-sonner-toast]").filter(has_text="Issued 0 cards")
    expect(toast).to_contain_text("Ann Email: already has this card")
    expect(toast).to_contain_text("Ben Phone: already has this card")
    assert stamp_cards(merchant_id) == {ann: 3, ben: 3}
    assert len(messages(merchant_id)) == 1


def test_refused_starting_balance_in_form_error_and_membership_settings(shop_page: Page, shop):
    merchant_id = shop[0]
    add_customer(merchant_id, "Dee", "Refused", email="dee@example.com")
    page = shop_page
    page.reload()
    wait_ready(page)
    select_rows(page, "Dee Refused")
    dialog = open_issue_dialog(page)
    choose_template(dialog, STAMP_TEMPLATE, "Stamp")
    dialog.get_by_label("Starting balance").fill("abc")
    dialog.get_by_test_id("issue-confirm").click()
    expect(dialog.get_by_test_id("form-error")).to_contain_text("Starting balance must be a number")
    expect(page.get_by_role("dialog")).to_be_visible()  # still open, nothing issued
    assert stamp_cards(merchant_id) == {}

    # Membership (manual mode): Tier and Period instead of a starting balance.
    choose_template(dialog, "Membership", "Membership")
    expect(dialog.get_by_test_id("form-error")).to_have_count(0)
    expect(dialog.get_by_label("Starting balance")).to_have_count(0)
    expect(dialog.get_by_label("Welcome stamps")).to_have_count(0)
    expect(dialog.get_by_label("Tier")).to_have_value("Basic")
    expect(dialog.get_by_label("Period")).to_have_value("monthly")
    dialog.get_by_label("Tier").select_option(label="Premium")
    dialog.get_by_label("Period").select_option(label="Weekly")
    dialog.get_by_test_id("issue-confirm").click()
    expect(page.locator("[data-sonner-toast]").filter(has_text="Issued 1 card")).to_be_visible()
    with tenant_session(merchant_id) as session:
        card = session.exec(select(Card).where(Card.card_type == "membership")).one()
    assert (card.tier, card.balance) == ("Premium", 90)


def test_without_a_selection_the_menu_asks_to_select_first(shop_page: Page, shop):
    add_customer(shop[0], "Eve", "Unselected", email="eve@example.com")
    page = shop_page
    page.reload()
    wait_ready(page)
    page.get_by_test_id("actions-menu").click()
    page.get_by_test_id("action-issue-cards").click()
    expect(page.locator("[data-sonner-toast]").filter(has_text="Select the customers to issue cards to first")).to_be_visible()
    expect(page.get_by_role("dialog")).to_have_count(0)
