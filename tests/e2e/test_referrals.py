"""Referral sign-up in Chromium: a friend opens the link on a phone, signs up, installs the
card, and both sides get the rewards of a program that pays on installation (chosen
explicitly; the default pays on the first visit: tests/e2e/test_join.py)."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, expect
from sqlmodel import select

from perkstar_ui.db.models import Card, Customer
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.services import accounts
from tests.e2e.conftest import PASSWORD, goto, log_in, wait_ready
from tests.helpers import add_customer, issue, referral_program


def _referrer_card(merchant_id: int) -> Card:
    referral_program(merchant_id, "install", referrer_reward=2, new_customer_reward=1)
    customer = add_customer(merchant_id, "Rosa", "Referrer", email="rosa@example.com")
    with tenant_session(merchant_id) as session:
        return session.get(Card, issue(merchant_id, customer, "stamp"))


def test_referral_sign_up_rewards_both_and_shows_in_the_profile(browser: Browser, base_url: str, unique: str):
    email = f"ref-{unique}@shop.test"
    merchant_id = accounts.create_merchant(f"Referral Café {unique}", email, PASSWORD)
    referrer = _referrer_card(merchant_id)
    phone = browser.new_context(base_url=base_url, viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    try:
        page = phone.new_page()
        goto(page, f"/r/{referrer.referral_code}")
        expect(page.get_by_role("heading", level=1)).to_contain_text("Rosa invites you")
        page.get_by_label("First name").fill("Nadia")
        page.get_by_label("Last name").fill("Newcomer")
        page.get_by_label("Phone").fill("+447400123321")
        page.get_by_label("Email", exact=True).fill("not-an-email")
        page.get_by_test_id("referral-submit").tap()
        expect(page.get_by_test_id("form-error")).to_contain_text("not a valid")
        page.get_by_label("Email", exact=True).fill("nadia@example.com")
        page.get_by_test_id("referral-submit").tap()
        page.wait_for_url(re.compile(r"/card/[A-Za-z0-9]+/?$"))
        wait_ready(page)
        expect(page.get_by_test_id("card-holder")).to_contain_text("Nadia Newcomer")
        expect(page.get_by_test_id("card-balance")).to_have_text("0")  # signing up pays nothing
        page.get_by_test_id("card-install").tap()
        expect(page.get_by_test_id("card-balance")).to_have_text("1")
    finally:
        phone.close()
    with tenant_session(merchant_id) as session:
        nadia = session.exec(select(Customer).where(Customer.email == "nadia@example.com")).one()
        new_card = session.exec(select(Card).where(Card.customer_id == nadia.id)).one()
        assert (new_card.status, new_card.referred_by_card_id) == ("installed", referrer.id)
        assert session.get(Card, referrer.id).balance == 2

    # The merchant sees the reward on the referrer's profile and in its history.
    merchant_page = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 800}).new_page()
    try:
        log_in(merchant_page, email, PASSWORD)
        goto(merchant_page, f"/customers/{referrer.customer_id}")
        expect(merchant_page.get_by_test_id("metric-stamps-earned-by-referral-program")).to_have_text("2")
        row = merchant_page.get_by_test_id("transaction-row").first
        expect(row).to_have_attribute("data-kind", "referral_bonus")
        expect(row).to_contain_text("invited Nadia Newcomer")
    finally:
        merchant_page.context.close()


def test_unknown_referral_code_says_so(browser: Browser, base_url: str):
    context = browser.new_context(base_url=base_url)
    try:
        page = context.new_page()
        goto(page, "/r/NOSUCHCODE")
        expect(page.get_by_test_id("not-found")).to_contain_text("not valid")
    finally:
        context.close()
