"""Consent in Chromium: the form's checkboxes, the profile's yes/no, the merchant's
settings, and the email's unsubscribe link withdrawing email consent."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlmodel import select

from perkstar_ui.db.models import Customer
from perkstar_ui.db.tenancy import system_session, tenant_session
from perkstar_ui.services import consent, merchant_settings
from tests.e2e.conftest import goto
from tests.helpers import add_customer


def _customer_id(merchant_id: int, email: str) -> int:
    with tenant_session(merchant_id) as session:
        return session.exec(select(Customer.id).where(Customer.email == email)).one()


def _add_in_form(page: Page, first: str, email: str, *, sms: bool, mail: bool) -> None:
    goto(page, "/customers")
    page.get_by_test_id("add-customer").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("First name", exact=True).fill(first)
    dialog.get_by_label("Last name", exact=True).fill("Consent")
    dialog.get_by_label("Email", exact=True).fill(email)
    for label, wanted in (("SMS consent", sms), ("Email consent", mail)):
        if wanted:
            dialog.get_by_label(label).check()
    dialog.get_by_test_id("customer-save").click()
    expect(dialog).to_be_hidden()


def _expect_profile(page: Page, customer_id: int, sms: str, mail: str) -> None:
    goto(page, f"/customers/{customer_id}")
    expect(page.get_by_test_id("profile-sms-consent")).to_have_text(sms)
    expect(page.get_by_test_id("profile-email-consent")).to_have_text(mail)


def test_form_checkboxes_follow_the_setting_and_show_on_the_profile(shop_page: Page, shop, unique):
    page, merchant_id = shop_page, shop[0]

    # Consent not collected at sign-up (the default): a new customer starts without it.
    page.get_by_test_id("add-customer").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("SMS consent")).to_be_disabled()
    expect(dialog.get_by_label("Email consent")).to_be_disabled()
    dialog.get_by_role("button", name="Cancel").click()
    _add_in_form(page, "Nora", f"nora-{unique}@example.com", sms=False, mail=False)
    nora = _customer_id(merchant_id, f"nora-{unique}@example.com")
    _expect_profile(page, nora, "no", "no")

    # Staff record consent the customer gave later by editing.
    page.get_by_test_id("edit-customer").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("SMS consent")).to_be_enabled()
    dialog.get_by_label("SMS consent").check()
    dialog.get_by_test_id("customer-save").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("profile-sms-consent")).to_have_text("yes")
    expect(page.get_by_test_id("profile-email-consent")).to_have_text("no")
    page.get_by_test_id("edit-customer").click()
    expect(page.get_by_role("dialog").get_by_label("SMS consent")).to_be_checked()  # the form shows what is stored
    page.get_by_role("dialog").get_by_role("button", name="Cancel").click()

    # The merchant collects consent at sign-up: the ticks of a new customer count.
    goto(page, "/settings")
    expect(page.get_by_label("Consent collected at sign-up")).not_to_be_checked()
    expect(page.get_by_label("Timezone")).to_have_value("UTC")
    page.get_by_label("Timezone").select_option("Europe/Paris")
    page.get_by_label("Consent collected at sign-up").check()
    page.get_by_test_id("settings-save").click()
    expect(page.get_by_text("Settings saved.")).to_be_visible()
    saved = merchant_settings.get_settings(merchant_id)
    assert (saved.timezone, saved.consent_at_signup) == ("Europe/Paris", True)
    goto(page, "/settings")
    expect(page.get_by_label("Timezone")).to_have_value("Europe/Paris")
    expect(page.get_by_label("Consent collected at sign-up")).to_be_checked()

    _add_in_form(page, "Otto", f"otto-{unique}@example.com", sms=False, mail=True)
    _expect_profile(page, _customer_id(merchant_id, f"otto-{unique}@example.com"), "no", "yes")


def test_the_unsubscribe_link_asks_then_withdraws_email_consent(shop_page: Page, shop, base_url: str):
    page, merchant_id = shop_page, shop[0]
    customer = add_customer(merchant_id, "Una", "Subscribe", email="una@example.com")
    consent.set_consent(merchant_id, customer, True, True)
    with system_session() as session:
        url = consent.unsubscribe_urls(session, merchant_id, [customer], base_url)[customer]
        session.commit()
    _expect_profile(page, customer, "yes", "yes")

    page.goto(url)  # a plain page of the API, outside the app: nothing to hydrate
    expect(page.get_by_role("heading", name="Unsubscribe")).to_be_visible()
    _expect_profile(page, customer, "yes", "yes")  # opening the link changed nothing

    page.goto(url)
    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.get_by_test_id("unsubscribe-done")).to_be_visible()
    assert re.search(r"/unsubscribe/[\w-]{43}$", page.url)
    _expect_profile(page, customer, "yes", "no")
