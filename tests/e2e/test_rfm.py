"""RFM in Chromium: Recalculate shows the database's counts, the card panel shows the
segment, a segment opens the grid filtered to it, the settings form checks its input."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from playwright.sync_api import Page, expect
from sqlmodel import select

from perkstar_ui.db.models import Customer, CustomerRfm
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.domain.card_rules import Action
from perkstar_ui.services import cards, rfm
from tests.e2e.conftest import goto, touch_height
from tests.helpers import add_customer, issue


def _shoppers(merchant_id: int) -> dict[str, int]:
    """Six customers who shopped (more or less, more or less lately), two without visits
    (one new, one added long ago): several segments, not all of them."""
    now = dt.datetime.now(dt.timezone.utc)
    ids = {}
    for index in range(6):
        name = f"Shopper{index}"
        customer = add_customer(merchant_id, name, "Rfm", email=f"shopper{index}@example.com")
        card = issue(merchant_id, customer, "cashback")
        for visit in range(index + 1):
            cards.perform_action(merchant_id, card, Action("add-amount", 1_000 * (index + 1)),
                                 now=now - dt.timedelta(days=(5 - index) * 60 + visit))
        ids[name] = customer
    ids["Fresh"] = add_customer(merchant_id, "Fresh", "Rfm", email="fresh@example.com")
    ids["Old"] = add_customer(merchant_id, "Old", "Rfm", email="old@example.com")
    with tenant_session(merchant_id) as session:
        old = session.get(Customer, ids["Old"])
        old.created_at = now - dt.timedelta(days=400)
        session.add(old)
        session.commit()
    return ids


def _db_counts(merchant_id: int) -> dict[str, int]:
    with tenant_session(merchant_id) as session:
        rows = session.exec(select(CustomerRfm.segment, sa.func.count()).where(CustomerRfm.segment.is_not(None))
                            .group_by(CustomerRfm.segment)).all()
    return dict(rows)


def _open_tab(page: Page) -> None:
    page.get_by_test_id("tab-rfm").click()
    expect(page.get_by_test_id("rfm-segment")).to_have_count(len(rfm.rule.RFM_SEGMENTS))


def test_recalculate_shows_the_counts_of_the_database(shop_page: Page, shop):
    merchant_id = shop[0]
    _shoppers(merchant_id)
    page = shop_page
    goto(page, "/customers")
    _open_tab(page)
    expect(page.get_by_test_id("rfm-computed-at")).to_have_text("Not calculated yet.")
    page.get_by_test_id("rfm-recalculate").click()
    expect(page.get_by_test_id("rfm-computed-at")).to_contain_text("Last calculated")
    expect(page.get_by_test_id("rfm-recalculate")).to_be_enabled()
    counts = _db_counts(merchant_id)
    assert sum(counts.values()) == 7  # six scored, one new; the old customer without visits has none
    for name in rfm.rule.RFM_SEGMENTS:
        segment = page.locator(f'[data-testid="rfm-segment"][data-segment="{name}"]')
        expected = counts.get(name, 0)
        expect(segment.get_by_test_id("rfm-count")).to_have_text(str(expected))
        expect(segment.get_by_test_id("rfm-share")).to_have_text(f"{expected * 100 / 8:.1f}%")
        assert touch_height(segment) >= 44
    expect(page.get_by_test_id("rfm-chart").locator("svg.recharts-surface")).to_be_visible()


def test_the_card_panel_shows_the_segment(shop_page: Page, shop):
    merchant_id = shop[0]
    ids = _shoppers(merchant_id)
    rfm.recompute(merchant_id)
    with tenant_session(merchant_id) as session:
        best = session.get(CustomerRfm, ids["Shopper5"]).segment
    assert best == "Champions"
    goto(shop_page, f"/customers/{ids['Shopper5']}")
    expect(shop_page.get_by_test_id("card-rfm-segment")).to_have_text("Champions")
    expect(shop_page.get_by_test_id("card-rfm-segment-none")).to_have_count(0)
    # The counter's card panel shows it too (rfm.md: every card panel).
    goto(shop_page, "/counter")
    search = shop_page.get_by_label("Phone, serial or name")
    search.fill("shopper5@example.com")
    search.press("Enter")
    expect(shop_page.get_by_test_id("card-panel")).to_be_visible()
    expect(shop_page.get_by_test_id("card-rfm-segment")).to_have_text("Champions")

    # No segment (added after the run): the value stays empty, people see rfm.md's "—" beside it.
    newcomer = add_customer(merchant_id, "Newcomer", "Rfm", email="newcomer@example.com")
    issue(merchant_id, newcomer, "cashback")
    goto(shop_page, f"/customers/{newcomer}")
    expect(shop_page.get_by_test_id("card-panel")).to_be_visible()
    expect(shop_page.get_by_test_id("card-rfm-segment")).to_have_text("")
    expect(shop_page.get_by_test_id("card-rfm-segment-none")).to_have_text(rfm.rule.NO_SEGMENT_LABEL)


def test_a_segment_opens_the_grid_filtered_to_it(shop_page: Page, shop):
    merchant_id = shop[0]
    _shoppers(merchant_id)
    rfm.recompute(merchant_id)
    counts = _db_counts(merchant_id)
    page = shop_page
    goto(page, "/customers")
    _open_tab(page)
    for name in ("New Customers", "Champions"):
        page.locator(f'[data-testid="rfm-segment"][data-segment="{name}"]').click()
        expect(page.get_by_test_id("filter-count")).to_have_text(str(counts[name]))
        if name == "New Customers":
            expect(page.get_by_test_id("customer-row")).to_have_count(1)
            expect(page.get_by_test_id("customer-row").first).to_contain_text("Fresh Rfm")
        _open_tab(page)


def test_settings_form_checks_and_saves(shop_page: Page, shop):
    merchant_id = shop[0]
    page = shop_page
    goto(page, "/settings")
    window, new_days = page.get_by_label("RFM window (days)"), page.get_by_label("New customer (days)")
    expect(window).to_have_value("365")
    expect(new_days).to_have_value("30")
    window.fill("20")
    page.get_by_test_id("rfm-settings-save").click()
    expect(page.get_by_test_id("form-error")).to_contain_text("RFM window must be from 30 to 1825 days.")
    window.fill("180")
    new_days.fill("14.5")
    page.get_by_test_id("rfm-settings-save").click()
    expect(page.get_by_test_id("form-error")).to_contain_text("New customer days must be a whole number")
    new_days.fill("14")
    page.get_by_test_id("rfm-settings-save").click()
    expect(page.get_by_test_id("form-error")).to_have_count(0)
    expect(page.get_by_text("RFM settings saved")).to_be_visible()
    assert rfm.get_settings(merchant_id) == rfm.RfmSettings(180, 14)
    goto(page, "/settings")
    expect(page.get_by_label("RFM window (days)")).to_have_value("180")
