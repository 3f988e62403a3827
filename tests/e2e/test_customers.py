"""Customer grid, add/edit, profile, deletion, history CSV and custom fields in Chromium."""

from __future__ import annotations

import csv
import io
import re

import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect

from perkstar_ui.db.engine import get_engine
from perkstar_ui.services import customer_grid, customer_profile
from tests.e2e.conftest import PASSWORD, goto, log_in, path_is, wait_ready
from tests.helpers import add_customer, give_card


def tile(page: Page, key: str):
    return page.get_by_test_id(f"tile-{key}").get_by_test_id("tile-value")


def search(page: Page, term: str) -> None:
    page.get_by_label("Search customers").fill(term)


def grid_names(page: Page) -> list[str]:
    return page.get_by_test_id("customer-row").get_by_test_id("cell-name").all_inner_texts()


def open_profile(page: Page, name: str) -> None:
    page.get_by_test_id("customer-row").get_by_test_id("cell-name").filter(has_text=name).click()
    page.wait_for_url(re.compile(r"/customers/\d+/?$"))
    wait_ready(page)
    expect(page.get_by_test_id("profile-name")).to_have_text(name)


def fill_customer_form(page: Page, **fields: str) -> None:
    dialog = page.get_by_role("dialog")
    for label, value in fields.items():
        dialog.get_by_label(label.replace("_", " "), exact=True).fill(value)


def test_create_with_validation_errors_then_success(shop_page: Page, shop):
    page = shop_page
    expect(tile(page, "total-customers")).to_have_text("0")
    page.get_by_test_id("add-customer").click()
    fill_customer_form(page, Last_name="Lovelace", Phone="12", Email="ada@", **{"Date of birth": "2999-01-01"})
    page.get_by_test_id("customer-save").click()
    error = page.get_by_test_id("form-error")
    expect(error).to_contain_text("First name is required")
    expect(error).to_contain_text("“12” is not a valid phone number")
    expect(error).to_contain_text("not a valid email")
    expect(error).to_contain_text("cannot be in the future")
    assert customer_grid.grid_page(shop[0], customer_grid.GridQuery()).total == 0  # nothing saved
    # What was typed is still there; fix it and save.
    expect(page.get_by_role("dialog").get_by_label("Last name")).to_have_value("Lovelace")
    fill_customer_form(page, First_name="Ada", Phone="07400 123456", Email="Ada@Example.com", **{"Date of birth": "1990-12-10"})
    page.get_by_test_id("customer-save").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    row = page.get_by_test_id("customer-row")
    expect(row).to_have_count(1)
    expect(row.get_by_test_id("cell-name")).to_have_text("Ada Lovelace")
    expect(row.get_by_test_id("cell-phone")).to_have_text("+447400123456")
    expect(row.get_by_test_id("cell-birthdate")).to_have_text("1990-12-10")
    expect(tile(page, "total-customers")).to_have_text("1")  # tiles follow at once


def test_duplicate_phone_in_another_format_is_refused(shop_page: Page, shop):
    add_customer(shop[0], "Ada", "Lovelace", "+44 7400 123456")
    page = shop_page
    page.reload()
    wait_ready(page)
    page.get_by_test_id("add-customer").click()
    fill_customer_form(page, First_name="Eve", Last_name="Copy", Phone="(07400) 123-456")
    page.get_by_test_id("customer-save").click()
    expect(page.get_by_test_id("form-error")).to_contain_text("already belongs to Ada Lovelace")
    assert customer_grid.grid_page(shop[0], customer_grid.GridQuery()).total == 1


def test_search_by_name_email_phone_and_serial(shop_page: Page, shop):
    merchant_id = shop[0]
    add_customer(merchant_id, "Zoë", "Müller", "07400 111222", "zoe@cafe.example.com")
    bob = add_customer(merchant_id, "Bob", "Babbage", "07400 333444", "bob@engines.example.com")
    add_customer(merchant_id, "Cy", "Other", "07400 555666", "cy@else.example.com")
    _, serial = give_card(merchant_id, bob)
    page = shop_page
    page.reload()
    wait_ready(page)
    expect(page.get_by_test_id("customer-row")).to_have_count(3)
    for term, expected in [("zoe", "Zoë Müller"), ("MÜLL", "Zoë Müller"), ("engines.example", "Bob Babbage"),
                           ("+44 7400 333444", "Bob Babbage"), ("07400-333-444", "Bob Babbage"),
                           (serial.lower(), "Bob Babbage")]:
        search(page, term)
        expect(page.get_by_test_id("customer-row")).to_have_count(1)
        expect(page.get_by_test_id("cell-name")).to_have_text(expected)
    search(page, "nobody-like-this")
    expect(page.get_by_test_id("customer-row")).to_have_count(0)
    expect(page.get_by_test_id("grid-page-info")).to_have_text("0 of 0")


