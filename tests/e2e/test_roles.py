"""Roles in Chromium (issue 13): the counter role at 768×1024 finds a customer and adds a
stamp (the ledger row names that staff user) but has no export or delete, and /settings
shows access-denied; the owner still has both controls."""

from __future__ import annotations

from playwright.sync_api import Browser, expect
from sqlmodel import select

from perkstar_ui.db.models import CardTransaction, StaffUser
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.domain import security
from perkstar_ui.domain.permissions import Role
from tests.e2e.conftest import PASSWORD, goto, log_in, wait_ready
from tests.helpers import add_customer, issue

TABLET = {"width": 768, "height": 1024}


def _staff_user(merchant_id: int, email: str) -> int:
    with tenant_session(merchant_id) as session:
        user = StaffUser(merchant_id=merchant_id, email=email, password_hash=security.hash_password(PASSWORD),
                         role=Role.STAFF.value)
        session.add(user)
        session.commit()
        return user.id


def test_staff_adds_a_stamp_but_cannot_export_delete_or_open_settings(browser: Browser, base_url: str, shop, unique):
    merchant_id, owner_email = shop
    staff_email = f"counter-{unique}@shop.test"
    staff_id = _staff_user(merchant_id, staff_email)
    customer = add_customer(merchant_id, "Counter", "Guest", phone="+14155550123")
    card_id = issue(merchant_id, customer, "stamp")
    context = browser.new_context(base_url=base_url, viewport=TABLET, has_touch=True, is_mobile=True)
    try:
        page = context.new_page()
        log_in(page, staff_email, PASSWORD)
        page.get_by_label("Search customers").fill("415 555 0123")
        expect(page.get_by_test_id("customer-row")).to_have_count(1)
        expect(page.get_by_test_id("export-customers")).to_have_count(0)
        expect(page.get_by_test_id("action-delete-customers")).to_have_count(0)
        expect(page.get_by_test_id("nav-settings")).to_have_count(0)
        page.get_by_test_id("cell-name").first.tap()
        wait_ready(page)
        page.get_by_test_id("card-action-add-stamps").tap()
        page.get_by_role("dialog").get_by_test_id("action-apply").tap()
        expect(page.get_by_test_id("card-balance")).to_have_text("1")
        expect(page.get_by_test_id("delete-customer")).to_have_count(0)
        with tenant_session(merchant_id) as session:
            rows = session.exec(select(CardTransaction.staff_user_id).where(CardTransaction.card_id == card_id)).all()
        assert rows == [staff_id]

        goto(page, "/settings")
        expect(page.get_by_test_id("access-denied")).to_be_visible()
        expect(page.get_by_label("Business name")).to_have_count(0)
    finally:
        context.close()

    owner = browser.new_context(base_url=base_url, viewport=TABLET)
    try:
        page = owner.new_page()
        log_in(page, owner_email, PASSWORD)
        expect(page.get_by_test_id("export-customers")).to_be_visible()
        page.get_by_test_id("actions-menu").click()
        expect(page.get_by_test_id("action-delete-customers")).to_be_visible()
        page.keyboard.press("Escape")
        goto(page, "/settings")
        expect(page.get_by_test_id("access-denied")).to_have_count(0)
    finally:
        owner.close()
