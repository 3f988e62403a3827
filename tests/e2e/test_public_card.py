"""The public card page ``/card/{token}`` on a phone, without logging in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from perkstar_ui.services.customer_records import delete_card
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlmodel import select

from perkstar_ui import config
from perkstar_ui.db.models import Card, Customer
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.domain.card_rules import IssueOptions
from perkstar_ui.services import public_card
from tests.e2e.conftest import goto, log_in, touch_height
from tests.helpers import issue

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser: Browser, base_url: str) -> Iterator[Page]:
    """A phone-sized browser that has never logged in."""
    context: BrowserContext = browser.new_context(
        base_url=base_url, viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    yield context.new_page()
    context.close()


def demo_card(merchant_id: int, card_type: str, balance: int = 0, **values) -> tuple[int, str, str]:
    """A new card for the first demo customer, issued by the card engine with ``balance``
    as its opening ledger entry: (card id, serial, install token)."""
    with tenant_session(merchant_id) as session:
        customer_id = session.exec(select(Customer.id).order_by(Customer.id)).first()
    card_id = issue(merchant_id, customer_id, card_type, IssueOptions(starting_balance=balance))
    with tenant_session(merchant_id) as session:
        if values:
            session.execute(sa.update(Card).where(Card.id == card_id).values(**values))
            session.commit()
        card = session.get(Card, card_id)
        return card_id, card.serial, card.install_token


def card_in_db(merchant_id: int, card_id: int) -> Card:
    with tenant_session(merchant_id) as session:
        return session.get(Card, card_id)


def holder_of(merchant_id: int, card_id: int) -> str:
    with tenant_session(merchant_id) as session:
        customer = session.get(Customer, session.get(Card, card_id).customer_id)
        return f"{customer.first_name} {customer.last_name}"


def reviews_tile(page: Page) -> int:
    goto(page, "/customers")
    value = page.get_by_test_id("tile-reviews").get_by_test_id("tile-value")
    expect(value).not_to_have_text("")
    return int(value.inner_text())


def test_holder_installs_the_card_and_reviews_it(phone: Page, browser: Browser, base_url: str, demo_merchant):
    card_id, serial, token = demo_card(demo_merchant, "cashback", balance=1250)
    merchant = browser.new_context(base_url=base_url)
    office = merchant.new_page()
    try:
        log_in(office, config.DEMO_EMAIL, config.DEMO_PASSWORD)
        reviews_before = reviews_tile(office)

        goto(phone, f"/card/{token}")
        expect(phone.get_by_test_id("card-holder")).to_have_text(holder_of(demo_merchant, card_id))
        expect(phone.get_by_test_id("card-serial")).to_have_text(serial)
        expect(phone.get_by_test_id("card-balance")).to_have_text("12.50")
        expect(phone.get_by_test_id("card-tier")).to_have_text(public_card.load_public_card(token).tier)
        expect(phone.get_by_test_id("card-status")).to_have_text("Uninstalled")
        qr = phone.get_by_test_id("card-qr")
        expect(qr).to_be_visible()
        expect(qr).to_have_attribute("src", public_card.qr_data_uri(serial))
        expect(qr).to_have_attribute("alt", f"QR code of card number {serial}")

        # Phone-sized: nothing sideways, touch targets at least 44 px tall.
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        install = phone.get_by_test_id("card-install")
        assert touch_height(install) >= 44
        # The card's own manifest makes "Add to home screen" install this page.
        href = f"/api/cards/public/{token}/manifest.webmanifest"
        expect(phone.locator(f'head link[rel="manifest"][href="{href}"]')).to_have_count(1)
        manifest = phone.request.get(href)
        assert manifest.ok and manifest.json()["start_url"] == f"/card/{token}"

        install.tap()
        expect(phone.get_by_test_id("card-status")).to_have_text("Installed")
        stored = card_in_db(demo_merchant, card_id)
        assert (stored.status, stored.device) == ("installed", "pwa") and stored.installed_at is not None

        phone.get_by_label("Rating", exact=True).select_option("5")
        phone.get_by_label("Review", exact=True).fill("Quick and friendly.")
        phone.get_by_test_id("review-submit").tap()
        expect(phone.get_by_test_id("review-thanks")).to_contain_text("Thank you")

        assert reviews_tile(office) == reviews_before + 1
    finally:
        merchant.close()


def test_a_bad_rating_is_refused_with_a_message(phone: Page, demo_merchant):
    _, _, token = demo_card(demo_merchant, "stamp")
    goto(phone, f"/card/{token}")
    phone.get_by_label("Review", exact=True).fill("x" * 10)
    # The select offers 1–5 only; a tampered value is still refused by the server.
    phone.get_by_label("Rating", exact=True).evaluate("el => { el.options[0].value = '9'; el.value = '9'; }")
    phone.get_by_test_id("review-submit").tap()
    expect(phone.get_by_test_id("form-error")).to_contain_text("rating from 1 to 5")
    expect(phone.get_by_test_id("review-thanks")).to_have_count(0)


def test_a_deleted_card_says_it_no_longer_works(phone: Page, demo_merchant):
    card_id, serial, token = demo_card(demo_merchant, "stamp")
    delete_card(demo_merchant, card_id)
    goto(phone, f"/card/{token}")
    expect(phone.get_by_test_id("card-deleted")).to_contain_text("no longer works")
    expect(phone.get_by_test_id("card-status")).to_have_text("Deleted")
    expect(phone.get_by_test_id("card-serial")).to_have_text(serial)
    expect(phone.get_by_test_id("card-install")).to_have_count(0)
    expect(phone.get_by_test_id("card-qr")).to_have_count(0)
    expect(phone.get_by_test_id("review-submit")).to_have_count(0)


def test_an_unknown_token_shows_card_not_found(phone: Page, demo_merchant):
    goto(phone, "/card/NOSUCHTOKEN")
    expect(phone.get_by_test_id("not-found")).to_contain_text("Card not found")
    expect(phone.get_by_test_id("card-holder")).to_have_count(0)
    assert "/card/NOSUCHTOKEN" in phone.url  # public: no login redirect


def test_a_coupon_has_an_empty_balance_and_its_offer(phone: Page, demo_merchant):
    _, _, token = demo_card(demo_merchant, "coupon")
    goto(phone, f"/card/{token}")
    expect(phone.get_by_test_id("card-holder")).not_to_have_text("")
    expect(phone.get_by_test_id("card-balance")).to_have_text("")
    expect(phone.get_by_test_id("card-tier")).to_have_count(0)
    expect(phone.get_by_test_id("card-reward-list")).to_contain_text(public_card.load_public_card(token).rewards[0])
