"""Filters in Chromium: the builder (OR of two conditions), a refused condition, a preset,
the builder following an RFM segment, and "select all matching" → export of exactly them."""

from __future__ import annotations

import csv
import io

from playwright.sync_api import Locator, Page, expect

from perkstar_ui.domain import filters as F
from perkstar_ui.domain.filters import Condition, Filter, Match, Op, Param
from perkstar_ui.services import customer_filters
from tests.e2e.conftest import touch_height, wait_ready
from tests.helpers import add_customer, give_card

BULK = 57  # more than one grid page of 50


def _rows(page: Page) -> Locator:
    return page.get_by_test_id("filter-condition")


def _add_row(page: Page, field: str) -> Locator:
    """A new condition row with ``field`` chosen (by its visible text)."""
    before = _rows(page).count()
    page.get_by_test_id("filter-add").click()
    expect(_rows(page)).to_have_count(before + 1)
    row = _rows(page).nth(before)
    row.get_by_label("Field").select_option(label=field)
    return row


def _grid_names(page: Page) -> list[str]:
    return sorted(page.get_by_test_id("cell-name").all_inner_texts())


def test_two_conditions_joined_by_or_show_exactly_their_customers(shop_page: Page, shop):
    merchant_id = shop[0]
    add_customer(merchant_id, "Zed", "Alpha", birthdate="1990-01-10")  # name
    add_customer(merchant_id, "Mia", "Maytime", birthdate="1985-05-20")  # birthday in May
    add_customer(merchant_id, "Bob", "Other", birthdate="1980-07-01")
    add_customer(merchant_id, "Eve", "Nobirthday")
    page = shop_page
    page.reload()
    wait_ready(page)
    expect(page.get_by_test_id("grid-page-info")).to_have_text("1–4 of 4")
    page.get_by_test_id("tab-filters").click()

    name = _add_row(page, "Name")
    expect(name.get_by_label("Operator")).to_have_value(Op.CONTAINS.value)
    name.get_by_label("Value", exact=True).fill("zed")
    month = _add_row(page, "Birthday month")
    expect(month.get_by_label("Operator")).to_have_value(Op.EQUALS.value)  # the row follows its field
    month.get_by_label("Value", exact=True).select_option(label="May")
    page.get_by_label("Match", exact=True).select_option(label="any (OR)")
    page.get_by_test_id("filter-apply").click()

    expected = Filter(Match.ANY, (Condition(Param.NAME, Op.CONTAINS, "zed"),
                                  Condition(Param.BIRTHDAY_MONTH, Op.EQUALS, "May")))
    assert customer_filters.count_matching(merchant_id, expected) == 2
    expect(page.get_by_test_id("filter-count")).to_have_text("2")
    expect(page.get_by_test_id("grid-page-info")).to_have_text("1–2 of 2")
    expect(page.get_by_test_id("customer-row")).to_have_count(2)
    assert _grid_names(page) == ["Mia Maytime", "Zed Alpha"]

    # all (AND) of the same two: nobody; removing the month row: Zed alone.
    page.get_by_label("Match", exact=True).select_option(label="all (AND)")
    page.get_by_test_id("filter-apply").click()
    expect(page.get_by_test_id("filter-count")).to_have_text("0")
    month.get_by_test_id("filter-remove").click()
    expect(_rows(page)).to_have_count(1)
    page.get_by_test_id("filter-apply").click()
    expect(page.get_by_test_id("filter-count")).to_have_text("1")
    expect(page.get_by_test_id("cell-name")).to_have_text("Zed Alpha")

    page.get_by_test_id("filter-clear").click()
    expect(_rows(page)).to_have_count(0)
    expect(page.get_by_test_id("filter-count")).to_have_count(0)
    expect(page.get_by_test_id("grid-page-info")).to_have_text("1–4 of 4")

    for control in (page.get_by_test_id("filter-add"), page.get_by_test_id("filter-apply"),
                    page.get_by_test_id("tab-filters"), page.get_by_label("Match", exact=True)):
        assert touch_height(control) >= 44


