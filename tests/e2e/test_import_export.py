"""Import and export in Chromium: template, a messy file, confirm, undo, export."""

from __future__ import annotations

import csv
import io

from playwright.sync_api import Page, expect

from perkstar_ui.services import custom_fields, customer_grid
from tests.e2e.conftest import PASSWORD, log_in, wait_ready
from tests.helpers import add_customer

# BOM, CRLF, unicode, quotes with a separator and a line break, a formula-looking name,
# a bad email, a missing first name, a duplicate inside the file, an impossible date.
MESSY = (
    "\ufefffirst_name,last_name,phone,email,birthdate,gender,balance\r\n"
    "Zoë,Müller,07400 100001,zoe@example.com,1990-04-01,female,8\r\n"  # 2 create
    '"Ann, the First","Smith\r\nJones",07400 100002,,,,3\r\n'  # 3 create (quoted, multi-line)
    "=HYPERLINK(\"http://evil\"),Formula,07400 100003,,,,\r\n"  # 4 create: a name, kept as data
    "Bad,Email,07400 100004,not-an-email,,,\r\n"  # 5 reject
    ",Nofirst,07400 100005,,,,\r\n"  # 6 reject
    "Dup,Licate,+44 7400 100001,,,,\r\n"  # 7 reject: same phone as row 2
    "Imp,Date,07400 100006,,1990-02-30,,\r\n"  # 8 reject
    "Old,Friend,07400 100007,old@example.com,,,\r\n"  # 9 update (existing customer, email empty)
)


def tile(page: Page, key: str):
    return page.get_by_test_id(f"tile-{key}").get_by_test_id("tile-value")


def open_import(page: Page) -> None:
    page.get_by_test_id("import-customers").click()
    expect(page.get_by_role("dialog", name="Import customers")).to_be_visible()


def choose_file(page: Page, name: str, content: bytes) -> None:
    page.get_by_test_id("import-file").set_input_files(files=[{"name": name, "mimeType": "text/csv", "buffer": content}])


def test_template_download_has_the_columns_and_an_example(page: Page, shop):
    custom_fields.add_custom_field(shop[0], "Favourite drink", "choice", ["Oat latte", "Espresso"])
    log_in(page, shop[1], PASSWORD)
    open_import(page)
    with page.expect_download() as download_info:
        page.get_by_test_id("import-template-download").click()
    table = list(csv.reader(io.StringIO(open(download_info.value.path(), encoding="utf-8-sig").read())))
    assert table[0] == ["first_name", "last_name", "phone", "email", "birthdate", "gender", "balance", "sms_consent",
                        "email_consent", "favourite-drink"]
    assert table[1][:2] == ["Ada", "Lovelace"] and table[1][-1] == "Oat latte"


def test_messy_file_preview_confirm_and_undo(page: Page, shop):
    merchant_id = shop[0]
    add_customer(merchant_id, "Old", "Friend", "07400 100007")
    log_in(page, shop[1], PASSWORD)
    expect(tile(page, "total-customers")).to_have_text("1")
    open_import(page)
    page.get_by_label("Card template to issue").select_option(label="Coffee stamp card (stamp)")
    choose_file(page, "messy.csv", MESSY.encode("utf-8"))

    preview = page.get_by_test_id("import-preview")
    expect(preview.get_by_test_id("import-count-create")).to_have_text("To create: 3")
    expect(preview.get_by_test_id("import-count-update")).to_have_text("To update: 1")
    errors = preview.get_by_test_id("import-error-row")
    expect(errors).to_have_count(4)
    expect(errors.nth(0)).to_contain_text("Row 5")
    expect(errors.nth(0)).to_contain_text("not a valid email")
    expect(errors.nth(1)).to_contain_text("Row 6")
    expect(errors.nth(1)).to_contain_text("First name is required")
    expect(errors.nth(2)).to_contain_text("Row 7")
    expect(errors.nth(2)).to_contain_text("Duplicate of row 2")
    expect(errors.nth(3)).to_contain_text("Row 8")
    expect(errors.nth(3)).to_contain_text("not a date")
    assert customer_grid.grid_page(merchant_id, customer_grid.GridQuery()).total == 1  # preview writes nothing

    page.get_by_test_id("import-confirm").click()
    expect(page.get_by_test_id("import-summary")).to_have_text("Created 3, updated 1, rejected 4")
    expect(tile(page, "total-customers")).to_have_text("4")
    expect(tile(page, "card-transactions")).to_have_text("2")  # opening balances 8 and 3
    expect(page.get_by_test_id("import-batch")).to_have_count(1)
    names = sorted(r.name for r in customer_grid.grid_page(merchant_id, customer_grid.GridQuery()).rows)
    assert names == ["=HYPERLINK(\"http://evil\") Formula", "Ann, the First Smith Jones", "Old Friend", "Zoë Müller"]

    page.get_by_test_id("import-undo").click()
    expect(page.get_by_test_id("import-undo-report")).to_contain_text("removed 3 customers, restored 1")
    expect(tile(page, "total-customers")).to_have_text("1")
    expect(tile(page, "card-transactions")).to_have_text("0")
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("customer-row")).to_have_count(1)