def test_sort_and_paging(shop_page: Page, shop):
    merchant_id = shop[0]
    for i in range(55):
        add_customer(merchant_id, f"Name{i:02d}", "Paged")
    page = shop_page
    page.reload()
    wait_ready(page)
    expect(page.get_by_test_id("grid-page-info")).to_have_text("1–50 of 55")
    page.get_by_role("button", name="User Name").click()
    expect(page.get_by_test_id("cell-name").first).to_have_text("Name00 Paged")
    assert grid_names(page) == sorted(grid_names(page))
    page.get_by_role("button", name="User Name").click()
    expect(page.get_by_test_id("cell-name").first).to_have_text("Name54 Paged")
    page.get_by_test_id("grid-next").click()
    expect(page.get_by_test_id("grid-page-info")).to_have_text("51–55 of 55")
    expect(page.get_by_test_id("cell-name")).to_have_text([f"Name{i:02d} Paged" for i in range(4, -1, -1)])
    expect(page.get_by_test_id("grid-next")).to_be_disabled()
    page.get_by_test_id("grid-prev").click()
    expect(page.get_by_test_id("grid-page-info")).to_have_text("1–50 of 55")
    page.get_by_label("Rows per page").select_option("100")
    expect(page.get_by_test_id("grid-page-info")).to_have_text("1–55 of 55")


def test_edit_customer_from_profile(shop_page: Page, shop):
    add_customer(shop[0], "Ada", "Lovelace", email="ada@math.example.org")
    page = shop_page
    page.reload()
    wait_ready(page)
    open_profile(page, "Ada Lovelace")
    page.get_by_test_id("edit-customer").click()
    expect(page.get_by_role("dialog").get_by_label("Email", exact=True)).to_have_value("ada@math.example.org")
    fill_customer_form(page, Last_name="King", Phone="+1 415 555 2671")
    page.get_by_test_id("customer-save").click()
    expect(page.get_by_test_id("profile-name")).to_have_text("Ada King")
    expect(page.get_by_test_id("profile-phone")).to_have_text("+14155552671")
    expect(page.get_by_test_id("profile-email")).to_have_text("ada@math.example.org")


def test_profile_of_another_merchant_is_not_found(shop_page: Page, demo_merchant):
    with get_engine().connect() as connection:
        foreign_id = connection.execute(
            sa.text("SELECT MIN(id) FROM customer WHERE merchant_id = :m"), {"m": demo_merchant}
        ).scalar_one()
    page = shop_page
    goto(page, f"/customers/{foreign_id}")
    expect(page.get_by_test_id("not-found")).to_be_visible()
    expect(page.get_by_test_id("profile-name")).to_have_count(0)
    goto(page, "/customers/999999999")
    expect(page.get_by_test_id("not-found")).to_be_visible()


def test_delete_refused_until_the_installed_card_is_deleted(shop_page: Page, shop):
    merchant_id = shop[0]
    ina = add_customer(merchant_id, "Ina", "Installed")
    _, serial = give_card(merchant_id, ina, status="installed", device="pwa", transactions=2)
    page = shop_page
    page.reload()
    wait_ready(page)
    expect(tile(page, "card-transactions")).to_have_text("2")
    open_profile(page, "Ina Installed")
    page.get_by_test_id("delete-customer").click()
    page.get_by_test_id("confirm-delete").click()
    expect(page.get_by_test_id("form-error")).to_contain_text("Delete the card first")
    page.get_by_role("button", name="Cancel").click()
    assert customer_profile.load_profile(merchant_id, ina) is not None

    panel = page.get_by_test_id("card-panel")
    expect(panel).to_have_attribute("data-serial", serial)
    expect(panel.get_by_test_id("card-status")).to_have_text("Installed")
    page.get_by_test_id("card-action-delete-card").click()
    page.get_by_test_id("confirm-delete").click()
    expect(panel.get_by_test_id("card-status")).to_have_text("Deleted")

    page.get_by_test_id("delete-customer").click()
    page.get_by_test_id("confirm-delete").click()
    page.wait_for_url(path_is("/customers"))
    wait_ready(page)
    expect(tile(page, "total-customers")).to_have_text("0")
    expect(tile(page, "card-transactions")).to_have_text("0")
    assert customer_profile.load_profile(merchant_id, ina) is None