def test_a_bad_range_names_the_condition_and_leaves_the_grid_alone(shop_page: Page, shop):
    merchant_id = shop[0]
    add_customer(merchant_id, "Ann", "One")
    add_customer(merchant_id, "Ben", "Two")
    page = shop_page
    page.reload()
    wait_ready(page)
    expect(page.get_by_test_id("grid-page-info")).to_have_text("1–2 of 2")

    _add_row(page, "Name").get_by_label("Value", exact=True).fill("ann")
    balance = _add_row(page, "Card balance")
    balance.get_by_label("Operator").select_option(label="between")
    expect(balance.get_by_label("Value to")).to_be_visible()  # only for between
    balance.get_by_label("Value", exact=True).fill("10")
    balance.get_by_label("Value to").fill("5")
    page.get_by_test_id("filter-apply").click()

    expect(page.get_by_test_id("form-error")).to_contain_text("Condition 2 (Card balance)")
    expect(page.get_by_test_id("form-error")).to_contain_text("from ≤ to")
    expect(page.get_by_test_id("filter-count")).to_have_count(0)
    expect(page.get_by_test_id("grid-page-info")).to_have_text("1–2 of 2")

    # Fixed, it applies and the error goes.
    balance.get_by_label("Value to").fill("20")
    page.get_by_test_id("filter-apply").click()
    expect(page.get_by_test_id("form-error")).to_have_count(0)
    expect(page.get_by_test_id("filter-count")).to_have_text("0")


def test_a_preset_is_one_click_and_the_builder_follows_an_rfm_segment(shop_page: Page, shop):
    merchant_id = shop[0]
    installed = add_customer(merchant_id, "Ida", "Installed")
    give_card(merchant_id, installed, status="installed", device="pwa")
    uninstalled = add_customer(merchant_id, "Uma", "Uninstalled")
    give_card(merchant_id, uninstalled)
    add_customer(merchant_id, "Noa", "Nocard")
    page = shop_page
    page.reload()
    wait_ready(page)

    page.get_by_test_id("filter-preset-not-installed").click()
    expected = customer_filters.count_matching(merchant_id, F.PRESETS_BY_KEY["not-installed"].filter)
    assert expected == 2
    expect(page.get_by_test_id("filter-count")).to_have_text(str(expected))
    assert _grid_names(page) == ["Noa Nocard", "Uma Uninstalled"]
    row = _rows(page)
    expect(row).to_have_count(1)
    expect(row.get_by_label("Field")).to_have_value(Param.CARD_STATUS.value)
    expect(row.get_by_label("Operator")).to_have_value(Op.NOT_EQUALS.value)
    expect(row.get_by_label("Value", exact=True)).to_have_value("Installed")

    # An RFM segment filters the grid; back on Filters, the builder shows its condition.
    page.get_by_test_id("tab-rfm").click()
    page.locator('[data-testid="rfm-segment"][data-segment="Champions"]').click()
    expect(page.get_by_test_id("filter-count")).to_have_text("0")
    page.get_by_test_id("tab-filters").click()
    expect(_rows(page)).to_have_count(1)
    expect(_rows(page).get_by_label("Field")).to_have_value(Param.RFM_SEGMENT.value)
    expect(_rows(page).get_by_label("Value", exact=True)).to_have_value("Champions")


def test_select_all_matching_then_export_has_exactly_the_filtered_customers(shop_page: Page, shop):
    merchant_id = shop[0]
    bulk = {f"Bulk{index:02d} Buyer" for index in range(BULK)}
    for index in range(BULK):
        add_customer(merchant_id, f"Bulk{index:02d}", "Buyer")
    for index in range(5):
        add_customer(merchant_id, f"Other{index}", "Person")
    page = shop_page
    page.reload()
    wait_ready(page)

    _add_row(page, "Name").get_by_label("Value", exact=True).fill("bulk")
    page.get_by_test_id("filter-apply").click()
    assert customer_filters.count_matching(merchant_id, Filter(Match.ALL, (Condition(Param.NAME, Op.CONTAINS, "bulk"),))) == BULK
    expect(page.get_by_test_id("filter-count")).to_have_text(str(BULK))
    expect(page.get_by_test_id("grid-page-info")).to_have_text(f"1–50 of {BULK}")

    page.get_by_test_id("select-all").click()  # controlled: the server flips it, check() would not wait
    expect(page.get_by_test_id("selection-count")).to_have_text("50")
    page.get_by_test_id("select-all-matching").click()
    expect(page.get_by_test_id("selection-count")).to_have_text(str(BULK))

    with page.expect_download() as download_info:
        page.get_by_test_id("export-customers").click()
    table = list(csv.reader(io.StringIO(open(download_info.value.path(), encoding="utf-8-sig").read())))
    names = [row[0] for row in table[1:]]
    assert sorted(names) == sorted(bulk)  # one row each, nobody else
    wait_ready(page)
