"""/counter on a 768×1024 tablet (issue 14): a camera scan (Chromium's fake camera playing
a Y4M of the card's QR) opens the card, one tap adds a stamp, a double tap awards once,
undo writes a correction; Enter finds by phone and by name; staff may use it; a refused
camera says so and the field still works."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlmodel import select

from perkstar_ui.db.models import Card, CardTransaction, StaffUser
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.domain import security
from perkstar_ui.domain.permissions import Role
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, PASSWORD, goto, log_in
from tests.fake_camera import fake_camera_args, qr_video
from tests.helpers import add_customer, issue

TABLET = {"width": 768, "height": 1024}


def _serial(merchant_id: int, card_id: int) -> str:
    with tenant_session(merchant_id) as session:
        return session.get(Card, card_id).serial


def _ledger(merchant_id: int, card_id: int) -> list[CardTransaction]:
    with tenant_session(merchant_id) as session:
        return session.exec(select(CardTransaction).where(CardTransaction.card_id == card_id)
                            .order_by(CardTransaction.id)).all()


def _staff_user(merchant_id: int, email: str) -> int:
    with tenant_session(merchant_id) as session:
        user = StaffUser(merchant_id=merchant_id, email=email, password_hash=security.hash_password(PASSWORD),
                         role=Role.STAFF.value)
        session.add(user)
        session.commit()
        return user.id


@pytest.fixture
def stamp_customer(shop) -> tuple[int, int, str]:  # noqa: ANN001
    """(customer, stamp card, its serial)."""
    customer = add_customer(shop[0], "Scan", "Walker", phone="+14155550177")
    card_id = issue(shop[0], customer, "stamp")
    return customer, card_id, _serial(shop[0], card_id)


@pytest.fixture
def camera_page(browser: Browser, base_url: str, stamp_customer, tmp_path) -> Iterator[Page]:  # noqa: ANN001
    """A tablet-sized tab of a Chromium whose camera shows the card's QR."""
    video = qr_video(tmp_path / "card.y4m", stamp_customer[2])
    camera_browser = browser.browser_type.launch(executable_path=CHROMIUM,
                                                 args=CHROMIUM_ARGS + fake_camera_args(video))
    context: BrowserContext = camera_browser.new_context(base_url=base_url, viewport=TABLET, has_touch=True)
    context.grant_permissions(["camera"])
    try:
        yield context.new_page()
    finally:
        context.close()
        camera_browser.close()


def test_scan_then_one_tap_adds_a_stamp_once_and_undo_corrects_it(camera_page: Page, shop, stamp_customer):  # noqa: ANN001
    page = camera_page
    merchant_id, email = shop
    customer, card_id, serial = stamp_customer
    log_in(page, email, PASSWORD)
    goto(page, "/counter")
    search = page.get_by_label("Phone, serial or name")
    expect(search).to_have_attribute("data-testid", "counter-search")

    page.get_by_test_id("counter-scan").tap()  # tap 1: the camera reads the QR, the card opens
    panel = page.get_by_test_id("card-panel")
    expect(panel).to_have_attribute("data-serial", serial)
    expect(panel).to_have_attribute("data-card-type", "stamp")
    expect(page.get_by_test_id("counter-result")).to_have_attribute("data-customer-id", str(customer))
    expect(panel.get_by_test_id("card-balance")).to_have_text("0")

    page.get_by_test_id("quick-add-stamps").tap()  # tap 2: +1
    expect(panel.get_by_test_id("card-balance")).to_have_text("1")
    rows = _ledger(merchant_id, card_id)
    assert [(r.value_delta, r.source, r.correction_of_id) for r in rows] == [(1, "scanner", None)]
    expect(search).to_have_value("")  # ready for the next customer
    expect(search).to_be_focused()

    page.get_by_test_id("quick-add-stamps").dblclick()  # a double tap: one key, one stamp
    expect(panel.get_by_test_id("card-balance")).to_have_text("2")
    page.wait_for_timeout(1_000)
    expect(panel.get_by_test_id("card-balance")).to_have_text("2")
    assert len(_ledger(merchant_id, card_id)) == 2

    page.get_by_test_id("quick-undo").tap()  # undo: a correction through the engine, not an edit
    expect(panel.get_by_test_id("card-balance")).to_have_text("1")
    rows = _ledger(merchant_id, card_id)
    assert len(rows) == 3 and rows[2].value_delta == -1 and rows[2].correction_of_id == rows[1].id
    assert rows[2].source == "scanner"  # the counter's undo, not the dashboard
    expect(page.get_by_test_id("quick-undo")).to_have_count(0)