def test_bulk_delete_reports_what_it_refused(shop_page: Page, shop):
    merchant_id = shop[0]
    keep = add_customer(merchant_id, "Kim", "Keeper")
    give_card(merchant_id, keep, status="installed", device="apple_wallet")
    give_card(merchant_id, add_customer(merchant_id, "Una", "Gone"))
    add_customer(merchant_id, "Val", "Gone")
    add_customer(merchant_id, "Stay", "Unselected")
    page = shop_page
    page.reload()
    wait_ready(page)
    for name in ["Kim Keeper", "Una Gone", "Val Gone"]:
        box = page.get_by_test_id("customer-row").filter(has_text=name).get_by_test_id("row-select")
        box.click()  # the selection lives on the server: wait for it to come back
        expect(box).to_be_checked()
    page.get_by_test_id("actions-menu").click()
    page.get_by_test_id("action-delete-customers").click()
    page.get_by_test_id("confirm-delete").click()
    report = page.get_by_test_id("delete-report")
    expect(report.get_by_test_id("delete-summary")).to_have_text("Deleted 2 customers.")
    expect(report.get_by_test_id("delete-refused")).to_have_count(1)
    expect(report.get_by_test_id("delete-refused")).to_contain_text("Kim Keeper")
    expect(report.get_by_test_id("delete-refused")).to_contain_text("Delete the card first")
    report.get_by_role("button", name="Close").click()
    expect(page.get_by_test_id("cell-name")).to_have_text(["Stay Unselected", "Kim Keeper"])
    expect(tile(page, "total-customers")).to_have_text("2")


def test_select_all_selects_the_visible_page(shop_page: Page, shop):
    for i in range(3):
        add_customer(shop[0], f"All{i}", "Selected")
    page = shop_page
    page.reload()
    wait_ready(page)
    page.get_by_test_id("select-all").click()
    expect(page.get_by_test_id("select-all")).to_be_checked()
    for box in page.get_by_test_id("row-select").all():
        expect(box).to_be_checked()
    page.get_by_test_id("row-select").first.click()
    expect(page.get_by_test_id("select-all")).not_to_be_checked()
    page.get_by_test_id("select-all").click()
    page.get_by_test_id("select-all").click()
    expect(page.get_by_test_id("row-select").first).not_to_be_checked()


def test_history_is_shown_newest_first_and_downloads_as_csv(shop_page: Page, shop):
    merchant_id = shop[0]
    ada = add_customer(merchant_id, "Ada", "Lovelace")
    give_card(merchant_id, ada, card_type="gift")
    card_id, serial = give_card(merchant_id, ada, transactions=25)
    page = shop_page
    page.reload()
    wait_ready(page)
    open_profile(page, "Ada Lovelace")
    expect(page.get_by_test_id("card-tab")).to_have_count(2)
    page.get_by_test_id("card-tab").and_(page.locator(f'[data-serial="{serial}"]')).click()
    panel = page.get_by_test_id("card-panel")
    expect(panel).to_have_attribute("data-card-type", "stamp")
    expect(panel.get_by_test_id("card-balance")).to_have_text("25")
    rows = page.get_by_test_id("transaction-row")
    expect(rows).to_have_count(20)  # first page
    expect(rows.first).to_have_attribute("data-amount", "+1")
    expect(rows.first).to_contain_text("2026-01-02 09:00:00")  # the 25th, newest
    expect(page.get_by_test_id("install-link")).to_contain_text("/card/")
    expect(page.get_by_test_id("referral-link")).to_contain_text("/r/")

    with page.expect_download() as download_info:
        page.get_by_test_id("download-history").click()
    download = download_info.value
    assert download.suggested_filename == f"card-{serial}-history.csv"
    text = open(download.path(), encoding="utf-8-sig").read()
    table = list(csv.reader(io.StringIO(text)))
    assert table[0] == customer_profile.HISTORY_COLUMNS
    assert len(table) == 26
    assert table[1][:5] == ["2026-01-02 09:00:00", "Stamps added", "+1", "2.74", "25"]
    assert table[-1][7] == "'=cmd|' /C calc'!A0"  # formula neutralised
    # Another merchant's card is not downloadable with this session.
    response = page.request.get(f"/api/cards/{card_id + 100000}/history.csv")
    assert response.status == 404


