"""Push messages on the public card page: a push sent from the profile is delivered by the
app's worker and listed in ``card-messages``; the card page registers its service worker
(``/sw.js``), offers ``card-push-subscribe`` and stays readable offline.

Chromium's real push service is out of reach here (no internet), so no test subscribes for
real: the encryption and the push service protocol are covered by tests/unit/test_webpush.py.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlmodel import select

from perkstar_ui.db.models import Card, Message
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.domain.messages import Channel, MessageStatus
from tests.e2e.conftest import PASSWORD, goto, log_in
from tests.helpers import add_customer, issue

PHONE = {"width": 390, "height": 844}
DELIVERY_TIMEOUT = 30  # seconds for the embedded worker to pick the message up


@pytest.fixture
def phone_context(browser: Browser, base_url: str) -> Iterator[BrowserContext]:
    context = browser.new_context(base_url=base_url, viewport=PHONE, is_mobile=True, has_touch=True)
    yield context
    context.close()


def installed_card(merchant_id: int, first: str) -> tuple[int, int, str]:
    """(customer id, card id, install token) of a new installed stamp card."""
    customer = add_customer(merchant_id, first, "Holder", email=f"{first.lower()}@example.com")
    card_id = issue(merchant_id, customer, "stamp")
    with tenant_session(merchant_id) as session:
        session.execute(sa.update(Card).where(Card.id == card_id).values(status="installed", device="pwa"))
        session.commit()
        return customer, card_id, session.get(Card, card_id).install_token


def push_status(merchant_id: int, card_id: int) -> list[tuple[str, str | None]]:
    with tenant_session(merchant_id) as session:
        return [tuple(row) for row in session.exec(
            select(Message.status, Message.reason).where(Message.card_id == card_id,
                                                         Message.channel == Channel.PUSH.value)).all()]


def test_push_from_the_profile_appears_on_the_card_page(page: Page, phone_context: BrowserContext, shop):
    merchant_id, email = shop
    customer, card_id, token = installed_card(merchant_id, "Pushy")
    log_in(page, email, PASSWORD)
    goto(page, f"/customers/{customer}")
    page.get_by_test_id("card-action-send-push").click()
    page.get_by_role("dialog").get_by_label("Message", exact=True).fill("Double stamps this Friday ☕")
    page.get_by_role("dialog").get_by_test_id("action-apply").click()
    expect(page.get_by_role("dialog")).to_have_count(0)

    deadline = time.monotonic() + DELIVERY_TIMEOUT
    while push_status(merchant_id, card_id) != [(MessageStatus.SENT.value, None)] and time.monotonic() < deadline:
        time.sleep(0.5)
    assert push_status(merchant_id, card_id) == [(MessageStatus.SENT.value, None)]

    phone = phone_context.new_page()
    goto(phone, f"/card/{token}")
    messages = phone.get_by_test_id("card-messages")
    expect(messages.get_by_test_id("card-message")).to_have_count(1)
    expect(messages.get_by_test_id("card-message-text")).to_have_text("Double stamps this Friday ☕")
    expect(messages.get_by_test_id("card-message-date")).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d$"))


def test_a_not_sent_push_is_not_listed(phone_context: BrowserContext, shop):
    merchant_id, _ = shop
    customer, card_id, token = installed_card(merchant_id, "Quiet")
    with tenant_session(merchant_id) as session:
        session.add(Message(customer_id=customer, card_id=card_id, channel=Channel.PUSH.value, recipient="x",
                            body="cancelled offer", status=MessageStatus.CANCELLED.value))
        session.commit()
    phone = phone_context.new_page()
    goto(phone, f"/card/{token}")
    expect(phone.get_by_test_id("card-messages")).to_contain_text("No messages yet.")
    expect(phone.get_by_test_id("card-message")).to_have_count(0)


def test_card_page_service_worker_subscribe_button_and_offline_copy(phone_context: BrowserContext, shop):
    merchant_id, _ = shop
    _, _, token = installed_card(merchant_id, "Offline")
    phone = phone_context.new_page()

    script = phone.request.get("/sw.js")
    assert script.ok and "javascript" in script.headers["content-type"]
    assert "showNotification" in script.text()

    goto(phone, f"/card/{token}")
    serial = phone.get_by_test_id("card-serial").inner_text()
    scope = phone.evaluate("navigator.serviceWorker.ready.then(r => r.scope)")
    assert scope.endswith(f"/card/{token}")
    phone.wait_for_function("navigator.serviceWorker.controller !== null")

    button = phone.get_by_test_id("card-push-subscribe")
    expect(button).to_have_text("Get notifications")
    button.click()  # headless Chromium answers the permission prompt with "no"
    expect(phone.get_by_test_id("card-push-status")).to_contain_text("blocked")

    # The worker saved an offline copy when it took over the page; at the counter without
    # network the card (serial, QR) is still there.
    phone.wait_for_function(
        f"caches.open('perkstar-card-v1').then(c => c.match('/api/cards/public/{token}/offline.html'))"
        ".then(r => !!r)")
    phone_context.set_offline(True)
    try:
        phone.reload()
        expect(phone.get_by_test_id("card-offline")).to_be_visible()
        expect(phone.get_by_test_id("card-serial")).to_have_text(serial)
        expect(phone.get_by_role("img", name=f"QR code of card number {serial}")).to_be_visible()
    finally:
        phone_context.set_offline(False)
