"""Campaigns in Chromium: a segment campaign by email reaches the SMTP server, a customer
without consent is listed as skipped with the reason, the campaign page shows the counts;
bad input is refused in form-error and queues nothing; schedule and cancel."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from playwright.sync_api import Locator, Page, expect
from sqlmodel import select

from perkstar_ui.db.models import Campaign, Message
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.domain.campaigns import Audience
from perkstar_ui.domain.filters import Condition, Filter, Match, Op, Param
from perkstar_ui.domain.messages import Channel
from perkstar_ui.services import accounts, campaigns, consent, segments
from perkstar_ui.services.campaign_audience import Target
from tests.e2e.conftest import goto, wait_ready
from tests.helpers import add_customer

LOVERS = Filter(Match.ALL, (Condition(Param.NAME.value, Op.CONTAINS.value, "Lover"),))


def _customer(merchant_id: int, first: str, email: str, *, mail: bool) -> int:
    customer_id = add_customer(merchant_id, first, "Lover", "", email)
    consent.set_consent(merchant_id, customer_id, False, mail)
    return customer_id


def _count(merchant_id: int, model) -> int:  # noqa: ANN001
    with tenant_session(merchant_id) as session:
        return session.exec(select(sa.func.count()).select_from(model).where(model.merchant_id == merchant_id)).one()


def _compose(page: Page) -> Locator:
    goto(page, "/customers")
    page.get_by_test_id("tab-communication").click()
    page.get_by_test_id("campaign-new").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("Channel", exact=True)).to_be_visible()
    return dialog


def _row(page: Page, name: str) -> Locator:
    return page.locator(f'[data-testid="campaign-row"][data-campaign-name="{name}"]')


def test_segment_campaign_by_email_reaches_smtp_and_lists_skips(shop_page: Page, shop, unique, smtp_inbox):
    page, merchant_id = shop_page, shop[0]
    ada = _customer(merchant_id, "Ada", f"ada-{unique}@example.com", mail=True)
    bob = _customer(merchant_id, "Bob", f"bob-{unique}@example.com", mail=False)
    add_customer(merchant_id, "Cy", "Elsewhere", "", f"cy-{unique}@example.com")  # not in the segment
    segments.save_segment(merchant_id, "Lovers", LOVERS.dumps())
    subject = f"Spring news {unique}"

    dialog = _compose(page)
    dialog.get_by_label("Channel", exact=True).select_option(label="Email")
    dialog.get_by_label("Audience", exact=True).select_option(label="Segment")
    dialog.get_by_label("Segment", exact=True).select_option(label="Lovers")
    expect(dialog.get_by_test_id("campaign-recipients")).to_have_text("2")
    dialog.get_by_label("Subject", exact=True).fill(subject)
    dialog.get_by_label("Message", exact=True).fill("Hello {first_name} {last_name}!")
    expect(dialog.get_by_test_id("campaign-preview")).to_have_text("Hello Ada Lover!")
    dialog.get_by_label("Preview for").select_option(label="Bob Lover")
    expect(dialog.get_by_test_id("campaign-preview")).to_have_text("Hello Bob Lover!")
    dialog.get_by_test_id("campaign-send").click()
    expect(page.get_by_role("dialog")).to_have_count(0)

    # The embedded worker delivers Ada's email to the SMTP server the tests started.
    ada_address, bob_address = f"ada-{unique}@example.com", f"bob-{unique}@example.com"
    smtp_inbox.wait_for(lambda items: any(ada_address in item.rcpt_tos for item in items), timeout=30)
    received = smtp_inbox.to(ada_address)
    assert len(received) == 1
    email = received[0].message
    assert email["Subject"] == subject
    assert "Hello Ada Lover!" in email.get_body(preferencelist=("plain",)).get_content()
    assert "/unsubscribe/" in email["List-Unsubscribe"]
    assert smtp_inbox.to(bob_address) == []  # no consent: never sent

    goto(page, "/campaigns")
    row = _row(page, subject)
    expect(row.get_by_test_id("campaign-count-skipped")).to_have_text("1")
    expect(row.get_by_test_id("campaign-count-sent")).to_have_text("1", timeout=30_000)
    expect(row.get_by_test_id("campaign-count-queued")).to_have_text("0")
    expect(row.get_by_test_id("campaign-count-failed")).to_have_text("0")
    expect(row.get_by_test_id("campaign-status")).to_have_text("done")

    row.get_by_test_id("campaign-open").click()
    wait_ready(page)
    expect(page.get_by_test_id("recipient-row")).to_have_count(2)
    skipped = page.locator(f'[data-testid="recipient-row"][data-customer-id="{bob}"]')
    expect(skipped.get_by_test_id("recipient-status")).to_have_text("skipped")
    expect(skipped.get_by_test_id("recipient-reason")).to_have_text("no consent")
    sent = page.locator(f'[data-testid="recipient-row"][data-customer-id="{ada}"]')
    expect(sent.get_by_test_id("recipient-status")).to_have_text("sent")
    expect(page.get_by_test_id("campaign-count-sent")).to_have_text("1")
    expect(page.get_by_test_id("campaign-count-skipped")).to_have_text("1")


def test_bad_input_shows_form_error_and_queues_nothing(shop_page: Page, shop, unique):
    page, merchant_id = shop_page, shop[0]
    _customer(merchant_id, "Ada", f"ada-{unique}@example.com", mail=True)
    dialog = _compose(page)
    dialog.get_by_label("Channel", exact=True).select_option(label="SMS")
    expect(dialog.get_by_test_id("campaign-recipients")).to_have_text("1")

    dialog.get_by_test_id("campaign-send").click()  # empty message
    expect(dialog.get_by_test_id("form-error")).to_contain_text("Write the message")

    dialog.get_by_label("Message", exact=True).fill("Hi {frist_name}")
    expect(dialog.get_by_test_id("campaign-preview")).to_contain_text("Unknown placeholder {frist_name}")
    dialog.get_by_test_id("campaign-send").click()
    expect(dialog.get_by_test_id("form-error")).to_contain_text("Unknown placeholder {frist_name}")

    dialog.get_by_label("Message", exact=True).fill("Hi {first_name}")
    yesterday = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    dialog.get_by_label("Send at", exact=True).fill(yesterday)
    dialog.get_by_test_id("campaign-send").click()
    expect(dialog.get_by_test_id("form-error")).to_contain_text("in the past")

    dialog.get_by_label("Message", exact=True).fill("x" * 1540)
    dialog.get_by_label("Send at", exact=True).fill("")
    dialog.get_by_test_id("campaign-send").click()
    expect(dialog.get_by_test_id("form-error")).to_contain_text("segments")
    assert _count(merchant_id, Campaign) == 0 and _count(merchant_id, Message) == 0


def test_schedule_then_cancel(shop_page: Page, shop, unique):
    page, merchant_id = shop_page, shop[0]
    _customer(merchant_id, "Ada", f"ada-{unique}@example.com", mail=True)
    dialog = _compose(page)
    dialog.get_by_label("Channel", exact=True).select_option(label="Push")
    text = f"Double stamps {unique}"
    dialog.get_by_label("Message", exact=True).fill(text)
    later = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")  # zone: UTC
    dialog.get_by_label("Send at", exact=True).fill(later)
    dialog.get_by_test_id("campaign-send").click()
    expect(page.get_by_role("dialog")).to_have_count(0)

    goto(page, "/campaigns")
    row = _row(page, text)
    expect(row.get_by_test_id("campaign-status")).to_have_text("scheduled")
    row.get_by_test_id("campaign-open").click()
    wait_ready(page)
    page.get_by_test_id("campaign-cancel").click()
    expect(page.get_by_test_id("campaign-status")).to_have_text("cancelled")
    expect(page.get_by_test_id("campaign-cancel")).to_have_count(0)
    assert _count(merchant_id, Message) == 0


def test_send_to_selected_rows_from_the_actions_menu(shop_page: Page, shop, unique):
    page, merchant_id = shop_page, shop[0]
    _customer(merchant_id, "Ada", f"ada-{unique}@example.com", mail=True)
    _customer(merchant_id, "Bob", f"bob-{unique}@example.com", mail=True)
    goto(page, "/customers")
    box = page.get_by_test_id("customer-row").filter(has_text="Ada Lover").get_by_test_id("row-select")
    box.click()
    expect(box).to_be_checked()
    page.get_by_test_id("actions-menu").click()
    page.get_by_test_id("action-send-message").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("Audience", exact=True)).to_have_value("selected")
    expect(dialog.get_by_test_id("campaign-recipients")).to_have_text("1")


@pytest.fixture
def other_shop_campaign(unique) -> int:  # noqa: ANN001
    """A campaign of another merchant: its id must show nothing to this one."""
    other = accounts.create_merchant(f"Other {unique}", f"other-{unique}@shop.test", "other-password")
    customer_id = _customer(other, "Eve", f"eve-{unique}@example.com", mail=True)
    draft = campaigns.Draft(Channel.EMAIL, Target(Audience.SELECTED, ids=(customer_id,)), "Theirs", "Hi")
    return campaigns.send(other, draft).campaign_id


def test_another_merchants_campaign_is_not_found(shop_page: Page, shop, other_shop_campaign):
    goto(shop_page, f"/campaigns/{other_shop_campaign}")
    expect(shop_page.get_by_test_id("not-found")).to_be_visible()
    expect(shop_page.get_by_test_id("recipient-row")).to_have_count(0)