def test_history_download_needs_a_login(browser: Browser, base_url: str):
    context = browser.new_context(base_url=base_url)
    try:
        assert context.request.get("/api/cards/1/history.csv").status == 401
    finally:
        context.close()


def test_custom_field_round_trip(shop_page: Page, shop):
    page = shop_page
    goto(page, "/settings")
    page.get_by_label("Field name").fill("Favourite drink")
    page.get_by_label("Field type").select_option("choice")
    page.get_by_label("Choices (comma-separated)").fill("Oat latte, Espresso")
    page.get_by_test_id("add-custom-field").click()
    expect(page.get_by_test_id("custom-field-row")).to_have_count(1)
    page.get_by_label("Field name").fill("Visits per week")
    page.get_by_label("Field type").select_option("number")
    page.get_by_test_id("add-custom-field").click()
    expect(page.get_by_test_id("custom-field-row")).to_have_count(2)

    goto(page, "/customers")
    expect(page.get_by_role("button", name="Favourite drink")).to_be_visible()
    page.get_by_test_id("add-customer").click()
    fill_customer_form(page, First_name="Ada", Last_name="Lovelace", **{"Visits per week": "three"})
    page.get_by_role("dialog").get_by_label("Favourite drink").select_option("Espresso")
    page.get_by_test_id("customer-save").click()
    expect(page.get_by_test_id("form-error")).to_contain_text("Visits per week must be a number")
    fill_customer_form(page, **{"Visits per week": "3"})
    page.get_by_test_id("customer-save").click()
    row = page.get_by_test_id("customer-row")
    expect(row.get_by_test_id("cell-cf-favourite-drink")).to_have_text("Espresso")
    expect(row.get_by_test_id("cell-cf-visits-per-week")).to_have_text("3")
    open_profile(page, "Ada Lovelace")
    expect(page.get_by_test_id("profile-cf-favourite-drink")).to_have_text("Espresso")

    goto(page, "/settings")
    drink = page.locator('[data-testid="custom-field-row"][data-key="favourite-drink"]')
    drink.get_by_label("Display name").fill("Usual order")
    drink.get_by_role("button", name="Rename").click()
    expect(page.get_by_test_id("custom-field-label").first).to_have_value("Usual order")
    goto(page, "/customers")
    expect(page.get_by_role("button", name="Usual order")).to_be_visible()
    expect(page.get_by_test_id("cell-cf-favourite-drink")).to_have_text("Espresso")  # key is stable


def test_tablet_counter_flow_has_no_sideways_scroll(browser: Browser, base_url: str, shop):
    merchant_id = shop[0]
    customer_id = add_customer(merchant_id, "Tab", "Counter", "07400 987654")
    give_card(merchant_id, customer_id, status="installed", device="pwa", transactions=3)
    for i in range(8):
        add_customer(merchant_id, f"Filler{i}", "Customer")
    context = browser.new_context(base_url=base_url, viewport={"width": 768, "height": 1024}, has_touch=True, is_mobile=True)
    try:
        page = context.new_page()
        log_in(page, shop[1], PASSWORD)

        def no_sideways_scroll() -> None:
            widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
            assert widths[0] <= widths[1], widths

        no_sideways_scroll()
        search(page, "07400 987654")
        expect(page.get_by_test_id("customer-row")).to_have_count(1)
        no_sideways_scroll()
        page.get_by_test_id("cell-name").tap()
        page.wait_for_url(re.compile(r"/customers/\d+/?$"))
        wait_ready(page)
        expect(page.get_by_test_id("card-panel")).to_be_visible()
        expect(page.get_by_test_id("card-action-delete-card")).to_be_visible()
        box = page.get_by_test_id("card-action-delete-card").bounding_box()
        assert box["height"] >= 44
        no_sideways_scroll()
    finally:
        context.close()
