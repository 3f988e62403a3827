"""My Segments in Chromium: save the active filter, list with live counts on the
Segments tab and on /segments, open, edit, duplicate, delete, a segment that no longer
applies."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from perkstar_ui.domain import filters
from perkstar_ui.domain.filters import Condition, Filter, Match, Op
from perkstar_ui.services import custom_fields, customer_filters, segments
from tests.e2e.conftest import goto, path_is, touch_height, wait_ready
from tests.helpers import add_customer, give_card

NOT_INSTALLED = filters.PRESETS_BY_KEY["not-installed"].filter


def _people(merchant_id: int) -> None:
    add_customer(merchant_id, "Ada", "Lovelace")
    give_card(merchant_id, add_customer(merchant_id, "Bob", "Builder"))
    give_card(merchant_id, add_customer(merchant_id, "Cy", "Installed"), status="installed")


def row(page: Page, name: str):
    return page.locator(f'[data-testid="segment-row"][data-segment-name="{name}"]')


def save_segment(page: Page, name: str) -> None:
    page.get_by_test_id("segment-save").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Segment name").fill(name)
    dialog.get_by_test_id("segment-save-confirm").click()


def test_save_list_open_duplicate_delete(shop_page: Page, shop):
    page, merchant_id = shop_page, shop[0]
    _people(merchant_id)
    expected = customer_filters.count_matching(merchant_id, NOT_INSTALLED)
    assert expected == 2
    goto(page, "/customers")

    page.get_by_test_id("tab-filters").click()
    page.get_by_test_id("filter-preset-not-installed").click()
    expect(page.get_by_test_id("filter-count")).to_have_text(str(expected))
    save_segment(page, "Lapsed")
    expect(page.get_by_role("dialog")).to_have_count(0)

    # A second save under the same name (another case) is refused in the form.
    save_segment(page, "LAPSED")
    expect(page.get_by_role("dialog").get_by_test_id("form-error")).to_contain_text("already exists")
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)

    page.get_by_test_id("tab-segments").click()
    expect(row(page, "Lapsed").get_by_test_id("segment-count")).to_have_text(str(expected))
    for button in ("segment-open", "segment-edit", "segment-duplicate", "segment-delete"):
        assert touch_height(row(page, "Lapsed").get_by_test_id(button)) >= 44

    # Dynamic: a new matching customer is counted on /segments.
    add_customer(merchant_id, "Dee", "New")
    goto(page, "/segments")
    expect(row(page, "Lapsed").get_by_test_id("segment-count")).to_have_text(str(expected + 1))

    # Open from /segments: the customers page shows the grid filtered to it.
    row(page, "Lapsed").get_by_test_id("segment-open").click()
    page.wait_for_url(re.compile(r"/customers/?\?segment=\d+$"))
    wait_ready(page)
    expect(page.get_by_test_id("filter-count")).to_have_text(str(expected + 1))
    expect(page.get_by_test_id("customer-row")).to_have_count(expected + 1)

    goto(page, "/segments")
    row(page, "Lapsed").get_by_test_id("segment-duplicate").click()
    expect(row(page, "Lapsed (copy)").get_by_test_id("segment-count")).to_have_text(str(expected + 1))
    row(page, "Lapsed (copy)").get_by_test_id("segment-delete").click()
    page.get_by_test_id("confirm-delete").click()
    expect(row(page, "Lapsed (copy)")).to_have_count(0)
    expect(page.get_by_test_id("segment-row")).to_have_count(1)
    assert [r.name for r in segments.list_segments(merchant_id)] == ["Lapsed"]


def test_edit_overwrites_the_segment_with_its_name_prefilled(shop_page: Page, shop):
    page, merchant_id = shop_page, shop[0]
    _people(merchant_id)
    segment_id = segments.save_segment(merchant_id, "Lapsed", NOT_INSTALLED.dumps())
    goto(page, "/customers")
    page.get_by_test_id("tab-segments").click()
    row(page, "Lapsed").get_by_test_id("segment-edit").click()
    expect(page.get_by_test_id("filter-count")).to_have_text("2")

    # Change the filter (any preset) and save: the same segment, renamed, new filter.
    page.get_by_test_id("tab-filters").click()
    page.get_by_test_id("filter-preset-installed").click()
    expect(page.get_by_test_id("filter-count")).to_have_text("1")
    page.get_by_test_id("segment-save").click()
    name = page.get_by_role("dialog").get_by_label("Segment name")
    expect(name).to_have_value("Lapsed")
    name.fill("Installed people")
    page.get_by_role("dialog").get_by_test_id("segment-save-confirm").click()
    expect(page.get_by_role("dialog")).to_have_count(0)

    page.get_by_test_id("tab-segments").click()
    expect(page.get_by_test_id("segment-row")).to_have_count(1)
    expect(row(page, "Installed people").get_by_test_id("segment-count")).to_have_text("1")
    assert segments.get_segment(merchant_id, segment_id).name == "Installed people"


def test_a_segment_that_no_longer_applies_says_why(shop_page: Page, shop):
    page, merchant_id = shop_page, shop[0]
    field_id = custom_fields.add_custom_field(merchant_id, "Favourite drink", "text")
    add_customer(merchant_id, "Ada", "Lovelace", **{"favourite-drink": "Tea"})
    by_drink = Filter(Match.ALL, (Condition("cf:favourite-drink", Op.EQUALS.value, "Tea"),))
    segments.save_segment(merchant_id, "Tea drinkers", by_drink.dumps())
    custom_fields.remove_custom_field(merchant_id, field_id)

    goto(page, "/segments")
    broken = row(page, "Tea drinkers")
    expect(broken.get_by_test_id("segment-problem")).to_contain_text("no longer exists")
    expect(broken.get_by_test_id("segment-count")).to_have_text("")
    broken.get_by_test_id("segment-open").click()
    expect(page.get_by_test_id("segment-open-error")).to_contain_text("no longer exists")
    expect(page).to_have_url(path_is("/segments"))

    # Editing it (to repair it) is allowed; the grid keeps no stale filter to save over it.
    row(page, "Tea drinkers").get_by_test_id("segment-edit").click()
    page.wait_for_url(re.compile(r"/customers/?\?segment=\d+&edit=1$"))
    wait_ready(page)
    expect(page.get_by_test_id("filter-count")).to_have_count(0)
    page.get_by_test_id("segment-save").click()
    expect(page.get_by_role("dialog").get_by_test_id("form-error")).to_contain_text("Apply a filter first")


def test_editing_a_broken_segment_keeps_its_conditions_when_the_grid_had_a_filter(shop_page: Page, shop):
    page, merchant_id = shop_page, shop[0]
    _people(merchant_id)
    field_id = custom_fields.add_custom_field(merchant_id, "Favourite drink", "text")
    by_drink = Filter(Match.ALL, (Condition("cf:favourite-drink", Op.EQUALS.value, "Tea"),))
    segments.save_segment(merchant_id, "Tea drinkers", by_drink.dumps())
    custom_fields.remove_custom_field(merchant_id, field_id)

    goto(page, "/customers")
    page.get_by_test_id("tab-filters").click()
    page.get_by_test_id("filter-preset-installed").click()  # the builder and the grid show a filter
    expect(page.get_by_test_id("filter-count")).to_have_text("1")

    page.get_by_test_id("tab-segments").click()
    row(page, "Tea drinkers").get_by_test_id("segment-edit").click()
    expect(page.get_by_test_id("filter-count")).to_have_count(0)  # the grid shows no stale filter
    page.get_by_test_id("tab-filters").click()
    # The segment's condition is there to repair, not wiped by the tab following the grid.
    condition = page.get_by_test_id("filter-condition")
    expect(condition).to_have_count(1)
    expect(condition.get_by_label("Value", exact=True)).to_have_value("Tea")


def test_opening_another_segment_ends_edit_mode(shop_page: Page, shop):
    page, merchant_id = shop_page, shop[0]
    _people(merchant_id)
    installed = filters.PRESETS_BY_KEY["installed"].filter
    vips = segments.save_segment(merchant_id, "VIPs", installed.dumps())
    segments.save_segment(merchant_id, "Lapsed", NOT_INSTALLED.dumps())
    goto(page, "/customers")
    page.get_by_test_id("tab-segments").click()
    row(page, "VIPs").get_by_test_id("segment-edit").click()
    expect(page.get_by_test_id("filter-count")).to_have_text("1")
    row(page, "Lapsed").get_by_test_id("segment-open").click()
    expect(page.get_by_test_id("filter-count")).to_have_text("2")

    # Saving now saves Lapsed's filter as a new segment: VIPs is not overwritten.
    page.get_by_test_id("tab-filters").click()
    page.get_by_test_id("segment-save").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_test_id("segment-editing")).to_have_count(0)
    expect(dialog.get_by_label("Segment name")).to_have_value("")
    dialog.get_by_label("Segment name").fill("Lapsed again")
    dialog.get_by_test_id("segment-save-confirm").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert sorted(r.name for r in segments.list_segments(merchant_id)) == ["Lapsed", "Lapsed again", "VIPs"]
    assert segments.get_segment(merchant_id, vips).filter_json == installed.dumps()


def test_save_without_a_filter_asks_for_one(shop_page: Page):
    page = shop_page
    page.get_by_test_id("segment-save").click()
    expect(page.get_by_role("dialog").get_by_test_id("form-error")).to_contain_text("Apply a filter first")
    expect(page.get_by_role("dialog").get_by_test_id("segment-save-confirm")).to_have_count(0)