def test_staff_finds_by_phone_with_enter_and_taps(browser: Browser, base_url: str, shop, stamp_customer, unique):  # noqa: ANN001
    merchant_id, _ = shop
    customer, card_id, serial = stamp_customer
    other_serial = _serial(merchant_id, issue(merchant_id, customer, "multipass"))  # a second card
    staff_email = f"till-{unique}@shop.test"
    staff_id = _staff_user(merchant_id, staff_email)
    context = browser.new_context(base_url=base_url, viewport=TABLET, has_touch=True, is_mobile=True)
    try:
        page = context.new_page()
        log_in(page, staff_email, PASSWORD)
        page.get_by_test_id("nav-counter").click()
        page.wait_for_url(re.compile(r".*/counter/?$"))
        expect(page.get_by_test_id("access-denied")).to_have_count(0)
        search = page.get_by_label("Phone, serial or name")
        search.fill("415 555 0177")
        search.press("Enter")
        expect(page.get_by_test_id("counter-result")).to_have_attribute("data-customer-id", str(customer))
        page.get_by_test_id("counter-result").tap()
        panel = page.get_by_test_id("card-panel")
        expect(panel).to_be_visible()
        page.locator(f'[data-testid="card-tab"][data-serial="{serial}"]').tap()
        expect(panel).to_have_attribute("data-serial", serial)
        page.get_by_test_id("quick-add-stamps").tap()
        expect(page.get_by_test_id("card-balance")).to_have_text("1")
        assert [r.staff_user_id for r in _ledger(merchant_id, card_id)] == [staff_id]
        expect(page.get_by_test_id("quick-undo")).to_be_visible()
        # Another card of the same customer: the undo bar spoke of the stamp card's action.
        page.locator(f'[data-testid="card-tab"][data-serial="{other_serial}"]').tap()
        expect(panel).to_have_attribute("data-card-type", "multipass")
        expect(page.get_by_test_id("quick-undo")).to_have_count(0)
        expect(page.get_by_test_id("counter-done")).to_have_count(0)
        page.locator(f'[data-testid="card-tab"][data-serial="{serial}"]').tap()
        expect(panel).to_have_attribute("data-serial", serial)
        expect(page.get_by_test_id("quick-undo")).to_have_count(0)
        expect(page.get_by_test_id("card-action-add-stamps")).to_be_visible()  # the full dialog is still there
        page.get_by_test_id("card-action-add-stamps").tap()
        value = page.get_by_role("dialog").get_by_label("Value", exact=True)
        expect(value).to_have_attribute("inputmode", "numeric")
    finally:
        context.close()


def test_enter_finds_by_name_and_a_wedge_serial_opens_the_card(shop_page: Page, shop, stamp_customer):  # noqa: ANN001
    page = shop_page
    merchant_id = shop[0]
    other = add_customer(merchant_id, "Sam", "Walker", email="sam.walker@example.com")
    other_card = issue(merchant_id, other, "multipass")
    page.set_viewport_size(TABLET)
    goto(page, "/counter")
    search = page.get_by_label("Phone, serial or name")
    search.fill("walker")
    search.press("Enter")
    results = page.get_by_test_id("counter-result")
    expect(results).to_have_count(2)
    page.locator(f'[data-testid="counter-result"][data-customer-id="{other}"]').click()
    panel = page.get_by_test_id("card-panel")
    expect(panel).to_have_attribute("data-card-type", "multipass")
    expect(page.get_by_test_id("quick-redeem-visits")).to_be_visible()
    expect(page.get_by_test_id("quick-add-stamps")).to_have_count(0)

    # A keyboard-wedge scanner types the serial and Enter into the field.
    search.fill("")
    search.press_sequentially(stamp_customer[2], delay=5)
    search.press("Enter")
    expect(panel).to_have_attribute("data-serial", stamp_customer[2])
    expect(results).to_have_count(1)
    assert _serial(merchant_id, other_card) != stamp_customer[2]

    search.fill("")
    search.press_sequentially("nobody-here")
    search.press("Enter")
    expect(page.get_by_test_id("counter-none")).to_be_visible()
    expect(results).to_have_count(0)


def test_a_refused_camera_says_so_and_the_field_still_works(shop_page: Page, stamp_customer):  # noqa: ANN001
    page = shop_page  # the suite's Chromium has no camera (no fake device)
    goto(page, "/counter")
    page.get_by_test_id("counter-scan").click()
    expect(page.get_by_test_id("counter-scan-error")).to_contain_text("Type or scan the serial")
    search = page.get_by_label("Phone, serial or name")
    search.fill(stamp_customer[2])
    search.press("Enter")
    expect(page.get_by_test_id("card-panel")).to_have_attribute("data-serial", stamp_customer[2])


def test_a_full_dialog_action_at_the_counter_refreshes_and_clears_the_field(shop_page: Page, shop, stamp_customer):  # noqa: ANN001
    """The panel's Apply runs the counter's refresh in the same event: the new balance,
    one ledger row, the history-free counter ready for the next customer."""
    page = shop_page
    merchant_id = shop[0]
    _, card_id, serial = stamp_customer
    page.set_viewport_size(TABLET)
    goto(page, "/counter")
    search = page.get_by_label("Phone, serial or name")
    search.fill(serial)
    search.press("Enter")
    panel = page.get_by_test_id("card-panel")
    expect(panel).to_have_attribute("data-serial", serial)
    page.get_by_test_id("card-action-add-stamps").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Value", exact=True).fill("3")
    dialog.get_by_test_id("action-apply").click()
    expect(panel.get_by_test_id("card-balance")).to_have_text("3")
    expect(dialog).to_have_count(0)
    expect(search).to_have_value("")  # ready for the next customer
    expect(search).to_be_focused()
    expect(panel).to_have_attribute("data-serial", serial)  # the card stays on screen
    assert [t.kind for t in _ledger(merchant_id, card_id)] == ["stamps_added"]
    expect(page.get_by_test_id("quick-add-stamps")).to_be_visible()  # one-tap still works after it
    page.get_by_test_id("quick-add-stamps").click()
    expect(panel.get_by_test_id("card-balance")).to_have_text("4")