def test_reimport_reports_every_row_unchanged(page: Page, shop):
    text = "first_name,last_name,phone,email\nAda,Lovelace,07400 200001,\nBob,Babbage,,bob@example.com\n"
    log_in(page, shop[1], PASSWORD)
    open_import(page)
    choose_file(page, "people.csv", text.encode())
    expect(page.get_by_test_id("import-count-create")).to_have_text("To create: 2")
    page.get_by_test_id("import-confirm").click()
    expect(page.get_by_test_id("import-summary")).to_have_text("Created 2, updated 0, rejected 0")
    choose_file(page, "people.csv", text.encode())
    expect(page.get_by_test_id("import-count-unchanged")).to_have_text("Unchanged: 2")
    expect(page.get_by_test_id("import-count-create")).to_have_text("To create: 0")
    expect(page.get_by_test_id("import-confirm")).to_be_disabled()


def test_wrong_columns_and_oversized_files_are_refused_clearly(page: Page, shop):
    log_in(page, shop[1], PASSWORD)
    open_import(page)
    choose_file(page, "wrong.csv", b"name,mobile\nAda,07400 200001\n")
    expect(page.get_by_test_id("form-error")).to_contain_text("Missing required column(s): first_name, last_name, phone, email.")
    expect(page.get_by_test_id("form-error")).to_contain_text("Unknown column(s): name, mobile.")
    expect(page.get_by_test_id("import-confirm")).to_be_disabled()
    choose_file(page, "huge.csv", b"first_name,last_name,phone,email\n" + b"A,B,,a@example.com\n" * 600_000)
    expect(page.get_by_test_id("form-error")).to_contain_text("larger than 10 MB")
    choose_file(page, "sheet.xlsx", b"PK\x03\x04binary")
    expect(page.get_by_test_id("form-error")).to_contain_text("Only CSV files")


def test_export_round_trips_unicode_and_neutralises_formulas(page: Page, shop):
    merchant_id = shop[0]
    add_customer(merchant_id, "Zoë", "Müller", "07400 300001", "zoe@example.com", "1991-02-03")
    add_customer(merchant_id, "=SUM(A1)", "Sneaky", "07400 300002")
    log_in(page, shop[1], PASSWORD)
    with page.expect_download() as download_info:
        page.get_by_test_id("export-customers").click()
    raw = open(download_info.value.path(), "rb").read()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads it as UTF-8
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert table[0][:5] == ["Customer name", "First name", "Last name", "Phone", "Email"]
    zoe = next(row for row in table if row[1] == "Zoë")
    assert zoe[:6] == ["Zoë Müller", "Zoë", "Müller", "+447400300001", "zoe@example.com", "1991-02-03"]
    assert any(row[1] == "'=SUM(A1)" for row in table)
    # With a search, only the matching customers are exported.
    page.get_by_label("Search customers").fill("müller")
    expect(page.get_by_test_id("customer-row")).to_have_count(1)
    with page.expect_download() as filtered:
        page.get_by_test_id("export-customers").click()
    rows = list(csv.reader(io.StringIO(open(filtered.value.path(), encoding="utf-8-sig").read())))
    assert [r[0] for r in rows[1:]] == ["Zoë Müller"]
    wait_ready(page)
