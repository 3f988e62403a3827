"""Staff, audit trail and account settings in Chromium (issue 13): an owner invites by
email, the link (read from the mail the app's worker sent: the database never holds it)
sets a password and the new user logs in; an owner revokes a pending invitation and its
link then says it is no longer valid; the owner sees login and card-action entries on
/settings/audit (and filters them); changing the Country changes how a phone number
without "+" is read in the customer form."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect
from sqlmodel import select

from perkstar_ui.db.models import Customer, Message, StaffUser
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.domain.card_rules import Action as CardAction
from perkstar_ui.services import cards
from tests.e2e.conftest import goto, log_in, path_is, wait_ready
from tests.helpers import add_customer, issue
from tests.messaging_servers import SmtpInbox

INVITE_LINK = re.compile(r"https?://[^/\s]+(/invite/[A-Za-z0-9_-]+)")


def _mailed_link(smtp_inbox: SmtpInbox, email: str) -> str:
    """The invitation link from the mail the app's embedded worker sent to ``email``."""
    smtp_inbox.wait_for(lambda items: any(email in item.rcpt_tos for item in items))
    [mail] = smtp_inbox.to(email)
    return INVITE_LINK.search(mail.text).group(1)


def _owner_id(merchant_id: int) -> int:
    with tenant_session(merchant_id) as session:
        return session.exec(select(StaffUser.id).where(StaffUser.role == "owner")).first()


def test_invite_accept_sets_a_password_and_the_new_user_logs_in(browser: Browser, base_url: str, shop_page: Page,
                                                                 shop, unique, smtp_inbox):
    merchant_id, _ = shop
    page = shop_page
    email = f"new-{unique}@shop.test"
    goto(page, "/settings")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Role", exact=True).select_option("manager")
    page.get_by_test_id("staff-invite").click()
    expect(page.get_by_text(f"Invitation sent to {email}.")).to_be_visible()
    link = _mailed_link(smtp_inbox, email)
    with tenant_session(merchant_id) as session:  # sent, and the stored copy holds no link
        body = session.exec(select(Message.body).where(Message.recipient == email)).one()
    assert "/invite/" not in body and link.rsplit("/", 1)[1] not in body

    invited = browser.new_context(base_url=base_url)
    try:
        other = invited.new_page()
        goto(other, link)
        other.get_by_label("Password", exact=True).fill("a-new-password")
        other.get_by_label("Repeat password").fill("a-new-password")
        other.get_by_test_id("invite-accept").click()
        other.wait_for_url(path_is("/login"))
        wait_ready(other)
        log_in(other, email, "a-new-password")
        goto(other, link)  # used once: the link is dead now
        expect(other.get_by_test_id("invite-invalid")).to_be_visible()
    finally:
        invited.close()

    goto(page, "/settings")
    row = page.locator(f'[data-testid="staff-row"][data-email="{email}"]')
    expect(row.get_by_test_id("staff-role")).to_have_value("manager")
    row.get_by_test_id("staff-deactivate").click()
    expect(row.get_by_test_id("staff-deactivate")).to_have_count(0)


def test_owner_revokes_a_pending_invitation_and_its_link_is_no_longer_valid(browser: Browser, base_url: str,
                                                                            shop_page: Page, shop, unique,
                                                                            smtp_inbox):
    merchant_id, owner_email = shop
    page = shop_page
    email = f"revoked-{unique}@shop.test"
    goto(page, "/settings")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_test_id("staff-invite").click()
    row = page.locator(f'[data-testid="staff-invite-row"][data-email="{email}"]')
    expect(row).to_contain_text("staff")
    link = _mailed_link(smtp_inbox, email)
    goto(page, "/settings")  # the list as it is now: its email left
    expect(row.get_by_test_id("staff-invite-email-status")).to_have_attribute("data-status", "sent")
    expect(row.get_by_test_id("staff-invite-email-status")).to_have_text("Sent")
    row.get_by_test_id("staff-invite-revoke").click()
    expect(page.get_by_text(f"Invitation to {email} revoked; its link no longer works.")).to_be_visible()
    expect(row).to_have_count(0)

    invited = browser.new_context(base_url=base_url)
    try:
        other = invited.new_page()
        goto(other, link)
        expect(other.get_by_test_id("invite-invalid")).to_contain_text("no longer valid")
        expect(other.get_by_test_id("invite-accept")).to_have_count(0)
    finally:
        invited.close()

    goto(page, "/settings/audit")
    revoked = page.locator(f'[data-testid="audit-row"][data-action="staff-update"][data-actor="{owner_email}"]')
    expect(revoked).to_have_count(1)
    expect(revoked).to_contain_text("invite-revoked")


def test_owner_sees_login_and_card_action_entries_in_the_audit_trail(shop_page: Page, shop):
    merchant_id, owner_email = shop
    customer = add_customer(merchant_id, "Audit", "Me", phone="+447400123999")
    card_id = issue(merchant_id, customer, "stamp")
    cards.perform_action(merchant_id, card_id, CardAction("add-stamps", 1), staff_user_id=_owner_id(merchant_id))
    page = shop_page
    goto(page, "/settings/audit")
    rows = page.get_by_test_id("audit-row")
    expect(rows.first).to_have_attribute("data-action", "card-action")  # newest first
    expect(page.locator(f'[data-testid="audit-row"][data-action="card-action"][data-actor="{owner_email}"]')
           ).to_have_count(1)
    expect(page.locator(f'[data-testid="audit-row"][data-action="login"][data-actor="{owner_email}"]')
           ).to_have_count(1)
    page.get_by_test_id("audit-action").select_option("login")
    page.get_by_test_id("audit-filter").click()
    expect(page.locator('[data-testid="audit-row"][data-action="card-action"]')).to_have_count(0)
    expect(rows).to_have_count(1)
    expect(page.get_by_test_id("audit-csv")).to_have_attribute("href", "/api/audit.csv?action=login")


def test_country_decides_how_a_number_without_plus_is_read(shop_page: Page, shop):
    merchant_id, _ = shop
    page = shop_page
    goto(page, "/settings")
    expect(page.get_by_label("Business name")).to_have_value(re.compile("^Shop "))
    page.get_by_label("Country").select_option("US")
    page.get_by_label("Currency").select_option("USD")
    page.get_by_label("Date format").select_option("MM/DD/YYYY")
    page.get_by_test_id("settings-save").click()
    expect(page.get_by_text("Settings saved.")).to_be_visible()
    goto(page, "/customers")
    page.get_by_test_id("add-customer").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("First name", exact=True).fill("Abe")
    dialog.get_by_label("Last name", exact=True).fill("Lincoln")
    dialog.get_by_label("Phone", exact=True).fill("(202) 555-0143")
    page.get_by_test_id("customer-save").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.get_by_test_id("customer-row").get_by_test_id("cell-phone")).to_have_text("+12025550143")
    with tenant_session(merchant_id) as session:
        assert session.exec(select(Customer.phone)).all() == ["+12025550143"]
